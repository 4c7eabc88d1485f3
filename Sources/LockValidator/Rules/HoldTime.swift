/// How long a lock was held, for `hold-time-exceeded`, and the evidence that made the report.
public struct HoldTime: Hashable, Sendable, Codable {
    /// What made a `hold-time-exceeded` report, rather than one long observation that VM noise can make.
    public enum Evidence: String, Hashable, Sendable, Codable {
        /// Consecutive holds at one class and acquire site passed the budget by enough: a run of them
        /// within one burst (holds begun within 2 ms of its first), or bursts 2 ms apart
        /// (``HoldTime/earlierHolds`` has the run's earlier holds, or the shortest hold of each earlier
        /// burst).
        case repeated
        /// The site's only over-budget hold, far over the budget, still unconfirmed when its scope (a test,
        /// `withScope`, the thread, the process) ended: it had no second chance.
        case once
    }

    /// The thread's own time in the hold, at least (wall time less the most it can have been preempted).
    public let ownNanoseconds: Double
    /// Wall-clock time from acquire to release.
    public let wallNanoseconds: Double
    /// The most of the wall time the thread can have been preempted.
    public let preemptedNanoseconds: Double
    /// The budget it passed.
    public let budgetNanoseconds: Double
    /// Where the lock was acquired.
    public let acquiredAt: Site
    /// The acquire's stack: kept once the class has an unconfirmed long hold (capturing every acquire's
    /// stack would cost the hot path), so the confirming hold has it; nil for the first hold.
    public let acquireStack: StackTrace?
    /// Where it was released.
    public let releasedAt: Site?
    /// The release's stack (for the report's own hold, also the violation's stack).
    public let releaseStack: StackTrace?
    /// The serial of the thread that held it.
    public let thread: UInt32
    /// Page faults the thread took during the hold (counted from shortly before it): first-touch costs,
    /// which make a hold long once and never again.
    public let pageFaults: Int
    /// Of ``pageFaults``, the major ones (the page was read from storage; the wait for it is off the CPU,
    /// so in ``preemptedNanoseconds``); nil when not known (the hold began under an older snapshot).
    public let majorPageFaults: Int?
    /// Involuntary context switches during the hold (counted from shortly before it); nil in reports
    /// written before it was always recorded. The time off the CPU is in ``preemptedNanoseconds`` as far
    /// as the thread's CPU time tells, but on the CI's VM a switch comes with time charged to the thread
    /// that it did not run its code (up to 500 µs a switch), left in ``ownNanoseconds`` (see
    /// ``switchShareNanoseconds``).
    public let involuntarySwitches: Int?
    /// The thread's system time across the hold (from shortly before it) as the kernel accounts it; nil
    /// when not known. Exact only where the kernel accounts CPU time at each kernel entry
    /// (`CONFIG_VIRT_CPU_ACCOUNTING_GEN`); with tick accounting it is the hold's CPU time scaled by the
    /// thread's past share of system time, so the rule does not rely on it.
    public let systemNanoseconds: Double?
    /// The most of ``ownNanoseconds`` credited to the page faults (45 µs for any, plus 5 µs a minor fault
    /// and 50 µs a major; see the README's "Hold times"), never more than the own time; 0 without faults.
    /// A lock's first hold, reported alone, must pass its bar net of it.
    public let faultShareNanoseconds: Double
    /// The most of ``ownNanoseconds`` (net of the faults' share) credited to the involuntary context
    /// switches (500 µs each, at most the time off the CPU, ``preemptedNanoseconds``; see the README's
    /// "Hold times"); 0 without switches. A lock's first hold, reported alone, must pass its bar net of it
    /// too.
    public let switchShareNanoseconds: Double
    /// Wall-clock time from the release of the previous hold this report rests on (the one before it in
    /// ``earlierHolds``) to this hold's acquire; nil for the first. Noise comes in bursts: how close
    /// together the holds were is part of the evidence.
    public let sincePreviousNanoseconds: Double?
    /// What made the report (nil in reports written before it was recorded).
    public let evidence: Evidence?
    /// The earlier over-budget holds at the same class and acquire site that the report rests on,
    /// oldest first.
    public let earlierHolds: [HoldTime]

    init(
        ownNanoseconds: Double, wallNanoseconds: Double, preemptedNanoseconds: Double, budgetNanoseconds: Double,
        acquiredAt: Site, acquireStack: StackTrace?, releasedAt: Site?, releaseStack: StackTrace?,
        thread: UInt32, pageFaults: Int, majorPageFaults: Int? = nil, involuntarySwitches: Int? = nil,
        systemNanoseconds: Double? = nil, faultShareNanoseconds: Double = 0, switchShareNanoseconds: Double = 0,
        sincePreviousNanoseconds: Double? = nil, evidence: Evidence? = nil, earlierHolds: [HoldTime] = []
    ) {
        self.ownNanoseconds = ownNanoseconds
        self.wallNanoseconds = wallNanoseconds
        self.preemptedNanoseconds = preemptedNanoseconds
        self.budgetNanoseconds = budgetNanoseconds
        self.acquiredAt = acquiredAt
        self.acquireStack = acquireStack
        self.releasedAt = releasedAt
        self.releaseStack = releaseStack
        self.thread = thread
        self.pageFaults = pageFaults
        self.majorPageFaults = majorPageFaults
        self.involuntarySwitches = involuntarySwitches
        self.systemNanoseconds = systemNanoseconds
        self.faultShareNanoseconds = faultShareNanoseconds
        self.switchShareNanoseconds = switchShareNanoseconds
        self.sincePreviousNanoseconds = sincePreviousNanoseconds
        self.evidence = evidence
        self.earlierHolds = earlierHolds
    }

