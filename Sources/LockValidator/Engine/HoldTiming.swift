import _LockValidatorShims

/// The slow path of `hold-time-exceeded`: decides how much of a hold that passed its budget on the TSC
/// was the thread's own time, and hands it to ``HoldEvidence``.
///
/// User space cannot stop the scheduler, so a hold's wall time includes any time the thread was
/// preempted. Every hold begins under the thread's (TSC, CPU time) snapshot, taken at or before its
/// acquire: a thread refreshes its snapshot when it is older than 100 µs, and at the start of every
/// hold it had to wait for (so time spent spinning or yielding is never counted as the hold's) or of
/// a class with a suspect site; a refresh leaves the old snapshot in the entries of the holds that
/// began under it (`ThreadState.replaceSnapshot`), so an acquire copies nothing. At the release of a
/// hold that passed the budget, one read of the thread's CPU time gives
///
///     preempted since the snapshot = wall since the snapshot - CPU time since the snapshot
///
/// which bounds the time preempted during the hold, so `own ≥ wall hold - preempted since the snapshot`.
/// Only that lower bound counts: OS preemption never makes a report. The validator's own slow paths
/// during the hold are subtracted too. The bound is only as good as the thread's CPU time, which on a VM
/// charges the thread with time it did not run its code: what the host takes without the guest seeing it
/// as steal (this kernel leaves the steal it does see out of CPU time), and the guest's interrupts. Such
/// time often ends in an involuntary context switch (the scheduler finds the thread's slice used up), so
/// ``HoldEvidence`` bounds the share of the switches in a hold reported alone, as of its page faults, and
/// deals with the rest by repetition.
@usableFromInline
enum HoldTiming {
    /// How old a snapshot may be before an acquire refreshes it.
    static let snapshotRefreshNanoseconds = 100_000.0

    /// Sets the hot path's thresholds from `configuration` (and calibrates the TSC).
    static func apply(_ configuration: Configuration) {
        lv_set_hold_budget_cycles(TSCClock.cycles(nanoseconds: configuration.holdBudgetMicroseconds * 1_000))
        lv_set_spin_timeout_cycles(TSCClock.cycles(nanoseconds: Double(configuration.spinTimeoutMilliseconds) * 1e6))
        lv_set_snapshot_refresh_cycles(TSCClock.cycles(nanoseconds: snapshotRefreshNanoseconds))
    }

    /// A hold that passed its budget on the TSC.
    @usableFromInline
    @inline(never)
    static func passedBudget(
        _ entry: lv_held_lock, releasedTSC: UInt64, heldCycles: UInt64, budgetCycles: UInt64, lockClass: LockClass,
        initSite: Site?, isFirstHold: Bool, on thread: ThreadState, releasedAt site: CallSite
    ) {
        // Read first, so that the faults of the validator's own slow path (its first run touches new code
        // and stack) are not counted as the hold's.
        let usage = UsageInHold(lv_thread_usage_now(), since: entry, on: thread)
        thread.billingValidator {
            check(
                entry, releasedTSC: releasedTSC, heldCycles: heldCycles, budgetCycles: budgetCycles, usage: usage,
                lockClass: lockClass, initSite: initSite, isFirstHold: isFirstHold, on: thread, releasedAt: site)
        }
    }

    /// What `getrusage` says happened in a hold, from its snapshot: the page faults and involuntary
    /// context switches always (the entry keeps their counts' low bits: a hold with 65,536 faults or 256
    /// switches reads as none, and is long by its preemption anyway), the rest only when the hold began
    /// under the thread's current snapshot (the thread keeps those counts, the entries do not).
    struct UsageInHold {
        let faults: Int
        let majorFaults: Int?
        let involuntarySwitches: Int
        let systemNanoseconds: Double?

        init(_ now: lv_thread_usage, since entry: lv_held_lock, on thread: ThreadState) {
            faults = Int(UInt16(truncatingIfNeeded: now.faults) &- entry.snapshot_faults)
            involuntarySwitches = Int(UInt8(truncatingIfNeeded: now.involuntary_switches) &- entry.snapshot_switches)
            let state = thread.pointer  // fields only: the state is kilobytes
            guard entry.snapshot_tsc != 0 && entry.snapshot_tsc == state.pointee.snapshot_tsc else {
                (majorFaults, systemNanoseconds) = (nil, nil)
                return
            }
            majorFaults = Int(now.major_faults &- state.pointee.snapshot_major_faults)
            systemNanoseconds = Double(now.system_ns &- min(state.pointee.snapshot_system_ns, now.system_ns))
        }
    }

