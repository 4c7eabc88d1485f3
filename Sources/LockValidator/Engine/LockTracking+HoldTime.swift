import Synchronization
import _LockValidatorShims

extension LockTracking {
    /// Stamps the start of the hold `entry`, after the validator's own bookkeeping. A fresh CPU-time
    /// snapshot is taken first when the thread `waited` for the lock (so that waiting is never counted
    /// as preemption inside the hold), when the class has a suspect site, or when the last is stale:
    /// older than 100 µs, or, for the lock's first hold (the only one reported alone), older than a
    /// validator slow path, whose page faults are not the hold's. "First" is the mark the instance's first
    /// acquire left in the entry (`LV_NESTING_FIRST_HOLD`).
    ///
    /// The hold begins under the thread's snapshot: nothing is copied here (see `snapshot_own_below`).
    @inlinable @inline(__always)
    package func stampHoldStart(of entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState, waited: Bool) {
        let now = lv_rdtsc()
        let state = thread.pointer
        // Read once: after the store into the entry, the compiler would load it again.
        let validatorCycles = state.pointee.validator_cycles
        if _slowPath(
            waited || lockClass.isTraced.load(ordering: .relaxed)
                || now &- state.pointee.snapshot_tsc > lv_snapshot_refresh_cycles()
                || (validatorCycles != state.pointee.snapshot_validator_cycles
                    && entry.pointee.nesting & UInt8(LV_NESTING_FIRST_HOLD) != 0)
        ) {
            return stampAfterRefresh(of: entry, on: thread)  // last, so that it can be a tail call
        }
        entry.pointee.acquired_tsc = now
        entry.pointee.validator_cycles = validatorCycles
    }

    @usableFromInline
    @inline(never)
    func stampAfterRefresh(of entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState) {
        entry.pointee.acquired_tsc = refreshSnapshot(for: entry, on: thread)
        entry.pointee.validator_cycles = thread.pointer.pointee.validator_cycles
    }

    /// Takes a fresh (TSC, thread CPU time, page faults) snapshot for the hold `entry` begins; returns the
    /// TSC at which the hold now starts. The holds that began under the old snapshot keep it in their
    /// entries.
    @usableFromInline
    @inline(never)
    func refreshSnapshot(for entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState) -> UInt64 {
        let isTraced = lockClass.isTraced.load(ordering: .relaxed)
        if isTraced { entry.pointee.flags |= UInt8(LV_HELD_TRACED) }
        let (cpuNanoseconds, usage) = thread.billingValidator {
            if isTraced { HoldTiming.keepAcquireStack(of: instance, on: thread) }
            return (lv_thread_cpu_ns(), lv_thread_usage_now())
        }
        thread.replaceSnapshot(tsc: lv_rdtsc(), cpuNanoseconds: cpuNanoseconds, usage: usage, beginning: entry)
        return lv_rdtsc()
    }

    /// The cycles `entry` was held until `released`, less the validator's own slow paths meanwhile.
    @inlinable @inline(__always)
    func heldCycles(of entry: UnsafePointer<lv_held_lock>, releasedAt released: UInt64, on thread: ThreadState)
        -> UInt64
    {
        let validatorTime = thread.pointer.pointee.validator_cycles &- entry.pointee.validator_cycles
        let wall = released &- entry.pointee.acquired_tsc
        return wall &- min(validatorTime, wall)
    }

    /// A hold that passed its budget, or that began while its class was traced: how much of it was the
    /// thread's own time. `entry` is a copy that carries the snapshot its hold began under
    /// (`ThreadState.heldWithSnapshot(_:at:)`).
    @usableFromInline
    @inline(never)
    func holdEnded(
        _ entry: lv_held_lock, releasedAt released: UInt64, heldCycles held: UInt64, budgetCycles budget: UInt64,
        on thread: ThreadState, at site: CallSite
    ) {
        if budget != 0 && held > budget {
            HoldTiming.passedBudget(
                entry, releasedTSC: released, heldCycles: held, budgetCycles: budget, lockClass: lockClass,
                initSite: initSite, isFirstHold: entry.nesting & UInt8(LV_NESTING_FIRST_HOLD) != 0, on: thread,
                releasedAt: site)
        } else {
            HoldTiming.tracedHoldEnded(entry, on: thread)
        }
    }
}
