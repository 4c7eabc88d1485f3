import Synchronization
import _LockValidatorShims

/// The validator's state for one lock instance, and the checks every acquire and release go through.
///
/// A lock wrapper keeps one of these and calls ``willAcquire(_:on:fileID:line:)`` before it spins,
/// ``didAcquire(_:on:queueNode:fileID:line:)`` once it owns the lock, and
/// ``willRelease(_:on:fileID:line:)`` before it unlocks, doing what the returned ``ReleaseAction``
/// says. The per-thread held-lock stack lives in C `__thread` storage; the owner is kept here so that
/// a recursive acquire is caught with one load, before spinning.
@usableFromInline
package struct LockTracking: ~Copyable {
    /// The lock's class.
    @usableFromInline package let lockClass: LockClass
    /// The instance serial.
    @usableFromInline package let instance: UInt64
    /// Where the instance was created.
    @usableFromInline package let initSite: SourceSite
    /// The serial of the owning thread, 0 when free.
    @usableFromInline let owner = Atomic<UInt32>(0)
    /// `KindFamily` bits of every kind of routine used on the lock so far.
    @usableFromInline let kindsUsed = Atomic<UInt8>(0)
    /// This instance's lock_stat counters.
    @usableFromInline let statistics: LockStatisticsBlock
    /// This lock's hold budget in TSC cycles; 0 follows the configuration's.
    @usableFromInline let holdBudgetCycles: UInt64

    /// - Parameter holdBudget: this lock's own hold budget; nil for the configuration's.
    package init(name: String?, holdBudget: Duration? = nil, fileID: StaticString, line: UInt) {
        let site = SourceSite(fileID, line)
        self.lockClass = LockClass.named(name, site: site)
        self.instance = LockInstance.next()
        self.initSite = site
        statistics = .allocate()
        lockClass.register(statistics)
        holdBudgetCycles = holdBudget.map { TSCClock.cycles(nanoseconds: max($0.nanoseconds, 1)) } ?? 0
    }

    /// Folds this instance's statistics into its class; call from the lock's deinit.
    package func retire() { lockClass.retire(statistics) }

    /// The serial of the thread holding the lock, 0 when free.
    package var ownerSerial: UInt32 { owner.load(ordering: .relaxed) }

    /// The lock as reports name it.
    package var info: LockInfo { LockInfo(name: lockClass.name, site: initSite, instance: instance) }

    /// Whether some thread holds the lock, as far as the validator knows.
    package var isHeld: Bool { owner.load(ordering: .relaxed) != 0 }

    /// Whether `thread` holds the lock.
    @inlinable
    package func isOwned(by thread: ThreadState) -> Bool { owner.load(ordering: .relaxed) == thread.serial }

    // MARK: Acquire

    /// Checks an acquire before the caller spins; returns false when the caller must not spin.
    ///
    /// A thread that already holds the lock would spin forever: the acquire is reported as
    /// `recursive-acquire` and recorded as a placeholder entry that the matching release removes, so
    /// the program goes on with the lock still held once.
    @inlinable
    package func willAcquire(_ kind: AcquireKind, on thread: ThreadState, fileID: StaticString, line: UInt) -> Bool {
        guard _fastPath(lv_validation_enabled() != 0) else { return true }
        if _slowPath(owner.load(ordering: .relaxed) == thread.serial) {
            recursiveAcquire(kind, on: thread, fileID: fileID, line: line)
            return false
        }
        let family = KindFamily.of(kind)
        if _slowPath(kindsUsed.load(ordering: .relaxed) & family == 0) {
            firstUse(of: kind, on: thread, fileID: fileID, line: line)
        }
        return true
    }

    /// Records that the calling thread now owns the lock, at the thread's current IRQL.
    ///
    /// The hot path: push on the held stack, extend the chain key, and probe the chain cache; only a
    /// chain no thread has validated, or a class held at an IRQL not seen for it, takes a slow path.
    ///
    /// - Parameter nesting: the declared nesting level; level n puts the lock in subclass n.
    @inlinable
    package func didAcquire(
        _ kind: AcquireKind, on thread: ThreadState, queueNode: UnsafeMutableRawPointer? = nil, nesting: Int = 0,
        waitCycles: UInt64 = 0, fileID: StaticString, line: UInt
    ) {
        guard _fastPath(lv_validation_enabled() != 0) else { return }
        owner.store(thread.serial, ordering: .relaxed)
        statistics.recordAcquire(waitCycles: waitCycles)
        let effectiveClass = lockClass.nested(nesting)
        let below = thread.chainKey
        let isTry = kind == .tryAcquire
        let flags = (isTry ? UInt8(LV_HELD_TRY) : 0) | (lockClass.isOverflow ? UInt8(LV_HELD_UNTRACKED) : 0)
        let pushed = push(
            kind, classID: effectiveClass.id, flags: flags, nesting: nesting, chainKey: below, on: thread,
            queueNode: queueNode, fileID: fileID, line: line)
        if _fastPath(pushed && !lockClass.isOverflow) {
            let key = ChainCache.extend(below, with: effectiveClass.id)
            thread.chainKey = key
            // A chain of one lock has no order to learn; a try-acquire adds no edge into itself.
            if thread.depth > 1 && !isTry && !ChainCache.contains(key) {
                Dependencies.validateNewChain(key, on: thread)
            }
        }
        let level = thread.irql
        if _slowPath(
            lockClass.levelsUsed.load(ordering: .relaxed) & (1 << UInt16(level.rawValue)) == 0 && !lockClass.isOverflow)
        {
            Dependencies.recordUsage(
                of: lockClass, instance: instance, at: level, fileID: fileID, line: line, on: thread)
        }
        guard _fastPath(pushed) else { return }
        // The hold starts now, after the validator's own bookkeeping. A stale CPU-time snapshot (or a
        // traced class) takes a fresh one first.
        var now = lv_rdtsc()
        let isTraced = lockClass.isTraced.load(ordering: .relaxed)
        if _slowPath(isTraced || now &- thread.pointer.pointee.snapshot_tsc > lv_snapshot_refresh_cycles()) {
            now = refreshSnapshot(on: thread, keepingStack: isTraced)
        }
        let entry = thread.held(thread.depth - 1)
        entry.pointee.acquired_tsc = now
        entry.pointee.snapshot_tsc = thread.pointer.pointee.snapshot_tsc
        entry.pointee.snapshot_cpu_ns = thread.pointer.pointee.snapshot_cpu_ns
        entry.pointee.validator_cycles = thread.pointer.pointee.validator_cycles
    }

    /// Pushes a held entry; returns false when the stack is full (reported once per thread).
    @inlinable
    func push(
        _ kind: AcquireKind, classID: UInt32, flags: UInt8, nesting: Int, chainKey: UInt64, on thread: ThreadState,
        queueNode: UnsafeMutableRawPointer?, fileID: StaticString, line: UInt
    ) -> Bool {
        // The timing fields are filled once the acquire's bookkeeping is done (see didAcquire).
        let entry = lv_held_lock(
            instance: instance, lock_class: classID, kind: kind.rawValue, irql: thread.irql.rawValue,
            flags: flags, nesting: UInt8(truncatingIfNeeded: nesting), acquired_tsc: 0,
            queue_node: queueNode, file: UnsafeRawPointer(fileID.utf8Start).assumingMemoryBound(to: CChar.self),
            line: UInt32(truncatingIfNeeded: line), reserved: 0, chain_key: chainKey, snapshot_tsc: 0,
            snapshot_cpu_ns: 0, validator_cycles: 0)
        if _fastPath(thread.push(entry)) { return true }
        heldStackFull(on: thread, fileID: fileID, line: line)
        return false
    }

    @usableFromInline
    @inline(never)
    func recursiveAcquire(_ kind: AcquireKind, on thread: ThreadState, fileID: StaticString, line: UInt) {
        let site = SourceSite(fileID, line)
        let first = thread.indexOfHeld(instance: instance).map { index -> String in
            let entry = thread.held(index).pointee
            return " (first acquired at \(String(cString: entry.file)):\(entry.line))"
        }
        LockValidator.record(
            .recursiveAcquire,
            summary: "\(thread.info) is trying to acquire \(info), which it already holds\(first ?? "");"
                + " reported instead of spinning forever",
            locks: [info], site: site)
        // The placeholder leaves the chain key as it is: it is not a second hold.
        _ = push(
            kind, classID: lockClass.id, flags: UInt8(LV_HELD_RECURSIVE), nesting: 0, chainKey: thread.chainKey,
            on: thread, queueNode: nil, fileID: fileID, line: line)
    }

    @usableFromInline
    @inline(never)
    func firstUse(of kind: AcquireKind, on thread: ThreadState, fileID: StaticString, line: UInt) {
        let family = KindFamily.of(kind)
        let before = kindsUsed.bitwiseOr(family, ordering: .relaxed).oldValue
        let clashing = before & KindFamily.spinRoutines & ~family
        guard family & KindFamily.spinRoutines != 0, clashing != 0 else { return }
        LockValidator.record(
            .mixedAcquireKinds,
            summary: "\(info) is acquired with \(KindFamily.name(family)) routines here and with"
                + " \(KindFamily.name(clashing)) routines elsewhere; one KSPIN_LOCK must use one kind",
            locks: [info], site: SourceSite(fileID, line))
    }

    @usableFromInline
    @inline(never)
    func heldStackFull(on thread: ThreadState, fileID: StaticString, line: UInt) {
        // Said once per thread, when it first overflows; later untracked acquires are only counted.
        guard thread.pointer.pointee.overflow == 1 else { return }
        LockValidator.record(
            .capacityExhausted,
            summary: "the held-lock stack of \(thread.info) is full (\(LV_MAX_HELD) entries): \(info) and any"
                + " further lock taken while this many are held go untracked; the locks themselves still work",
            site: SourceSite(fileID, line), severity: .warning)
    }

    // MARK: Release

    /// Checks a release and removes the lock from the calling thread's held stack; the caller then does
    /// what the returned action says.
    @inlinable
    package func willRelease(_ kind: AcquireKind, on thread: ThreadState, fileID: StaticString, line: UInt)
        -> ReleaseAction
    {
        guard _fastPath(lv_validation_enabled() != 0) else { return .unlock(kind, queueNode: nil, floor: .passive) }
        // The hold ends here, before the validator's release bookkeeping.
        let released = lv_rdtsc()
        let depth = thread.depth
        if _fastPath(owner.load(ordering: .relaxed) == thread.serial && depth > 0) {
            let top = thread.held(depth - 1)
            if _fastPath(
                top.pointee.instance == instance && top.pointee.flags & UInt8(LV_HELD_RECURSIVE) == 0
                    && top.pointee.irql == thread.irql.rawValue
                    && KindFamily.of(kind) == KindFamily.of(rawKind: top.pointee.kind))
            {
                let entry = top.pointee
                thread.pop()
                owner.store(0, ordering: .relaxed)
                finishHold(entry, releasedAt: released, on: thread, fileID: fileID, line: line)
                return .unlock(kind, queueNode: entry.queue_node, floor: .passive)
            }
        }
        return checkedRelease(kind, releasedAt: released, on: thread, fileID: fileID, line: line)
    }

    @usableFromInline
    @inline(never)
    func checkedRelease(
        _ kind: AcquireKind, releasedAt released: UInt64, on thread: ThreadState, fileID: StaticString, line: UInt
    ) -> ReleaseAction {
        let site = SourceSite(fileID, line)
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
        guard let index = thread.indexOfHeld(instance: instance) else {
            // Owned but untracked: the held stack was full at the acquire.
            owner.store(0, ordering: .relaxed)
            return .unlock(kind, queueNode: nil, floor: .passive)
        }
        let entry = thread.held(index).pointee
        if entry.flags & UInt8(LV_HELD_RECURSIVE) != 0 {
            thread.remove(at: index)
            return .placeholder
        }
        let heldKind = AcquireKind(rawValue: entry.kind)!
        let isNewest = index == thread.depth - 1
        if !isNewest {
            let newer = thread.held(thread.depth - 1).pointee
            let newerName = LockClass.withID(newer.lock_class)?.name ?? "?"
            LockValidator.record(
                .releaseOutOfOrder,
                summary: "\(thread.info) releases \(info) while \"\(newerName)\" #\(newer.instance), acquired"
                    + " later at \(String(cString: newer.file)):\(newer.line), is still held",
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
        finishHold(entry, releasedAt: released, on: thread, fileID: fileID, line: line)
        // An out-of-order release must not drop the IRQL below what the locks still held run at.
        let floor = isNewest ? IRQL.passive : thread.highestHeldIRQL
        return .unlock(heldKind, queueNode: entry.queue_node, floor: floor)
    }

    // MARK: Hold time

    /// Ends a hold: counts it and, past the budget, checks how much of it was the thread's own time.
    ///
    /// Runs before the unlock, while the lock is still held, so the counters have one writer.
    @inlinable
    func finishHold(
        _ entry: lv_held_lock, releasedAt released: UInt64, on thread: ThreadState, fileID: StaticString, line: UInt
    ) {
        // The validator's own slow paths during the hold are not the routine's time.
        let validatorTime = thread.pointer.pointee.validator_cycles &- entry.validator_cycles
        let held = (released &- entry.acquired_tsc) &- min(validatorTime, released &- entry.acquired_tsc)
        statistics.recordHold(cycles: held)
        let budget = holdBudgetCycles != 0 ? holdBudgetCycles : lv_hold_budget_cycles()
        if _slowPath(budget != 0 && held > budget) {
            HoldTiming.passedBudget(
                entry, releasedTSC: released, heldCycles: held, budgetCycles: budget, lockClass: lockClass,
                initSite: initSite, statistics: statistics, on: thread, fileID: fileID, line: line)
        } else if _slowPath(lockClass.isTraced.load(ordering: .relaxed)) {
            HoldTiming.forgetAcquireStack(of: entry.instance, on: thread)
        }
    }

    /// Takes a fresh (TSC, thread CPU time) snapshot; returns the TSC at which the hold now starts.
    @usableFromInline
    @inline(never)
    func refreshSnapshot(on thread: ThreadState, keepingStack: Bool) -> UInt64 {
        let state = thread.pointer
        thread.billingValidator {
            if keepingStack { HoldTiming.keepAcquireStack(of: instance, on: thread) }
            state.pointee.snapshot_cpu_ns = lv_thread_cpu_ns()
        }
        state.pointee.snapshot_tsc = lv_rdtsc()
        return lv_rdtsc()
    }

    // MARK: Other events

    /// Reports an error thrown out of a critical section of this lock.
    package func errorThrown(_ error: any Error, fileID: StaticString, line: UInt) {
        LockValidator.record(
            .errorWhileHeld,
            summary: "an error (\(type(of: error)): \(error)) was thrown out of a critical section of \(info);"
                + " the lock is released and the error rethrown",
            locks: [info], site: SourceSite(fileID, line))
    }

    /// Reports a lock deinitialised while held, and forgets it on the calling thread's held stack.
    package func freed(whileLocked isLocked: Bool) {
        let holder = owner.load(ordering: .relaxed)
        guard isLocked || holder != 0 else { return }
        let thread = ThreadState.current
        let by = holder == 0 ? "" : holder == thread.serial ? " by this thread" : " by thread \(holder)"
        LockValidator.record(
            .lockFreedWhileHeld, summary: "\(info) is being freed while it is held\(by)", locks: [info],
            site: nil)
        while let index = thread.indexOfHeld(instance: instance) { thread.remove(at: index) }
    }
}

/// What a lock wrapper does after ``LockTracking/willRelease(_:on:fileID:line:)``.
@frozen @usableFromInline
package enum ReleaseAction {
    /// Unlock as the lock was acquired (`kind`, with `queueNode` for a queued acquire), then lower the
    /// IRQL no further than `floor`.
    case unlock(AcquireKind, queueNode: UnsafeMutableRawPointer?, floor: IRQL)
    /// The release matched a reported recursive acquire: do not unlock; restore the IRQL as usual.
    case placeholder
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
    static func of(rawKind: UInt8) -> UInt8 {
        switch rawKind {
        case AcquireKind.ordinary.rawValue, AcquireKind.tryAcquire.rawValue: return ordinary
        case AcquireKind.queued.rawValue: return queued
        case AcquireKind.interrupt.rawValue: return interrupt
        default: return annotated
        }
    }

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