    /// A hold within its budget that began while its class had a suspect site: it may clear the suspect.
    @usableFromInline
    @inline(never)
    static func tracedHoldEnded(_ entry: lv_held_lock, on thread: ThreadState) {
        thread.billingValidator {
            _ = takeAcquireStack(of: entry.instance, on: thread)
            HoldEvidence.clean(HoldEvidence.Site(entry), acquiredTSC: entry.acquired_tsc)
        }
    }

    private static func check(
        _ entry: lv_held_lock, releasedTSC: UInt64, heldCycles: UInt64, budgetCycles: UInt64, usage: UsageInHold,
        lockClass: LockClass, initSite: Site?, isFirstHold: Bool, on thread: ThreadState, releasedAt site: CallSite
    ) {
        let cpuNow = lv_thread_cpu_ns()
        TSCClock.refine()
        // Wall time of the hold less the validator's own slow paths in it.
        let wall = TSCClock.nanoseconds(heldCycles)
        let hasSnapshot = entry.snapshot_tsc != 0 && entry.snapshot_tsc <= entry.acquired_tsc
        let sinceSnapshot = TSCClock.nanoseconds(releasedTSC &- entry.snapshot_tsc)
        // The validator's time (CPU time, and wall time since the snapshot alike) cancels out here.
        let cpuSinceSnapshot = Double(cpuNow &- entry.snapshot_cpu_ns)
        let preemptedAtMost = hasSnapshot ? max(0, sinceSnapshot - cpuSinceSnapshot) : wall
        let ownAtLeast = max(0, wall - preemptedAtMost)
        let acquireStack = takeAcquireStack(of: entry.instance, on: thread)
        // A scope (a test) may allow longer holds than the lock's budget.
        let scope = ViolationScope.effective
        let budget = max(TSCClock.nanoseconds(budgetCycles), scope?.effectiveHoldBudget?.nanoseconds ?? 0)
        let evidenceSite = HoldEvidence.Site(entry)
        guard ownAtLeast > budget else {
            // Preempted, not the routine's time: a clean hold.
            if entry.flags & UInt8(LV_HELD_TRACED) != 0 {
                HoldEvidence.clean(evidenceSite, acquiredTSC: entry.acquired_tsc)
            }
            return
        }
        let faultShare = HoldEvidence.faultShare(
            faults: usage.faults, majorFaults: usage.majorFaults, ownNanoseconds: ownAtLeast)
        let hold = HoldTime(
            ownNanoseconds: ownAtLeast, wallNanoseconds: wall, preemptedNanoseconds: preemptedAtMost,
            budgetNanoseconds: budget,
            acquiredAt: entry.acquiredAt, acquireStack: acquireStack, releasedAt: site.site,
            releaseStack: .capture(),
            thread: thread.serial, pageFaults: usage.faults, majorPageFaults: usage.majorFaults,
            involuntarySwitches: usage.involuntarySwitches, systemNanoseconds: usage.systemNanoseconds,
            faultShareNanoseconds: faultShare,
            switchShareNanoseconds: HoldEvidence.switchShare(
                switches: usage.involuntarySwitches, ownNanoseconds: ownAtLeast - faultShare,
                preemptedNanoseconds: preemptedAtMost))
        let observation = HoldEvidence.Observation(
            hold: hold, lock: LockInfo(of: lockClass, instance: entry.instance, site: initSite),
            acquiredTSC: entry.acquired_tsc, releasedTSC: releasedTSC, isFirstHold: isFirstHold)
        HoldEvidence.overBudget(
            observation, at: evidenceSite, lockClass: lockClass, scope: scope, thread: thread.serial)
    }

    /// Keeps the stack of an acquire of a traced class until its release.
    static func keepAcquireStack(of instance: UInt64, on thread: ThreadState) {
        Processor.of(thread).acquireStacks[instance] = StackTrace.capture()
    }

    static func takeAcquireStack(of instance: UInt64, on thread: ThreadState) -> StackTrace? {
        Processor.of(thread).acquireStacks.removeValue(forKey: instance)
    }

    static func microseconds(_ nanoseconds: Double) -> String {
        "\((nanoseconds / 100).rounded() / 10) µs"
    }
}
