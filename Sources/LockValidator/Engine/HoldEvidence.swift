import _LockValidatorShims

/// Evidence of long holds, kept per lock class and acquire site: what turns over-budget observations
/// into a `hold-time-exceeded` report.
///
/// One observation is not evidence on a virtual machine: the host stops a vCPU for tens to hundreds of
/// µs at a time and the guest charges the gap to whichever thread was running, so a 2 µs hold measures
/// over 25 µs about 300 times in a million (see the README's "Hold times"). But noise does not repeat
/// at the same place, and a slow routine does. So an over-budget hold makes its class and acquire site
/// a *suspect* (evidence by site, not by instance, so that locks made per request add up), and the
/// holds at that site that follow decide:
///
/// - a hold within its budget, from any thread, clears the suspect;
/// - consecutive over-budget holds are grouped into *bursts*: a hold that begins less than
///   `burstNanoseconds` (2 ms) after the first hold of the current burst joins it, and a burst counts
///   as one observation, as long as its shortest hold; but `burstRun` (6) holds each at 2× or more
///   among the suspect's consecutive over-budget holds confirm the site, in one burst or not (a hold
///   over budget but under 2×, or one preempted and not counted, does not restart the count: noise never
///   made more than four over-budget holds in a row, and a loaded machine preempts some holds of a
///   slow loop). Noise comes in bursts that
///   hit every hold of a thread holding back to back: through the validator (`HoldTimeEvidence`, 80 M
///   holds of 2 µs a run) the false reports were runs such as 34 + 95 + 33 + 26 µs of own time, 5.5–6.5
///   µs apart, and 39 + 50 + 27 + 43 µs over 1.1 ms, while bursts recur some 20 ms apart with clean
///   holds between. A slow routine stays slow past 2 ms, or runs more than a burst's few holds;
/// - consecutive bursts confirm the suspect once the last `n` of them each passed `confirmationBars`
///   × the budget: two bursts at 8×, three at 3×, or four just over — the closer to the budget, the
///   more it takes (the README's "Hold times" has the rates these bars were set from);
/// - a hold within its budget net of its involuntary context switches' share (100 µs a switch here,
///   `repeatedSwitchShareNanoseconds`, at most its time off the CPU) counts neither way: under CPU hogs
///   a thread preempted in a 2 µs hold is charged tens of µs across the switch (the second false report
///   above: each hold had a switch and 64–172 µs off the CPU), and that says nothing of the routine;
/// - a hold that overlaps the previous suspect hold in time (another thread, another instance) counts
///   neither way: a host stall hits every vCPU's holds at once;
/// - a suspect still open when the scope it began in ends (a test, `withScope`, the thread, the
///   process) is reported then if its longest hold was the lock's first and passed `onceBar` × the
///   budget net of its page faults' share (`faultShare`) and its involuntary context switches' share
///   (`switchShare`): a site that runs once has no second chance, and its first run is usually cold
///   code, so its faults are bounded, not a reason to drop it; a switch's cost to the thread is bounded
///   the same way.
///
/// While a class has a suspect, its acquires take an exact CPU-time snapshot and keep their stack
/// (`LockClass.isTraced`), so the confirming hold is measured exactly and shows both stacks. Everything
/// here runs on the slow path: the hot path stays two TSC reads.
enum HoldEvidence {
    /// `confirmationBars[n - 2]`: the least multiple of its budget each of the last `n` consecutive
    /// over-budget holds at a site must reach to be reported.
    static let confirmationBars: [Double] = [8, 3, 1]
    /// How long a burst of over-budget holds lasts at most: a hold that begins this long after the first
    /// hold of the current burst begins the next. Noise bursts measured through the validator spanned
    /// 0.2–1.1 ms of consecutive holds; the bursts themselves recur some 20 ms apart.
    static let burstNanoseconds = 2_000_000.0
    /// This many holds, each at least `bar` × the budget, among a suspect's consecutive over-budget holds
    /// confirm a site without waiting for the next burst: the longest run of noise seen through the
    /// validator was four over-budget holds (34 + 95 + 33 + 26 µs), while a routine slow in a loop makes
    /// as many as it runs.
    static let burstRun = (holds: 6, bar: 2.0)
    /// The multiple of its budget the longest hold of a suspect must reach to be reported when its
    /// scope ends unconfirmed.
    static let onceBar: Double = 4
    /// The most of a hold's own time one minor page fault is credited with. On this CI's VM a fresh page's
    /// first touch costs about 2 µs of the thread's CPU time (100 touches: 180–205 µs), code from the page
    /// cache 2.3 µs at the median, so the bound covers a cold routine's dozens of faults with room to
    /// spare. See the README's "Hold times".
    static let minorFaultShareNanoseconds = 5_000.0
    /// What a hold with any page fault is credited with besides, for the rare fault that costs far more:
    /// the host's work behind a first touch is charged to the thread when the host is busy. Measured here
    /// under load (C, 500,000 holds of 2 µs each touching a fresh page, the machine's load average 9):
    /// such a hold took over 100 µs of CPU time 46–126 times per million, over 150 µs 20–70, against 12
    /// per million over 100 µs without the touch. With the allowance a faulting first hold is reported
    /// alone only past 150 µs, and the seed's cold 200 µs hold (6 faults) still clears the bar by 40 µs.
    static let faultTailAllowanceNanoseconds = 45_000.0
    /// The most one major page fault is credited with: its wait for storage is off the CPU (preemption,
    /// already bounded); what is left on it (the read's submission, readahead, reclaim) costs more than a
    /// minor fault's.
    static let majorFaultShareNanoseconds = 50_000.0

