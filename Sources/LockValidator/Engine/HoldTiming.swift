import _LockValidatorShims

/// The slow path of `hold-time-exceeded`: decides how much of a hold that passed its budget on the TSC
/// was the thread's own time.
///
/// User space cannot stop the scheduler, so a hold's wall time includes any time the thread was
/// preempted. Every held entry carries the thread's (TSC, CPU time) snapshot taken at or before its
/// acquire; a thread refreshes its snapshot when it is older than 100 µs, at its next acquire. At the
/// release of a hold that passed the budget, one read of the thread's CPU time gives
///
///     preempted since the snapshot = wall since the snapshot - CPU time since the snapshot
///
/// which bounds the time preempted during the hold, so `own ≥ wall hold - preempted since the snapshot`.
/// Only that lower bound counts: OS preemption never makes a report. The validator's own slow paths
/// during the hold are subtracted too. Once a lock has two over-budget holds among its last four, its
/// class switches to precise timing: every later acquire takes its own snapshot and keeps its stack,
/// so the report that follows shows the acquire stack as well as the release stack.
///
/// A virtual machine adds noise no user-space clock can see: the host stops the vCPU and the guest
/// charges the gap to whichever thread was running. Measured on the CI machine, idle, between two
/// back-to-back TSC reads: 313 gaps a second over 20 µs, 29 over 50 µs, 4.8 over 100 µs, 1.1 over 1 ms,
/// all counted as the thread's CPU time. So one over-budget hold is not evidence: a lock is reported
/// when three of its last four holds passed the budget. A routine that is slow every time is reported
/// at its third hold; noise needs three hits in four holds (about 4p³ for a hit rate p per hold, near
/// 10⁻⁹ for a hold of a few µs).
@usableFromInline
enum HoldTiming {
    /// How old a snapshot may be before an acquire refreshes it.
    static let snapshotRefreshNanoseconds = 100_000.0
    /// Over-budget holds among a lock's last four that make a report.
    static let overrunsToReport = 3
    /// Over-budget holds among a lock's last four that switch its class to precise timing.
    static let overrunsToTrace = 2

    /// Sets the hot path's thresholds from `configuration` (and calibrates the TSC).
    static func apply(_ configuration: Configuration) {
        lv_set_hold_budget_cycles(TSCClock.cycles(nanoseconds: configuration.holdBudgetMicroseconds * 1_000))
        lv_set_spin_timeout_cycles(TSCClock.cycles(nanoseconds: Double(configuration.spinTimeoutMilliseconds) * 1e6))
        lv_set_snapshot_refresh_cycles(TSCClock.cycles(nanoseconds: snapshotRefreshNanoseconds))
    }

    @usableFromInline
    @inline(never)
    static func passedBudget(
        _ entry: lv_held_lock, releasedTSC: UInt64, heldCycles: UInt64, budgetCycles: UInt64, lockClass: LockClass,
        initSite: SourceSite, statistics: LockStatisticsBlock, on thread: ThreadState, fileID: StaticString,
        line: UInt
    ) {
        thread.billingValidator {
            check(
                entry, releasedTSC: releasedTSC, heldCycles: heldCycles, budgetCycles: budgetCycles,
                lockClass: lockClass, initSite: initSite, statistics: statistics, on: thread, fileID: fileID, line: line
            )
        }
    }

    private static func check(
        _ entry: lv_held_lock, releasedTSC: UInt64, heldCycles: UInt64, budgetCycles: UInt64, lockClass: LockClass,
        initSite: SourceSite, statistics: LockStatisticsBlock, on thread: ThreadState, fileID: StaticString,
        line: UInt
    ) {
        let lock = LockInfo(name: lockClass.name, site: initSite, instance: entry.instance)
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
        let budget = TSCClock.nanoseconds(budgetCycles)
        let acquireStack = takeAcquireStack(of: entry.instance, on: thread)
        guard ownAtLeast > budget else { return }  // preempted: not the routine's time
        // A scope (a test) may allow longer holds than the lock's budget.
        if let allowed = ViolationScope.current?.effectiveHoldBudget, ownAtLeast <= allowed.nanoseconds { return }
        let recentOverruns = statistics.markOverrun()
        // Evidence of a slow routine: measure the class exactly and keep its acquire stacks from now on.
        if recentOverruns >= overrunsToTrace { lockClass.isTraced.store(true, ordering: .relaxed) }
        guard recentOverruns >= overrunsToReport else { return }
        let acquiredAt = SourceSite(fileID: String(cString: entry.file), line: UInt(entry.line))
        let hold = HoldTime(
            ownNanoseconds: ownAtLeast, wallNanoseconds: wall, preemptedNanoseconds: preemptedAtMost,
            budgetNanoseconds: budget, acquiredAt: acquiredAt, acquireStack: acquireStack)
        LockValidator.record(
            .holdTimeExceeded,
            summary: "\(lock) was held for \(microseconds(ownAtLeast)) of the thread's own time, over its budget of"
                + " \(microseconds(budget)), in \(recentOverruns) of its last 4 holds (this one acquired at \(acquiredAt);"
                + " \(microseconds(wall)) wall clock, of which at most \(microseconds(preemptedAtMost)) preempted)",
            locks: [lock], site: SourceSite(fileID, line), severity: .warning, hold: hold)
    }

    /// Keeps the stack of an acquire of a traced class until its release.
    static func keepAcquireStack(of instance: UInt64, on thread: ThreadState) {
        Processor.of(thread).acquireStacks[instance] = StackTrace.capture()
    }

    @usableFromInline
    @inline(never)
    static func forgetAcquireStack(of instance: UInt64, on thread: ThreadState) {
        Processor.of(thread).acquireStacks[instance] = nil
    }

    static func takeAcquireStack(of instance: UInt64, on thread: ThreadState) -> StackTrace? {
        Processor.of(thread).acquireStacks.removeValue(forKey: instance)
    }

    static func microseconds(_ nanoseconds: Double) -> String {
        "\((nanoseconds / 100).rounded() / 10) µs"
    }
}

/// How long a lock was held, for `hold-time-exceeded`.
public struct HoldTime: Hashable, Sendable, Codable {
    /// The thread's own time in the hold, at least (wall time less the most it can have been preempted).
    public let ownNanoseconds: Double
    /// Wall-clock time from acquire to release.
    public let wallNanoseconds: Double
    /// The most of the wall time the thread can have been preempted.
    public let preemptedNanoseconds: Double
    /// The budget it passed.
    public let budgetNanoseconds: Double
    /// Where the lock was acquired.
    public let acquiredAt: SourceSite
    /// The acquire's stack: kept for classes that passed their budget before (the first report of a
    /// class has the acquire site only; capturing every acquire's stack would cost the hot path).
    public let acquireStack: StackTrace?
}
