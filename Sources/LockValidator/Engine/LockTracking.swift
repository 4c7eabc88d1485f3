import Synchronization
import _LockValidatorShims

/// The validator's state for one lock instance, and the checks every acquire and release go through.
///
/// A spin-lock wrapper keeps one of these and calls ``willAcquire(_:on:nesting:queueNode:lockObject:at:)``
/// before it spins, ``didAcquire(_:on:waitCycles:)`` once it owns the lock, and
/// ``willRelease(_:restoring:queueNode:on:at:)`` before it unlocks, doing what the returned actions say. As in lockdep's `__lock_acquire`, everything that can be checked is checked
/// before the wait: a recursive acquire is reported instead of spinning forever, and a lock order
/// that closes a cycle is reported before the threads that close it can deadlock. The per-thread
/// held-lock stack lives in C `__thread` storage; the owner is kept here, written only by the thread
/// that holds the lock, so that a recursive acquire is caught with one load.
@usableFromInline
package struct LockTracking: ~Copyable {
    // What an acquire and its release read first, the init site last: fewer cache lines per lock.

    /// The lock's class.
    @usableFromInline package let lockClass: LockClass
    /// The instance serial.
    @usableFromInline package let instance: UInt64
    /// The serial of the owning thread, 0 when free.
    @usableFromInline let owner = Atomic<UInt32>(0)
    /// `KindFamily` bits of every kind of routine used on the lock so far.
    @usableFromInline let kindsUsed = Atomic<UInt8>(0)
    /// This instance's lock_stat counters.
    @usableFromInline let statistics: LockStatisticsBlock
    /// This lock's hold budget in TSC cycles; 0 follows the configuration's.
    @usableFromInline let holdBudgetCycles: UInt64
    /// Where the instance was created.
    @usableFromInline package let initSite: Site?

    /// - Parameter holdBudget: this lock's own hold budget; nil for the configuration's.
    package init(name: String?, holdBudget: Duration? = nil, site: CallSite) {
        let site = site.site
        self.init(of: LockClass.named(name, site: site), holdBudget: holdBudget, site: site)
    }

    /// - Parameter holdBudget: this lock's own hold budget; nil for the configuration's.
    package init(of lockClass: LockClass, holdBudget: Duration? = nil, site: Site?) {
        self.lockClass = lockClass
        self.instance = LockInstance.next()
        self.initSite = site
        statistics = .allocate()
        lockClass.register(statistics, of: instance)
        holdBudgetCycles = holdBudget.map { TSCClock.cycles(nanoseconds: max($0.nanoseconds, 1)) } ?? 0
    }

    /// Folds this instance's statistics into its class and forgets what was kept about it; call from
    /// the lock's deinit.
    package func retire() {
        if statistics.read(.deviceLevels) != 0 { IRQLUsage.forgetInstance(instance) }
        lockClass.retire(statistics, of: instance)
    }

    /// The serial of the thread holding the lock, 0 when free.
    package var ownerSerial: UInt32 { owner.load(ordering: .relaxed) }

    /// The lock as reports name it.
    package var info: LockInfo { LockInfo(of: lockClass, instance: instance, site: initSite) }

    /// Forgets the owner: the lock is being released for a thread that exited holding it.
    package func forgetOwner() { owner.store(0, ordering: .relaxed) }

    /// Whether `thread` holds the lock.
    @inlinable
    package func isOwned(by thread: ThreadState) -> Bool { owner.load(ordering: .relaxed) == thread.serial }

    // MARK: Acquire

    /// Checks an acquire before the caller waits for the lock, and records it on the thread's held
    /// stack; the caller takes the lock word unless the answer is `.skip`.
    ///
    /// Most acquires teach the validator nothing: a lock used before with this kind of routine at this
    /// IRQL, in a chain of held classes validated before. Those only push the held entry and extend the
    /// chain key, without a call; every other acquire takes ``checkedAcquire(_:on:nesting:queueNode:lockObject:at:)``.
    @inlinable @inline(__always)
    package func willAcquire(
        _ kind: AcquireKind, on thread: ThreadState, nesting: Int = 0, queueNode: UnsafeMutableRawPointer? = nil,
        lockObject: UnsafeMutableRawPointer? = nil, at site: CallSite
    ) -> AcquireAction {
        guard _fastPath(lv_validation_enabled() != 0) else { return .lockUntracked }
        if _fastPath(
            nesting == 0 && holdIfKnown(kind, on: thread, queueNode: queueNode, lockObject: lockObject, at: site))
        {
            return .lock
        }
        return checkedAcquire(
            kind, on: thread, nesting: nesting, queueNode: queueNode, lockObject: lockObject, at: site)
    }

    /// ``willAcquire(_:on:nesting:queueNode:lockObject:at:)`` for an acquire that
    /// ``holdIfKnown(_:on:queueNode:lockObject:at:)`` declined already: straight to every check.
    @inlinable
    package func willAcquireChecked(
        _ kind: AcquireKind, on thread: ThreadState, nesting: Int, lockObject: UnsafeMutableRawPointer?,
        at site: CallSite
    ) -> AcquireAction {
        guard lv_validation_enabled() != 0 else { return .lockUntracked }
        return checkedAcquire(kind, on: thread, nesting: nesting, lockObject: lockObject, at: site)
    }

    /// An acquire (at nesting level 0) that teaches the validator nothing: pushes the held entry, extends
    /// the chain key and returns true; returns false, having changed nothing, when any step of
    /// ``checkedAcquire(_:on:nesting:queueNode:lockObject:at:)`` has work to do, or the checks are off.
    @inlinable @inline(__always)
    package func holdIfKnown(
        _ kind: AcquireKind, on thread: ThreadState, queueNode: UnsafeMutableRawPointer? = nil,
        lockObject: UnsafeMutableRawPointer? = nil, at site: CallSite
    ) -> Bool {
        // The statistics line, which the hold writes after the lock word's CAS (which later loads
        // cannot pass), is asked for now, beside the class's line the checks read: for a lock out of
        // cache, two misses at once instead of one after the other.
        statistics.prefetch()
        let previousChainKey = thread.chainKey
        let isTry = kind == .tryAcquire
        let flags = isTry ? UInt8(LV_HELD_TRY) : 0
        // A try-acquire is held exclusively: its chain element is its class, as the others'.
        let key =
            previousChainKey == 0
            ? lockClass.chainKeyAlone : ChainCache.extend(previousChainKey, with: lockClass.id)
        guard
            _fastPath(
                lv_validation_enabled() != 0 && !isOwned(by: thread) && thread.depth < Int(LV_MAX_HELD)
                    && kindsUsed.load(ordering: .relaxed) & KindFamily.of(kind) != 0 && isKnownUsage(at: thread.irql)
                    && (previousChainKey == 0 || isTry || ChainCache.contains(key)))
        else { return false }
        thread.pushHeldUnchecked(
            instance: instance, classID: lockClass.id, kind: kind.rawValue, flags: flags, nesting: 0,
            queueNode: queueNode, site: site, previousChainKey: previousChainKey, lockObject: lockObject)
        thread.chainKey = key
        return true
    }

    /// Whether this lock's class has been used at `level` before (and this instance, at a device level):
    /// then `noteIRQLUsage` has nothing to record. The overflow class never is: it records nothing.
    @inlinable @inline(__always)
    func isKnownUsage(at level: IRQL) -> Bool {
        // Bit tests (x86 `bt`), not a mask made by a shift.
        let level16 = UInt16(level.rawValue & 15)
        return lockClass.levelsUsed.load(ordering: .relaxed) &>> level16 & 1 != 0 && !lockClass.isOverflow
            && (level <= .dispatch || statistics.read(.deviceLevels) &>> UInt64(level16) & 1 != 0)
    }

    /// An acquire that may teach the validator something, in the steps of lockdep's `__lock_acquire`:
    ///
    /// 1. A thread that already holds the lock would spin forever: `recursive-acquire`, recorded as a
    ///    placeholder entry that the matching release removes.
    /// 2. One kind of routine per lock (`mixed-acquire-kinds`).
    /// 3. Push the held entry and extend the chain key; a chain no thread has validated is validated
    ///    now, before the wait, so that the thread closing a cycle reports it instead of deadlocking.
    /// 4. Note the IRQL the lock is used at.
    ///
    /// - Parameters:
    ///   - nesting: the declared nesting level; level n puts the lock in subclass n.
    ///   - queueNode: the MCS node of a queued acquire, which its release names the acquisition by.
    ///   - lockObject: the lock wrapper, released on the thread's behalf if it exits holding the lock.
    @usableFromInline
    @inline(never)
    package func checkedAcquire(
        _ kind: AcquireKind, on thread: ThreadState, nesting: Int = 0, queueNode: UnsafeMutableRawPointer? = nil,
        lockObject: UnsafeMutableRawPointer? = nil, at site: CallSite
    ) -> AcquireAction {
        if isOwned(by: thread) {
            recursiveAcquire(kind, on: thread, queueNode: queueNode, at: site)
            return .skip
        }
        checkRoutineKind(kind, at: site)
        let flags = kind == .tryAcquire ? UInt8(LV_HELD_TRY) : 0
        guard
            _fastPath(
                hold(
                    kind, flags: flags, nesting: nesting, queueNode: queueNode, lockObject: lockObject, on: thread,
                    at: site))
        else { return .lockUntracked }
        noteIRQLUsage(on: thread, at: site)
        return .lock
    }

    /// Records that the calling thread now owns the lock word: its owner, its acquire statistics, and
    /// the start of the hold's clock.
    @inlinable @inline(__always)
    package func didAcquire(_ action: AcquireAction, on thread: ThreadState, waitCycles: UInt64 = 0) {
        guard _fastPath(lv_validation_enabled() != 0) else { return }
        guard _fastPath(action == .lock) else {
            owner.store(thread.serial, ordering: .relaxed)
            statistics.recordAcquire(waitCycles: waitCycles)
            return
        }
        holdTaken(on: thread, waitCycles: waitCycles)
    }

    /// ``didAcquire(_:on:waitCycles:)`` for a hold on the held stack (`.lock`), the checks known to be on.
    @inlinable @inline(__always)
    package func holdTaken(on thread: ThreadState, waitCycles: UInt64 = 0) {
        owner.store(thread.serial, ordering: .relaxed)
        statistics.recordAcquire(waitCycles: waitCycles)
        stampHoldStart(of: thread.held(thread.depth - 1), on: thread, waited: waitCycles != 0)
    }

    /// Pushes the held entry and extends the chain key; returns false when the stack is full (reported
    /// once per thread).
    package func hold(
        _ kind: AcquireKind, flags: UInt8, nesting: Int = 0, queueNode: UnsafeMutableRawPointer? = nil,
        lockObject: UnsafeMutableRawPointer? = nil, on thread: ThreadState, at site: CallSite
    ) -> Bool {
        let classID = lockClass.nested(nesting).id
        let previousChainKey = thread.chainKey
        let flags = flags | (lockClass.isOverflow ? UInt8(LV_HELD_UNTRACKED) : 0)
        guard
            _fastPath(
                pushHeldEntry(
                    kind, classID: classID, flags: flags, nesting: nesting, previousChainKey: previousChainKey,
                    queueNode: queueNode, lockObject: lockObject, on: thread, at: site))
        else { return false }
        extendChain(from: previousChainKey, classID: classID, flags: flags, on: thread)
        return true
    }

    /// Step 2: reports the first use of a routine kind that clashes with the kinds used before.
    func checkRoutineKind(_ kind: AcquireKind, at site: CallSite) {
        if _slowPath(kindsUsed.load(ordering: .relaxed) & KindFamily.of(kind) == 0) { firstUse(of: kind, at: site) }
    }

    /// Step 3: pushes a held entry; returns false when the stack is full (reported once per thread).
    package func pushHeldEntry(
        _ kind: AcquireKind, classID: UInt32, flags: UInt8, nesting: Int, previousChainKey: UInt64,
        queueNode: UnsafeMutableRawPointer?, lockObject: UnsafeMutableRawPointer?, on thread: ThreadState,
        at site: CallSite
    ) -> Bool {
        // The hold's clock is stamped once the lock is taken (stampHoldStart).
        let entry = thread.pushHeld(
            instance: instance, classID: classID, kind: kind.rawValue, flags: flags,
            nesting: UInt8(truncatingIfNeeded: nesting), queueNode: queueNode, site: site,
            previousChainKey: previousChainKey, lockObject: lockObject)
        if _fastPath(entry != nil) { return true }
        heldStackFull(on: thread, at: site)
        return false
    }

    /// Step 3: extends the thread's chain key by the new entry (lockdep's `iterate_chain_key`) and
    /// validates a chain no thread has validated (`validate_chain`). The first lock of a context has no
    /// order to learn; a try-acquire adds no edge into itself.
    func extendChain(from previousChainKey: UInt64, classID: UInt32, flags: UInt8, on thread: ThreadState) {
        guard _fastPath(!lockClass.isOverflow) else { return }
        let key = ChainCache.extend(previousChainKey, with: ChainCache.element(classID: classID, flags: flags))
        thread.chainKey = key
        if previousChainKey != 0 && flags & UInt8(LV_HELD_TRY) == 0 && !ChainCache.contains(key) {
            LockOrder.validateNewChain(key, on: thread)
        }
    }

    /// Step 4: records a class, and for device levels this instance, held at an IRQL not seen for it
    /// before (lockdep's `mark_lock`).
    @inlinable @inline(__always)
    package func noteIRQLUsage(on thread: ThreadState, at site: CallSite) {
        guard _fastPath(!lockClass.isOverflow) else { return }
        let level = thread.irql
        let bit = UInt16(1) << UInt16(level.rawValue)
        if _slowPath(
            lockClass.levelsUsed.load(ordering: .relaxed) & bit == 0
                || level > .dispatch && statistics.read(.deviceLevels) & UInt64(bit) == 0)
        {
            newIRQLUsage(on: thread, at: site)
        }
    }

    @usableFromInline
    @inline(never)
    func newIRQLUsage(on thread: ThreadState, at site: CallSite) {
        let level = thread.irql
        let bit = UInt16(1) << UInt16(level.rawValue)
        if lockClass.levelsUsed.load(ordering: .relaxed) & bit == 0 {
            IRQLUsage.recordClassUsage(of: lockClass, instance: instance, at: level, site: site, on: thread)
        }
        if level > .dispatch && statistics.read(.deviceLevels) & UInt64(bit) == 0 {
            IRQLUsage.recordInstanceUsage(
                of: lockClass, instance: instance, statistics: statistics, at: level, site: site, on: thread)
        }
    }

    /// Stamps the start of the hold `entry`, after the validator's own bookkeeping. A fresh CPU-time
    /// snapshot is taken first when the thread `waited` for the lock (so that waiting is never counted
    /// as preemption inside the hold), when the class has a suspect site, or when the last is stale:
    /// older than 100 µs, or, for the lock's first hold (the only one reported alone, and only when it
    /// took no page fault), older than a validator slow path, whose page faults are not the hold's.
    ///
    /// The hold begins under the thread's snapshot: nothing is copied here (see `snapshot_own_below`).
    @inlinable @inline(__always)
    package func stampHoldStart(of entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState, waited: Bool) {
        let now = lv_rdtsc()
        let state = thread.pointer
        if _slowPath(
            waited || lockClass.isTraced.load(ordering: .relaxed)
                || now &- state.pointee.snapshot_tsc > lv_snapshot_refresh_cycles()
                || (state.pointee.validator_cycles != state.pointee.snapshot_validator_cycles
                    && statistics.read(.holds) == 0)
        ) {
            return stampAfterRefresh(of: entry, on: thread)  // last, so that it can be a tail call
        }
        entry.pointee.acquired_tsc = now
        entry.pointee.validator_cycles = state.pointee.validator_cycles
    }

    @usableFromInline
    @inline(never)
    func stampAfterRefresh(of entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState) {
        entry.pointee.acquired_tsc = refreshSnapshot(for: entry, on: thread)
        entry.pointee.validator_cycles = thread.pointer.pointee.validator_cycles
    }

    @usableFromInline
    @inline(never)
    package func recursiveAcquire(
        _ kind: AcquireKind, on thread: ThreadState, queueNode: UnsafeMutableRawPointer?, at site: CallSite
    ) {
        let first = thread.indexOfHold(instance: instance).map {
            " (first acquired at \(thread.held($0).pointee.acquiredAt))"
        }
        LockValidator.record(
            .recursiveAcquire,
            summary: "\(thread.info) is trying to acquire \(info), which it already holds\(first ?? "");"
                + " reported instead of waiting for itself forever",
            locks: [info], site: site.site)
        // The placeholder leaves the chain key as it is: it is not a second hold. It keeps the queue node
        // so that the handle that made it releases it, whatever the order.
        _ = pushHeldEntry(
            kind, classID: lockClass.id, flags: UInt8(LV_HELD_RECURSIVE), nesting: 0,
            previousChainKey: thread.chainKey, queueNode: queueNode, lockObject: nil, on: thread, at: site)
    }

    @usableFromInline
    @inline(never)
    func firstUse(of kind: AcquireKind, at site: CallSite) {
        let family = KindFamily.of(kind)
        let before = kindsUsed.bitwiseOr(family, ordering: .relaxed).oldValue
        let clashing = before & KindFamily.spinRoutines & ~family
        guard family & KindFamily.spinRoutines != 0, clashing != 0 else { return }
        LockValidator.record(
            .mixedAcquireKinds,
            summary: "\(info) is acquired with \(KindFamily.name(family)) routines here and with"
                + " \(KindFamily.name(clashing)) routines elsewhere; one KSPIN_LOCK must use one kind",
            locks: [info], site: site.site)
    }

    @usableFromInline
    @inline(never)
    func heldStackFull(on thread: ThreadState, at site: CallSite) {
        // Said once per thread, when it first overflows; later untracked acquires are only counted.
        guard thread.pointer.pointee.overflow == 1 else { return }
        LockValidator.record(
            .capacityExhausted,
            summary: "the held-lock stack of \(thread.info) is full (\(LV_MAX_HELD) entries): \(info) and any"
                + " further lock taken while this many are held go untracked; the locks themselves still work",
            site: site.site)
    }

    /// Reports a routine called above the IRQL it raises to.
    @usableFromInline
    @inline(never)
    package func irqlTooHigh(_ routine: String, at irql: IRQL, limit: IRQL, site: CallSite) {
        LockValidator.record(
            .irqlTooHigh,
            summary: "\(routine) on \(info) called at \(irql); it must be called at or below \(limit)",
            locks: [info], site: site.site)
    }

    /// Reports an `AtDpcLevel` / `FromDpcLevel` routine called below DISPATCH_LEVEL.
    @usableFromInline
    @inline(never)
    package func irqlTooLow(_ routine: String, at irql: IRQL, site: CallSite) {
        LockValidator.record(
            .irqlTooLow,
            summary: "\(routine) on \(info) called at \(irql); it must be called at or above DISPATCH_LEVEL",
            locks: [info], site: site.site)
    }

    // MARK: Release

    /// Checks a release and removes the lock from the calling thread's held stack; the caller then does
    /// what the returned action says.
    ///
    /// - Parameters:
    ///   - oldIRQL: the IRQL the caller restores after the release; nil for a release that keeps it
    ///     (the `FromDpcLevel` routines).
    ///   - queueNode: the node of the handle a queued release names its acquisition by.
    @inlinable @inline(__always)
    package func willRelease(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutableRawPointer? = nil,
        on thread: ThreadState, at site: CallSite
    ) -> ReleaseAction {
        guard _fastPath(lv_validation_enabled() != 0) else {
            return .unlock(kind, queueNode: queueNode, lowerTo: oldIRQL)
        }
        // The hold ends here, before the validator's release bookkeeping.
        let released = lv_rdtsc()
        let depth = thread.depth
        if _fastPath(owner.load(ordering: .relaxed) == thread.serial && depth > 0) {
            let top = thread.held(depth - 1)
            if _fastPath(
                top.pointee.instance == instance
                    && top.pointee.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_DEFERRED_IRQL) == 0
                    && top.pointee.irql == thread.irql.rawValue
                    && (top.pointee.kind == kind.rawValue
                        || KindFamily.of(kind) == KindFamily.of(rawKind: top.pointee.kind))
            ) {
                // Read in place: a popped entry stays put until the next push, and nothing here pushes.
                let queueNode = top.pointee.queue_node
                thread.pop()
                owner.store(0, ordering: .relaxed)
                finishHold(top, snapshotIndex: depth - 1, releasedAt: released, on: thread, at: site)
                return .unlock(kind, queueNode: queueNode, lowerTo: oldIRQL)
            }
        }
        return checkedRelease(
            kind, restoring: oldIRQL, queueNode: queueNode, releasedAt: released, on: thread, at: site)
    }

    /// A release with nothing to check: of the thread's newest hold, made with the routine and queue node
    /// it was acquired with, at its IRQL, within its budget, of a class not traced. Pops it, counts it
    /// and returns true; returns false, having changed nothing, for ``willRelease(_:restoring:queueNode:on:at:)``.
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
        let budget = holdBudgetCycles != 0 ? holdBudgetCycles : lv_hold_budget_cycles()
        guard
            _fastPath(
                top.pointee.instance == instance
                    && top.pointee.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_DEFERRED_IRQL | LV_HELD_TRACED) == 0
                    && top.pointee.irql == thread.irql.rawValue && top.pointee.kind == kind.rawValue
                    && top.pointee.queue_node == queueNode && (budget == 0 || held <= budget))
        else { return false }
        thread.pop()
        owner.store(0, ordering: .relaxed)
        statistics.recordHold(cycles: held)
        return true
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

    @usableFromInline
    @inline(never)
    func checkedRelease(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutableRawPointer?, releasedAt released: UInt64,
        on thread: ThreadState, at callSite: CallSite
    ) -> ReleaseAction {
        let site = callSite.site
        let found = thread.indexOfHeld(instance: instance, queueNode: queueNode)
        // A reported recursive acquire is this thread's own, whoever holds the lock by now.
        if let index = found, thread.held(index).pointee.flags & UInt8(LV_HELD_RECURSIVE) != 0 {
            let entry = thread.held(index).pointee
            thread.remove(at: index)
            return .placeholder(
                queueNode: entry.queue_node,
                lowerTo: irqlAfterRelease(of: entry, at: index, restoring: oldIRQL, on: thread))
        }
        let holder = owner.load(ordering: .relaxed)
        guard holder == thread.serial else {
            if holder == 0 {
                LockValidator.record(
                    .releaseNotHeld,
                    summary: "\(thread.info) is trying to release \(info), which no thread holds"
                        + " (a double release, or one never acquired); the release is ignored",
                    locks: [info], site: site)
            } else {
                LockValidator.record(
                    .releaseWrongThread,
                    summary: "\(thread.info) is trying to release \(info), which thread \(holder) holds;"
                        + " the release is ignored",
                    locks: [info], site: site)
            }
            return .ignore
        }
        guard let index = found else {
            // Owned but untracked: the held stack was full at the acquire.
            owner.store(0, ordering: .relaxed)
            return .unlock(kind, queueNode: queueNode, lowerTo: oldIRQL)
        }
        let entry = thread.heldWithSnapshot(thread.held(index).pointee, at: index)
        let isNewest = index == thread.depth - 1
        let heldKind = AcquireKind(rawValue: entry.kind)!
        if !isNewest {
            let newer = thread.held(thread.depth - 1).pointee
            LockValidator.record(
                .releaseOutOfOrder,
                summary: "\(thread.info) releases \(info) while \(newer.lockInfo), acquired later at"
                    + " \(newer.acquiredAt), is still held",
                locks: [info], site: site)
        }
        if entry.irql != thread.irql.rawValue {
            LockValidator.record(
                .releaseWrongIRQL,
                summary: "\(info) runs at \(IRQL(unchecked: entry.irql)) but is released at \(thread.irql)",
                locks: [info], site: site)
        }
        if KindFamily.of(kind) != KindFamily.of(heldKind) {
            LockValidator.record(
                .mixedAcquireKinds,
                summary: "\(info) was acquired with \(KindFamily.name(KindFamily.of(heldKind))) routines and is"
                    + " released with \(KindFamily.name(KindFamily.of(kind))) routines; it is released as acquired",
                locks: [info], site: site)
        }
        thread.remove(at: index)
        owner.store(0, ordering: .relaxed)
        withUnsafePointer(to: entry) {
            finishHold($0, snapshotIndex: nil, releasedAt: released, on: thread, at: callSite)
        }
        return .unlock(
            heldKind, queueNode: entry.queue_node,
            lowerTo: irqlAfterRelease(of: entry, at: index, restoring: oldIRQL, on: thread))
    }

    /// The IRQL a release may lower to once `entry` (at `index`) is off the held stack: what the caller
    /// restores, or an earlier out-of-order release owed, but never below what the locks still held
    /// run at. A lowering that must wait is carried by the next newer lock, whose release makes it, so
    /// the thread ends where releases in order would have left it.
    func irqlAfterRelease(of entry: lv_held_lock, at index: Int, restoring oldIRQL: IRQL?, on thread: ThreadState)
        -> IRQL?
    {
        let owed = entry.flags & UInt8(LV_HELD_DEFERRED_IRQL) != 0 ? IRQL(unchecked: entry.deferred_irql) : nil
        guard let target = [oldIRQL, owed].compactMap({ $0 }).min() else { return nil }
        let floor = thread.highestHeldIRQL
        if target < floor && index < thread.depth {
            let heir = thread.held(index)
            let carried = heir.pointee.flags & UInt8(LV_HELD_DEFERRED_IRQL) != 0
            heir.pointee.deferred_irql = carried ? min(heir.pointee.deferred_irql, target.rawValue) : target.rawValue
            heir.pointee.flags |= UInt8(LV_HELD_DEFERRED_IRQL)
        }
        return max(target, floor)
    }

    // MARK: Hold time

    /// Ends a hold: counts it and, past the budget, checks how much of it was the thread's own time.
    ///
    /// Runs before the unlock, while the lock is still held, so the counters have one writer.
    ///
    /// - Parameter snapshotIndex: where the entry was on the held stack, for the snapshot its hold began
    ///   under; nil when `entry` is a copy that carries it already (`ThreadState.heldWithSnapshot(_:)`).
    @inlinable @inline(__always)
    func finishHold(
        _ entry: UnsafePointer<lv_held_lock>, snapshotIndex: Int?, releasedAt released: UInt64, on thread: ThreadState,
        at site: CallSite
    ) {
        // The validator's own slow paths during the hold are not the routine's time.
        let held = heldCycles(of: entry, releasedAt: released, on: thread)
        statistics.recordHold(cycles: held)
        let budget = holdBudgetCycles != 0 ? holdBudgetCycles : lv_hold_budget_cycles()
        if _slowPath(budget != 0 && held > budget || entry.pointee.flags & UInt8(LV_HELD_TRACED) != 0) {
            holdEnded(
                entry, snapshotIndex: snapshotIndex, releasedAt: released, heldCycles: held, budgetCycles: budget,
                on: thread, at: site)
        }
    }

    /// A hold that passed its budget, or that began while its class was traced.
    @usableFromInline
    @inline(never)
    func holdEnded(
        _ entry: UnsafePointer<lv_held_lock>, snapshotIndex: Int?, releasedAt released: UInt64, heldCycles held: UInt64,
        budgetCycles budget: UInt64, on thread: ThreadState, at site: CallSite
    ) {
        let entry = snapshotIndex.map { thread.heldWithSnapshot(entry.pointee, at: $0) } ?? entry.pointee
        if budget != 0 && held > budget {
            HoldTiming.passedBudget(
                entry, releasedTSC: released, heldCycles: held, budgetCycles: budget, lockClass: lockClass,
                initSite: initSite, isFirstHold: statistics.read(.holds) == 1, on: thread, releasedAt: site)
        } else {
            HoldTiming.tracedHoldEnded(entry, on: thread)
        }
    }

    /// Takes a fresh (TSC, thread CPU time) snapshot for the hold `entry` begins; returns the TSC at which
    /// the hold now starts. The holds that began under the old snapshot keep it in their entries.
    @usableFromInline
    @inline(never)
    func refreshSnapshot(for entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState) -> UInt64 {
        let isTraced = lockClass.isTraced.load(ordering: .relaxed)
        if isTraced { entry.pointee.flags |= UInt8(LV_HELD_TRACED) }
        let (cpuNanoseconds, faults) = thread.billingValidator {
            if isTraced { HoldTiming.keepAcquireStack(of: instance, on: thread) }
            return (lv_thread_cpu_ns(), lv_thread_page_faults())
        }
        thread.replaceSnapshot(tsc: lv_rdtsc(), cpuNanoseconds: cpuNanoseconds, faults: faults, beginning: entry)
        return lv_rdtsc()
    }

    // MARK: Other events

    /// Reports an error thrown out of a critical section of this lock.
    package func errorThrown(_ error: any Error, at site: CallSite) {
        LockValidator.record(
            .errorWhileHeld,
            summary: "an error (\(type(of: error)): \(error)) was thrown out of a critical section of \(info);"
                + " the lock is released and the error rethrown",
            locks: [info], site: site.site)
    }

    /// Reports a lock deinitialised while held, and forgets it on the calling thread's held stack.
    package func freed(whileLocked isLocked: Bool) {
        let holder = owner.load(ordering: .relaxed)
        let thread = ThreadState.current
        let heldHere = thread.indexOfHeld(instance: instance) != nil
        guard isLocked || holder != 0 || heldHere else { return }
        let by = holder == thread.serial || heldHere ? " by this thread" : holder == 0 ? "" : " by thread \(holder)"
        LockValidator.record(
            .lockFreedWhileHeld, summary: "\(info) is being freed while it is held\(by)", locks: [info],
            site: nil)
        while let index = thread.indexOfHeld(instance: instance) { thread.remove(at: index) }
    }
}