    /// The most of a hold's own time one involuntary context switch is credited with. On this CI's VM the
    /// thread's CPU time counts time it did not run its code: the host stops the vCPU without the guest
    /// seeing it as steal, and the guest's scheduler, finding the thread's slice used up, switches it away,
    /// so a switch in a hold often marks such time. Measured (C, a thread spinning on the TSC beside other
    /// processes, 1,679 switches): the CPU time charged across a switch 26 µs at the median, 80 µs at the
    /// 99th percentile, up to 500 µs (and once 36 ms in a 109 ms gap); 26 of the 27 false reports of 2 µs
    /// first holds in 40 runs of `scripts/one-shot-hold.sh` before this credit had a switch, at 106–401 µs
    /// of own time, each with 1.7 ms or more off the CPU. See the README's "Hold times".
    static let switchShareNanoseconds = 500_000.0

    /// The most of `ownNanoseconds` (net of the faults' share) that `switches` involuntary context
    /// switches can have taken: 500 µs each, but never more than the time the preemption bound shows the
    /// hold off the CPU (`preemptedNanoseconds`). A switch the wall clock shows no time away for (the
    /// thread was switched out and straight back, or the switch fell between the snapshot and the
    /// acquire) is not credited: 5 of 60 long first holds in one run of the table had one, and every false
    /// report above had milliseconds off the CPU.
    static func switchShare(
        switches: Int, ownNanoseconds: Double, preemptedNanoseconds: Double, each: Double = switchShareNanoseconds
    ) -> Double {
        guard switches > 0 else { return 0 }
        return max(0, min(ownNanoseconds, preemptedNanoseconds, Double(switches) * each))
    }

    /// What one involuntary switch is credited with in a hold at a repeated site: the charge across a switch
    /// measured here (26 µs at the median, 80 µs at the 99th percentile), not its rare 500 µs. Repetition is
    /// that path's defence against the rare charge; the credit takes out the common one (a 2 µs hold read as
    /// 27–50 µs across a switch under hogs) and leaves a long hold preempted in the middle its evidence (a
    /// 300 µs hold keeps 200 µs, where the first-hold credit would take all of it).
    static let repeatedSwitchShareNanoseconds = 100_000.0

    /// The most of `ownNanoseconds` that `faults` page faults, `majorFaults` of them major (nil: not known,
    /// counted as minor), can have taken.
    static func faultShare(faults: Int, majorFaults: Int?, ownNanoseconds: Double) -> Double {
        guard faults > 0 else { return 0 }
        let major = min(max(majorFaults ?? 0, 0), faults)
        let bound =
            faultTailAllowanceNanoseconds + Double(faults - major) * minorFaultShareNanoseconds + Double(major)
            * majorFaultShareNanoseconds
        return min(ownNanoseconds, bound)
    }

    /// A lock class and an acquire site.
    struct Site: Hashable {
        let classID: UInt32
        let file: UInt
        let line: UInt64

        init(_ entry: lv_held_lock) {
            classID = entry.lock_class
            file = UInt(bitPattern: entry.file)
            line = entry.line
        }
    }

    /// One over-budget hold.
    struct Observation {
        let hold: HoldTime
        let lock: LockInfo
        let acquiredTSC: UInt64
        let releasedTSC: UInt64
        /// The lock instance's first hold ever.
        let isFirstHold: Bool
    }

    /// A site with over-budget holds and no clean hold since.
    struct Suspect {
        let lockClass: LockClass
        /// The scope the first hold was in; nil for none (the thread's, then the process's).
        let scope: ViolationScope?
        let thread: UInt32
        var holds: [Observation]

        /// The holds grouped into bursts: a hold that began less than `burstNanoseconds` after the first
        /// hold of the current burst is in it.
        var bursts: [ArraySlice<Observation>] { bursts(of: holds.indices) }