    /// This hold as the last of `earlier`, with the evidence that made the report.
    func reported(as evidence: Evidence, after earlier: [HoldTime]) -> HoldTime {
        with(sincePrevious: sincePreviousNanoseconds, evidence: evidence, earlierHolds: earlier)
    }

    /// This hold, `sincePrevious` nanoseconds after the release of the hold before it.
    func after(_ sincePrevious: Double) -> HoldTime {
        with(sincePrevious: sincePrevious, evidence: evidence, earlierHolds: earlierHolds)
    }

    private func with(sincePrevious: Double?, evidence: Evidence?, earlierHolds earlier: [HoldTime]) -> HoldTime {
        HoldTime(
            ownNanoseconds: ownNanoseconds, wallNanoseconds: wallNanoseconds,
            preemptedNanoseconds: preemptedNanoseconds, budgetNanoseconds: budgetNanoseconds, acquiredAt: acquiredAt,
            acquireStack: acquireStack, releasedAt: releasedAt, releaseStack: releaseStack, thread: thread,
            pageFaults: pageFaults, majorPageFaults: majorPageFaults, involuntarySwitches: involuntarySwitches,
            systemNanoseconds: systemNanoseconds, faultShareNanoseconds: faultShareNanoseconds,
            switchShareNanoseconds: switchShareNanoseconds, sincePreviousNanoseconds: sincePrevious, evidence: evidence,
            earlierHolds: earlier)
    }

    /// The own time less the most the page faults in the hold can have taken of it.
    public var netOfFaultsNanoseconds: Double { max(0, ownNanoseconds - faultShareNanoseconds) }

    /// The own time less the most the page faults and the involuntary context switches in the hold can
    /// have taken of it: what a lock's first hold is judged on when reported alone.
    public var netNanoseconds: Double { max(0, ownNanoseconds - faultShareNanoseconds - switchShareNanoseconds) }

    /// The own time net of its switches' share at a repeated site (100 µs a switch, at most the time off
    /// the CPU), as a multiple of the budget: what a hold at a repeated site is judged on. Not net of the
    /// faults': a site that faults at every hold pays for them every time.
    var repeatedOverBudgetRatio: Double {
        let share = HoldEvidence.switchShare(
            switches: involuntarySwitches ?? 0, ownNanoseconds: ownNanoseconds,
            preemptedNanoseconds: preemptedNanoseconds, each: HoldEvidence.repeatedSwitchShareNanoseconds)
        return (ownNanoseconds - share) / max(budgetNanoseconds, 1)
    }

    /// The own time net of the page faults' and the switches' shares, as a multiple of the budget.
    var netOverBudgetRatio: Double { netNanoseconds / max(budgetNanoseconds, 1) }

    private enum CodingKeys: String, CodingKey {
        case ownNanoseconds, wallNanoseconds, preemptedNanoseconds, budgetNanoseconds, acquiredAt, acquireStack
        case releasedAt, releaseStack, thread, pageFaults, majorPageFaults, involuntarySwitches, systemNanoseconds
        case faultShareNanoseconds, switchShareNanoseconds, sincePreviousNanoseconds, evidence, earlierHolds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ownNanoseconds = try container.decode(Double.self, forKey: .ownNanoseconds)
        wallNanoseconds = try container.decode(Double.self, forKey: .wallNanoseconds)
        preemptedNanoseconds = try container.decode(Double.self, forKey: .preemptedNanoseconds)
        budgetNanoseconds = try container.decode(Double.self, forKey: .budgetNanoseconds)
        acquiredAt = try container.decode(Site.self, forKey: .acquiredAt)
        acquireStack = try container.decodeIfPresent(StackTrace.self, forKey: .acquireStack)
        // Reports written before these were recorded lack them.
        releasedAt = try container.decodeIfPresent(Site.self, forKey: .releasedAt)
        releaseStack = try container.decodeIfPresent(StackTrace.self, forKey: .releaseStack)
        thread = try container.decodeIfPresent(UInt32.self, forKey: .thread) ?? 0
        pageFaults = try container.decodeIfPresent(Int.self, forKey: .pageFaults) ?? 0
        majorPageFaults = try container.decodeIfPresent(Int.self, forKey: .majorPageFaults)
        involuntarySwitches = try container.decodeIfPresent(Int.self, forKey: .involuntarySwitches)
        systemNanoseconds = try container.decodeIfPresent(Double.self, forKey: .systemNanoseconds)
        faultShareNanoseconds = try container.decodeIfPresent(Double.self, forKey: .faultShareNanoseconds) ?? 0
        switchShareNanoseconds = try container.decodeIfPresent(Double.self, forKey: .switchShareNanoseconds) ?? 0
        sincePreviousNanoseconds = try container.decodeIfPresent(Double.self, forKey: .sincePreviousNanoseconds)
        evidence = try container.decodeIfPresent(Evidence.self, forKey: .evidence)
        earlierHolds = try container.decodeIfPresent([HoldTime].self, forKey: .earlierHolds) ?? []
    }
}
