import _LockValidatorShims

/// The validator's side of a ``LockID``: lockdep's `lock_acquire`, `lock_acquired` and `lock_release`
/// for a lock the validator does not own.
///
/// The real lock is taken between ``acquire(_:at:)`` and ``acquired(at:)``, so
/// nothing the validator records there may depend on owning it: whether the thread holds the lock,
/// already or again, comes from the thread's own held stack. The lock's owner word is written only in
/// ``acquired(at:)`` (the lock is held then) and read only to name the holder in a report.
package final class AnnotatedLock: @unchecked Sendable {
    package let tracking: LockTracking
    let sleeps: Bool
    let reentrant: Bool
    let recursiveReads: Bool
    /// The nesting subclass every acquire of this lock uses (lockdep's `lockdep_set_subclass`).
    let nesting: Int

    init(name: String?, sleeps: Bool, reentrant: Bool, recursiveReads: Bool, nesting: Int, site: CallSite) {
        tracking = LockTracking(name: name, holdBudget: Self.holdBudget(sleeps: sleeps), site: site)
        self.sleeps = sleeps
        self.reentrant = reentrant
        self.recursiveReads = recursiveReads
        self.nesting = nesting
    }

    /// A lock of `lockClass` created at `site` (a class the caller keys itself, as LockValidatorPthreads
    /// keys pthread locks by their init code).
    package init(
        of lockClass: LockClass, site: Site?, sleeps: Bool, reentrant: Bool, recursiveReads: Bool, nesting: Int
    ) {
        tracking = LockTracking(of: lockClass, holdBudget: Self.holdBudget(sleeps: sleeps), site: site)
        self.sleeps = sleeps
        self.reentrant = reentrant
        self.recursiveReads = recursiveReads
        self.nesting = nesting
    }

    /// A sleeping lock has no spin-lock hold budget (a year stands for none).
    private static func holdBudget(sleeps: Bool) -> Duration? { sleeps ? .seconds(365 * 24 * 3600) : nil }

    deinit {
        tracking.freed(whileLocked: false)
        tracking.retire()
    }

    /// The kind its held entries carry: a lock that spins counts as a spin lock where that matters
    /// (`blocking-while-held`).
    var entryKind: AcquireKind { sleeps ? .annotated : .ordinary }

    func flags(for kind: AnnotatedAcquireKind) -> UInt8 {
        var flags: UInt8 = kind.isTry ? UInt8(LV_HELD_TRY) : 0
        if kind.isShared { flags |= UInt8(LV_HELD_SHARED) | (recursiveReads ? UInt8(LV_HELD_RECURSIVE_READ) : 0) }
        return flags
    }

    // MARK: lock_acquire

    /// 1. a sleeping lock where the thread must not block; 2. a lock the thread holds already (legal
    /// again only for a try-lock, a reentrant lock, or a recursive read under a read); 3. the held
    /// stack and its chain, validated now, before the caller waits; 4. the IRQL it is used at.
    ///
    /// With `taken`, the caller holds the lock already (it took it without waiting): this is
    /// ``acquired(at:)`` as well, in one call.
    package func acquire(_ kind: AnnotatedAcquireKind, at site: CallSite, taken: Bool = false) -> Bool {
        guard lv_validation_enabled() != 0 else { return true }
        let thread = ThreadState.current
        if sleeps && !kind.isTry && _slowPath(thread.irql >= .dispatch || thread.depth > 0 && thread.holdsSpinLock) {
            reportBlocking(on: thread, at: site)
        }
        if _slowPath(thread.depth > 0), let index = thread.indexOfHold(instance: tracking.instance) {
            let heldShared = thread.held(index).pointee.flags & UInt8(LV_HELD_SHARED) != 0
            // A try-lock that succeeded on a lock this thread holds shows the lock allows it.
            guard kind.isTry || reentrant || (kind.isShared && heldShared && recursiveReads) else {
                tracking.recursiveAcquire(entryKind, on: thread, queueNode: nil, at: site)
                return false
            }
            _ = tracking.pushHeldEntry(
                entryKind, classID: tracking.lockClass.id, flags: flags(for: kind) | UInt8(LV_HELD_NESTED), nesting: 0,
                previousChainKey: thread.chainKey, queueNode: nil, lockObject: nil, on: thread, at: site)
            return true
        }
        guard tracking.hold(entryKind, flags: flags(for: kind), nesting: nesting, on: thread, at: site) else {
            // Untracked (reported once per thread): its release must not look like one of a lock not held.
            thread.pointer.pointee.untracked_annotated &+= 1
            return true
        }
        // A sleeping lock is used at PASSIVE_LEVEL (anywhere else is blocking-while-held): once noted, done.
        if !sleeps || thread.irql != .passive || tracking.lockClass.levelsUsed.load(ordering: .relaxed) & 1 == 0 {
            tracking.noteIRQLUsage(on: thread, at: site)
        }
        if taken { startHold(thread.held(thread.depth - 1), on: thread, waited: false) }
        return true
    }

    @inline(never)
    private func reportBlocking(on thread: ThreadState, at site: CallSite) {
        let reason = thread.holdsSpinLock ? "with a spin lock held" : "at \(thread.irql)"
        LockValidator.record(
            .blockingWhileHeld, summary: "\(thread.info) takes the sleeping lock \(tracking.info) \(reason)",
            locks: [tracking.info], site: site.site)
    }

    // MARK: lock_acquired

    /// The real lock is held: an exclusive hold records its owner and starts its clock.
    package func acquired(at site: CallSite) {
        guard lv_validation_enabled() != 0 else { return }
        let thread = ThreadState.current
        let depth = thread.depth
        // Usually the newest entry: nothing is taken between the acquire and its lock.
        let newest = depth > 0 && thread.held(depth - 1).pointee.instance == tracking.instance ? depth - 1 : nil
        guard let index = newest ?? thread.indexOfHold(instance: tracking.instance) else { return }
        let entry = thread.held(index)
        guard entry.pointee.acquired_tsc == 0 else { return }
        // Whether the real lock made the thread wait is unknown here: assume it did.
        startHold(entry, on: thread, waited: true)
    }

    /// An exclusive hold (not one nested in a hold of its own) records its owner and starts its clock.
    @inline(__always)
    private func startHold(_ entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState, waited: Bool) {
        guard entry.pointee.flags & UInt8(LV_HELD_NESTED | LV_HELD_SHARED | LV_HELD_RECURSIVE) == 0 else { return }
        tracking.owner.store(thread.serial, ordering: .relaxed)
        if sleeps {
            // No hold budget: the hold is only counted (lock_stat), and needs no CPU-time snapshot.
            entry.pointee.acquired_tsc = lv_rdtsc()
            entry.pointee.validator_cycles = thread.pointer.pointee.validator_cycles
        } else {
            tracking.stampHoldStart(of: entry, on: thread, waited: waited)
        }
    }

    // MARK: lock_release

    /// Removes the newest hold from the thread's held stack (in any order: a sleeping lock may be
    /// released out of order, as in hand-over-hand locking), counts it, and checks its hold time.
    ///
    /// - Returns: false when the release matches a reported recursive acquire, which did not take the
    ///   real lock: the real lock must not be released for it either.
    @discardableResult
    package func release(at site: CallSite) -> Bool {
        guard lv_validation_enabled() != 0 else { return true }
        let thread = ThreadState.current
        let released = lv_rdtsc()
        guard let index = thread.indexOfHeld(instance: tracking.instance) else {
            if thread.pointer.pointee.untracked_annotated > 0 {
                thread.pointer.pointee.untracked_annotated -= 1  // the release of a hold taken while the stack was full
            } else {
                notHeld(on: thread, at: site)
            }
            return true
        }
        let entry = thread.heldWithSnapshot(thread.held(index).pointee, at: index)
        if index == thread.depth - 1 {
            thread.pop()
        } else {
            thread.remove(at: index)  // not only the newest: a mutex may be released out of order
        }
        guard entry.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_NESTED) == 0 else {
            return entry.flags & UInt8(LV_HELD_RECURSIVE) == 0
        }
        if entry.flags & UInt8(LV_HELD_SHARED) != 0 {
            // Readers hold it together: their counters need atomic updates.
            tracking.statistics.addAtomically(1, to: .acquisitions)
            return true
        }
        if tracking.owner.load(ordering: .relaxed) == thread.serial { tracking.owner.store(0, ordering: .relaxed) }
        tracking.statistics.recordAcquire(waitCycles: 0)
        if entry.acquired_tsc == 0 { return true }
        if sleeps {
            let validatorTime = thread.pointer.pointee.validator_cycles &- entry.validator_cycles
            let held = released &- entry.acquired_tsc
            tracking.statistics.recordHold(cycles: held &- min(validatorTime, held))
        } else {
            withUnsafePointer(to: entry) {
                tracking.finishHold($0, snapshotIndex: nil, releasedAt: released, on: thread, at: site)
            }
        }
        return true
    }

    /// Forgets the newest hold of this lock on the calling thread: an acquire that
    /// ``acquire(_:at:)`` recorded did not take the lock after all (a timed wait that timed out, a lock
    /// that refused a recursive acquire with an error).
    package func acquireFailed() {
        guard lv_validation_enabled() != 0 else { return }
        let thread = ThreadState.current
        guard let index = thread.indexOfHeld(instance: tracking.instance) else {
            if thread.pointer.pointee.untracked_annotated > 0 { thread.pointer.pointee.untracked_annotated -= 1 }
            return
        }
        thread.remove(at: index)
    }

    private func notHeld(on thread: ThreadState, at site: CallSite) {
        let holder = tracking.owner.load(ordering: .relaxed)
        let info = tracking.info
        if holder != 0 && holder != thread.serial {
            LockValidator.record(
                .releaseWrongThread,
                summary: "\(thread.info) is trying to release \(info), which thread \(holder) holds", locks: [info],
                site: site.site)
        } else {
            LockValidator.record(
                .releaseNotHeld,
                summary: "\(thread.info) is trying to release \(info), which it does not hold (a double release,"
                    + " one never acquired, or one acquired on another thread)",
                locks: [info], site: site.site)
        }
    }
}