        func bursts(of range: Range<Int>) -> [ArraySlice<Observation>] {
            var bursts: [ArraySlice<Observation>] = []
            var start = range.startIndex
            for index in range.dropFirst()
            where TSCClock.nanoseconds(holds[index].acquiredTSC &- holds[start].acquiredTSC) >= burstNanoseconds {
                bursts.append(holds[start..<index])
                start = index
            }
            return range.isEmpty ? [] : bursts + [holds[start..<range.endIndex]]
        }

        /// The holds that confirm the suspect, oldest first (the last is the last hold), and how many
        /// bursts they stand for (1 for a run); nil while the evidence does not confirm it. Either
        /// `burstRun.holds` of the holds each passed `burstRun.bar` × the budget; or the last `n` bursts each
        /// passed `confirmationBars[n - 2]` × the budget with their shortest hold (shown for each earlier
        /// burst).
        var confirmation: (holds: [Int], bursts: Int)? {
            func ratio(_ index: Int) -> Double { holds[index].hold.repeatedOverBudgetRatio }
            // The holds are consecutive (a clean hold clears the suspect), in one burst or across several.
            let atBar = holds.indices.filter { ratio($0) >= burstRun.bar }
            if atBar.count >= burstRun.holds { return (Array(atBar.suffix(burstRun.holds)), 1) }
            let bursts = self.bursts
            let shortest = bursts.map { burst in burst.indices.min { ratio($0) < ratio($1) }! }
            guard shortest.count >= 2 else { return nil }
            let confirmed = (2...min(shortest.count, confirmationBars.count + 1)).first { count in
                shortest.suffix(count).allSatisfy { ratio($0) >= confirmationBars[count - 2] }
            }
            return confirmed.map { count in (shortest.suffix(count).dropLast() + [holds.count - 1], count) }
        }

        var isConfirmed: Bool { confirmation != nil }

        /// The report for a suspect whose scope ended, or nil when its evidence is too weak to report.
        /// Only a lock's first hold can be reported alone: a lock held before had its second chance (its
        /// last hold being noise is as likely as for any hold). A first hold that took page faults or was
        /// switched away from is judged net of their bounded shares (`faultShare`, `switchShare`): a user's
        /// first long hold is usually cold code, and a switch's charge is not the routine's.
        var onceReport: (Observation, [HoldTime])? {
            let firstHolds = holds.indices.filter { holds[$0].isFirstHold }
            guard
                let longest = firstHolds.max(by: { holds[$0].hold.netNanoseconds < holds[$1].hold.netNanoseconds }),
                holds[longest].hold.netOverBudgetRatio >= onceBar
            else { return nil }
            var earlier = timedHolds
            earlier.remove(at: longest)
            return (holds[longest], earlier)
        }

        /// The holds, each with the wall-clock time since the release of the one before it.
        var timedHolds: [HoldTime] {
            holds.indices.map { index in
                guard index > 0 else { return holds[index].hold }
                let gap = holds[index].acquiredTSC &- holds[index - 1].releasedTSC
                return holds[index].hold.after(TSCClock.nanoseconds(gap))
            }
        }
    }

    struct State {
        var suspects: [Site: Suspect] = [:]
        /// Open suspects per class id: a class is traced while it has any.
        var openPerClass: [UInt32: Int] = [:]

        mutating func open(_ site: Site, _ suspect: Suspect) {
            suspects[site] = suspect
            openPerClass[site.classID, default: 0] += 1
            suspect.lockClass.isTraced.store(true, ordering: .relaxed)
        }

        mutating func close(_ site: Site) -> Suspect? {
            guard let suspect = suspects.removeValue(forKey: site) else { return nil }
            let open = openPerClass[site.classID, default: 1] - 1
            openPerClass[site.classID] = open == 0 ? nil : open
            if open == 0 { suspect.lockClass.isTraced.store(false, ordering: .relaxed) }
            return suspect
        }

        mutating func close(where belongs: (Suspect) -> Bool) -> [Suspect] {
            suspects.filter { belongs($0.value) }.keys.compactMap { close($0) }
        }
    }

    static let state = InternalLock(State())

    // MARK: Observing

    /// Whether an over-budget hold is evidence: not when it is within its budget net of its involuntary
    /// switches' share (preempted, and charged for it: the routine's time is unknown either way).
    static func counts(_ hold: HoldTime) -> Bool { hold.repeatedOverBudgetRatio > 1 }

    /// A hold at `site` that started at `acquiredTSC` stayed within its budget: it clears a suspect
    /// there, unless it overlapped the suspect's last hold.
    static func clean(_ site: Site, acquiredTSC: UInt64) {
        state.withLock { state in
            guard let last = state.suspects[site]?.holds.last, acquiredTSC >= last.releasedTSC else { return }
            _ = state.close(site)
        }
    }