/// What a lock wrapper does after ``LockTracking/willAcquire(_:on:nesting:queueNode:lockObject:at:)``.
@frozen @usableFromInline
package enum AcquireAction: Equatable {
    /// Take the lock word; the acquire is on the held stack.
    case lock
    /// Take the lock word; the acquire is not tracked (checks off, or the held stack full).
    case lockUntracked
    /// The thread holds the lock already (reported): do not take it, it would spin forever.
    case skip
}

/// What a lock wrapper does after ``LockTracking/willRelease(_:restoring:queueNode:on:at:)``.
@frozen @usableFromInline
package enum ReleaseAction {
    /// Unlock as the lock was acquired (`kind`, with `queueNode` for a queued acquire), then lower the
    /// IRQL to `lowerTo` (nil: leave it).
    case unlock(AcquireKind, queueNode: UnsafeMutableRawPointer?, lowerTo: IRQL?)
    /// The release matched a reported recursive acquire (made with `queueNode`): do not unlock; lower
    /// the IRQL to `lowerTo`.
    case placeholder(queueNode: UnsafeMutableRawPointer?, lowerTo: IRQL?)
    /// The release was reported and must not happen: do not unlock, leave the IRQL alone.
    case ignore
}

/// Routine families: ordinary and try-acquires are one family, queued another, interrupt a third.
@usableFromInline
enum KindFamily {
    @inlinable static var ordinary: UInt8 { 1 }
    @inlinable static var queued: UInt8 { 2 }
    @inlinable static var interrupt: UInt8 { 4 }
    @inlinable static var annotated: UInt8 { 8 }
    static var spinRoutines: UInt8 { ordinary | queued }

    @inlinable
    static func of(_ kind: AcquireKind) -> UInt8 { of(rawKind: kind.rawValue) }

    /// The family of an `AcquireKind` raw value, as a held-lock entry stores it.
    @inlinable
    static func of(rawKind: UInt8) -> UInt8 { lv_kind_family(rawKind) }

    static func name(_ family: UInt8) -> String {
        switch family {
        case ordinary: return "ordinary (KeAcquireSpinLock)"
        case queued: return "in-stack queued (KeAcquireInStackQueuedSpinLock)"
        case interrupt: return "interrupt spin lock"
        default: return "annotated"
        }
    }
}

extension ThreadState {
    /// The highest IRQL any held lock runs at, PASSIVE_LEVEL when none is held.
    package var highestHeldIRQL: IRQL {
        IRQL(unchecked: (0..<depth).map { held($0).pointee.irql }.max() ?? 0)
    }
}
