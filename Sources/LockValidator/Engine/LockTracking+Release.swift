import Synchronization
import _LockValidatorShims

extension LockTracking {
    // MARK: lock_release: the fast path

    /// A spin lock's release with nothing to check: of the thread's newest hold, made with the routine and
    /// queue node it was acquired with, at its IRQL, within its budget, of a class not traced. Pops it,
    /// counts it and returns true; returns false, having changed nothing, for
    /// ``release(_:restoring:queueNode:releasedAt:on:at:)``.
    @inlinable @inline(__always)
    package func releaseIfKnown(_ kind: AcquireKind, queueNode: UnsafeMutableRawPointer?, on thread: ThreadState)
        -> Bool
    {
        // The hold ends here, before the validator's release bookkeeping.
        let released = lv_rdtsc()
        let depth = thread.depth
        guard _fastPath(lv_validation_enabled() != 0 && owner.load(ordering: .relaxed) == thread.serial && depth > 0)
        else { return false }
        let top = thread.held(depth - 1)
        let held = heldCycles(of: top, releasedAt: released, on: thread)
        // Never 0: no budget is UInt64.max.
        let budget = holdBudgetCycles != 0 ? holdBudgetCycles : lv_hold_budget_cycles()
        guard
            _fastPath(
                top.pointee.instance == instance
                    && top.pointee.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_DEFERRED_IRQL | LV_HELD_TRACED) == 0
                    && top.pointee.irql == thread.irql.rawValue && top.pointee.kind == kind.rawValue
                    && top.pointee.queue_node == queueNode && held <= budget)
        else { return false }
        // The thread's line for the class: most often the one the entry kept (its class, nesting 0, is the
        // line's: a compare and a load, the line never nil then); else found (none yet: the thread's first
        // hold of the class, whose line the Swift steps make).
        let line: UnsafeMutablePointer<UInt64>
        if _fastPath(top.pointee.stat_class == top.pointee.lock_class) {
            line = top.pointee.stat_line.unsafelyUnwrapped
        } else {
            guard let found = lv_held_stat_line_found(thread.pointer, top, lockClass.id) else { return false }
            line = found
        }
        thread.pop(top, depth: depth, kind: kind.rawValue)
        owner.store(0, ordering: .relaxed)
        LockStatisticsBlock(words: line).recordHold(cycles: held)
        return true
    }

    // MARK: lock_release

    /// Checks a release and removes the lock from the calling thread's held stack, before the caller
    /// unlocks; the caller then does what the answer says.
    ///
    /// 1. The release of a reported recursive acquire removes its placeholder, and nothing is unlocked.
    /// 2. A release of a lock the thread does not hold is `release-not-held`, or `release-wrong-thread`
    ///    when the owner is known to be another thread. A spin lock's is not made; an annotated lock's
    ///    is the caller's own.
    /// 3. A spin lock is released newest first (`release-out-of-order`), at the IRQL it runs at
    ///    (`release-wrong-irql`), with the kind of routine it was acquired with (`mixed-acquire-kinds`);
    ///    a lock that sleeps may be released in any order (hand-over-hand).
    /// 4. The hold is counted, and its time checked against the budget.
    ///
    /// Inlined into each front end's release (one frame), which calls it only with the checks on
    /// (`lv_validation_enabled()`). The entry is read in place, and copied, with the snapshot its hold
    /// began under, only for a hold past its budget.
    ///
    /// - Parameters:
    ///   - oldIRQL: the IRQL a spin lock's caller restores after the release; nil for a release that
    ///     keeps it (the `FromDpcLevel` routines, every annotated lock).
    ///   - queueNode: the node of the handle a queued release names its acquisition by.
    ///   - released: the TSC at which the hold ended.
    @usableFromInline
    @inline(__always)
    package func release(
        _ kind: AcquireKind, restoring oldIRQL: IRQL? = nil, queueNode: UnsafeMutableRawPointer? = nil,
        releasedAt released: UInt64, on thread: ThreadState, at site: CallSite
    ) -> ReleaseAction {
        let annotated = policy.contains(.annotated)
        let holder = owner.load(ordering: .relaxed)
        guard let index = thread.indexOfHeld(instance: instance, queueNode: queueNode) else {
            return releaseUntracked(
                kind, restoring: oldIRQL, queueNode: queueNode, holder: holder, on: thread, at: site)
        }
        let entry = thread.held(index)
        let flags = entry.pointee.flags
        // A reported recursive acquire is this thread's own, whoever holds the lock by now.
        if _slowPath(flags & UInt8(LV_HELD_RECURSIVE) != 0) {
            return releasePlaceholder(at: index, restoring: oldIRQL, on: thread)
        }
        if !annotated {
            guard holder == thread.serial else {
                printReleaseNotHeldBug(holder: holder, on: thread, at: site)
                return .ignore
            }
            checkReleaseOrder(kind, of: entry, at: index, on: thread, at: site)
        }
        // Read before the entry leaves the stack (a removal moves the entries above it down).
        let exclusive = flags & UInt8(LV_HELD_NESTED | LV_HELD_SHARED) == 0
        let stamped = entry.pointee.acquired_tsc != 0
        let held = stamped ? heldCycles(of: entry, releasedAt: released, on: thread) : 0
        let budget = holdBudgetCycles != 0 ? holdBudgetCycles : lv_hold_budget_cycles()
        if exclusive && stamped && !policy.contains(.sleeps)
            && _slowPath(budget != 0 && held > budget || flags & UInt8(LV_HELD_TRACED) != 0)
        {
            return releaseLongHold(
                kind, at: index, restoring: oldIRQL, releasedAt: released, heldCycles: held, budgetCycles: budget,
                on: thread, at: site)
        }
        let action = removeHeld(kind, at: index, restoring: oldIRQL, on: thread)
        guard exclusive else {
            // Readers hold it together: their counters need atomic updates. A nested hold is the
            // exclusive one's.
            if flags & UInt8(LV_HELD_NESTED) == 0 {
                thread.withStatistics(ofClass: lockClass.id) { $0.recordUntimedAcquire() }
            }
            return action
        }
        if holder == thread.serial { owner.store(0, ordering: .relaxed) }
        if stamped {
            thread.withStatistics(ofClass: lockClass.id) { $0.recordHold(cycles: held) }
        } else {
            // Never reported acquired (an annotated lock's `acquired` is optional): counted now, untimed.
            thread.withStatistics(ofClass: lockClass.id) { $0.recordUntimedAcquire() }
        }
        return action
    }

    /// Removes the hold at `index` from the held stack; the answer unlocks as it was acquired.
    @inline(__always)
    func removeHeld(_ kind: AcquireKind, at index: Int, restoring oldIRQL: IRQL?, on thread: ThreadState)
        -> ReleaseAction
    {
        let entry = thread.held(index)
        let heldKind = entry.pointee.kind == kind.rawValue ? kind : AcquireKind(rawValue: entry.pointee.kind)!
        let heldNode = entry.pointee.queue_node
        let owed = entry.pointee.has(LV_HELD_DEFERRED_IRQL) ? IRQL(unchecked: entry.pointee.deferred_irql) : nil
        if index == thread.depth - 1 {
            // Acquired with the front end's own kind, a constant there: a sleeping lock's pop leaves the
            // spin-hold count alone at compile time, a spin lock's counts one off.
            if _fastPath(heldKind == kind) { thread.pop(kind: kind.rawValue) } else { thread.pop() }
        } else {
            thread.remove(at: index)  // a spin lock's reported; a sleeping lock's in any order
        }
        let lowerTo =
            policy.contains(.annotated) ? nil : irqlAfterRelease(owed: owed, at: index, restoring: oldIRQL, on: thread)
        return .unlock(heldKind, queueNode: heldNode, lowerTo: lowerTo)
    }

    /// Step 4 for an exclusive hold of a spinning lock past its budget, or begun while its class was
    /// traced: its entry, with the snapshot its hold began under, goes to the hold-time check.
    @usableFromInline
    @inline(never)
    func releaseLongHold(
        _ kind: AcquireKind, at index: Int, restoring oldIRQL: IRQL?, releasedAt released: UInt64,
        heldCycles held: UInt64, budgetCycles budget: UInt64, on thread: ThreadState, at site: CallSite
    ) -> ReleaseAction {
        let entry = thread.heldWithSnapshot(thread.held(index).pointee, at: index)
        let action = removeHeld(kind, at: index, restoring: oldIRQL, on: thread)
        if owner.load(ordering: .relaxed) == thread.serial { owner.store(0, ordering: .relaxed) }
        // Counted after the check, which reads the thread's page faults first: a thread's first hold of a
        // class makes its line (a chunk mapped, a table allocated), whose faults are not the hold's.
        holdEnded(entry, releasedAt: released, heldCycles: held, budgetCycles: budget, on: thread, at: site)
        thread.withStatistics(ofClass: lockClass.id) { $0.recordHold(cycles: held) }
        return action
    }

    /// Step 1: removes the placeholder of a reported recursive acquire at `index`.
    @usableFromInline
    @inline(never)
    func releasePlaceholder(at index: Int, restoring oldIRQL: IRQL?, on thread: ThreadState) -> ReleaseAction {
        let entry = thread.held(index).pointee
        thread.remove(at: index)
        let owed = entry.has(LV_HELD_DEFERRED_IRQL) ? IRQL(unchecked: entry.deferred_irql) : nil
        let lowerTo =
            policy.contains(.annotated) ? nil : irqlAfterRelease(owed: owed, at: index, restoring: oldIRQL, on: thread)
        return .placeholder(queueNode: entry.queue_node, lowerTo: lowerTo)
    }

    /// Step 2 for a lock not on the held stack: one the thread took while its stack was full (a spin lock's
    /// owner word says so, an annotated lock's are counted), else a release of a lock it does not hold.
    @usableFromInline
    @inline(never)
    func releaseUntracked(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutableRawPointer?, holder: UInt32,
        on thread: ThreadState, at site: CallSite
    ) -> ReleaseAction {
        let untracked =
            policy.contains(.annotated) ? thread.pointer.pointee.untracked_annotated > 0 : holder == thread.serial
        guard untracked else {
            printReleaseNotHeldBug(holder: holder, on: thread, at: site)
            return .ignore
        }
        if policy.contains(.annotated) { thread.pointer.pointee.untracked_annotated -= 1 }
        if holder == thread.serial { owner.store(0, ordering: .relaxed) }
        return .unlock(kind, queueNode: queueNode, lowerTo: oldIRQL)
    }

    /// Step 3: a spin lock's release is of its newest hold, at its IRQL, with its kind of routine.
    @inline(__always)
    func checkReleaseOrder(
        _ kind: AcquireKind, of entry: UnsafeMutablePointer<lv_held_lock>, at index: Int, on thread: ThreadState,
        at site: CallSite
    ) {
        if _slowPath(index != thread.depth - 1) {
            printReleaseOutOfOrderBug(newer: thread.held(thread.depth - 1).pointee, on: thread, at: site)
        }
        if _slowPath(entry.pointee.irql != thread.irql.rawValue) {
            printReleaseWrongIRQLBug(heldAt: IRQL(unchecked: entry.pointee.irql), on: thread, at: site)
        }
        let heldFamily = KindFamily.of(rawKind: entry.pointee.kind)
        if _slowPath(KindFamily.of(kind) != heldFamily) {
            printMixedAcquireKindsBug(acquiredWith: heldFamily, releasedWith: KindFamily.of(kind), at: site)
        }
    }

    /// The IRQL a spin lock's release may lower to once its entry (at `index`, owed `owed` by an earlier
    /// out-of-order release) is off the held stack: what the caller restores, or what was owed, but never
    /// below what the locks still held run at. A lowering that must wait is carried by the next newer
    /// lock, whose release makes it, so the thread ends where releases in order would have left it.
    @usableFromInline
    func irqlAfterRelease(owed: IRQL?, at index: Int, restoring oldIRQL: IRQL?, on thread: ThreadState) -> IRQL? {
        // No arrays: a release allocates nothing.
        var target = oldIRQL
        if let owed { target = min(target ?? owed, owed) }
        guard let target else { return nil }
        let floor = thread.highestHeldIRQL
        if target < floor && index < thread.depth {
            let heir = thread.held(index)
            let carried = heir.pointee.flags & UInt8(LV_HELD_DEFERRED_IRQL) != 0
            heir.pointee.deferred_irql = carried ? min(heir.pointee.deferred_irql, target.rawValue) : target.rawValue
            heir.pointee.flags |= UInt8(LV_HELD_DEFERRED_IRQL)
        }
        return max(target, floor)
    }

    /// Forgets the newest hold of this lock on the calling thread: an acquire that ``acquire(_:trylock:read:nesting:queueNode:lockObject:on:at:)``
    /// recorded did not take the lock after all (a timed wait that timed out, a lock that refused a
    /// recursive acquire with an error).
    package func acquireFailed(on thread: ThreadState) {
        guard let index = thread.indexOfHeld(instance: instance) else {
            if thread.pointer.pointee.untracked_annotated > 0 { thread.pointer.pointee.untracked_annotated -= 1 }
            return
        }
        thread.remove(at: index)
    }
}

extension ThreadState {
    /// The highest IRQL any held lock runs at, PASSIVE_LEVEL when none is held.
    package var highestHeldIRQL: IRQL {
        var highest: UInt8 = 0
        for index in 0..<depth { highest = max(highest, held(index).pointee.irql) }
        return IRQL(unchecked: highest)
    }
}