    /// Adds an over-budget hold at `site`; reports the site if the evidence now confirms it.
    static func overBudget(
        _ observation: Observation, at site: Site, lockClass: LockClass, scope: ViolationScope?, thread: UInt32
    ) {
        guard counts(observation.hold) else { return }
        var opened = false
        let confirmed: Suspect? = state.withLock { state in
            guard var suspect = state.suspects[site] else {
                state.open(site, Suspect(lockClass: lockClass, scope: scope, thread: thread, holds: [observation]))
                opened = true
                return nil
            }
            guard observation.acquiredTSC >= suspect.holds.last!.releasedTSC else { return nil }
            suspect.holds.append(observation)
            guard suspect.isConfirmed else {
                state.suspects[site] = suspect
                return nil
            }
            _ = state.close(site)
            return suspect
        }
        // So that the process end reports what is still open then.
        if opened { ConfigurationStore.installExitHandler() }
        guard let confirmed else { return }
        let (indices, bursts) = confirmed.confirmation!
        // Each shown hold timed from the release of the shown hold before it.
        let shown = indices.indices.map { position in
            guard position > 0 else { return confirmed.holds[indices[0]].hold }
            let (earlier, later) = (confirmed.holds[indices[position - 1]], confirmed.holds[indices[position]])
            return later.hold.after(TSCClock.nanoseconds(later.acquiredTSC &- earlier.releasedTSC))
        }
        report(confirmed.holds.last!, shown.last!, as: .repeated, after: Array(shown.dropLast()), bursts: bursts)
    }

    // MARK: Scope ends

    /// Reports the suspects that began in `scope` (a test, `withScope`), which is ending.
    static func scopeEnded(_ scope: ViolationScope) {
        let ended = state.withLock { $0.close { $0.scope === scope } }
        scope.run { reportUnconfirmed(ended) }
    }

    /// Reports the suspects that began outside any scope on the thread `serial`, which is exiting.
    static func threadEnded(_ serial: UInt32) {
        reportUnconfirmed(state.withLock { $0.close { $0.scope == nil && $0.thread == serial } })
    }

    /// Reports every suspect still open: the process is ending.
    static func processEnded() {
        reportUnconfirmed(state.withLock { $0.close { _ in true } })
    }

    /// Forgets every suspect.
    static func reset() {
        _ = state.withLock { $0.close { _ in true } }
    }

    private static func reportUnconfirmed(_ suspects: [Suspect]) {
        for case let (longest, earlier)? in suspects.map(\.onceReport) {
            report(longest, longest.hold, as: .once, after: earlier, bursts: 1)
        }
    }

    // MARK: Reporting

    /// " (N net of the most its page faults and involuntary context switches can have taken)", naming only
    /// the ones the hold had; empty for neither.
    static func netOfShares(_ hold: HoldTime) -> String {
        let switches = hold.involuntarySwitches ?? 0
        var causes: [String] = []
        if hold.pageFaults > 0 { causes.append("\(hold.pageFaults) page faults") }
        if switches > 0 { causes.append("\(switches) involuntary context switches") }
        guard !causes.isEmpty else { return "" }
        let net = HoldTiming.microseconds(hold.netNanoseconds)
        return " (\(net) net of the most its \(causes.joined(separator: " and ")) can have taken)"
    }

    private static func report(
        _ observation: Observation, _ timed: HoldTime, as evidence: HoldTime.Evidence, after earlier: [HoldTime],
        bursts: Int
    ) {
        let hold = timed.reported(as: evidence, after: earlier)
        let us = HoldTiming.microseconds
        let what: String
        switch evidence {
        case .repeated:
            let times = (earlier + [hold]).map { us($0.ownNanoseconds) }.joined(separator: ", ")
            what =
                bursts == 1
                ? "in \(earlier.count + 1) consecutive holds at this site (\(times) of the thread's own time)"
                : "in \(bursts) consecutive bursts of holds at this site, each begun 2 ms or more after the one"
                    + " before (\(times) of the thread's own time: the shortest hold of each earlier burst, then this)"
        case .once:
            what =
                "once, for \(us(hold.ownNanoseconds)) of the thread's own time\(netOfShares(hold)), and its scope"
                + " ended before another hold at this site could confirm it"
        }
        // "last" only when there were several holds.
        let last = evidence == .repeated ? "last: " : ""
        LockValidator.record(
            .holdTimeExceeded,
            summary: "\(observation.lock) acquired at \(hold.acquiredAt) was held over its budget of"
                + " \(us(hold.budgetNanoseconds)) \(what) (\(last)\(us(hold.wallNanoseconds)) wall clock, of which at"
                + " most \(us(hold.preemptedNanoseconds)) preempted)",
            locks: [observation.lock], site: hold.releasedAt, hold: hold,
            stack: hold.releaseStack)
    }
}

extension ViolationScope {
    /// Reports the long holds this scope began that no later hold confirmed or cleared; call as it ends.
    package func reportUnconfirmedHolds() { HoldEvidence.scopeEnded(self) }
}
