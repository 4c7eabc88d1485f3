import _LockValidatorShims

/// The validator's side of a ``LockID``, `ValidatedMutex` or pthread lock: a front end of
/// ``LockTracking`` for a lock the validator does not take itself, with lockdep's `lock_acquire`,
/// `lock_acquired` and `lock_release`.
///
/// The real lock is taken between ``acquire(_:at:taken:)`` and ``acquired(at:waitCycles:)``, outside the validator:
/// its policy (``LockPolicy/annotated``) makes the thread's own held stack say whether it holds the lock,
/// already or again, and the owner word is written only in ``acquired(at:waitCycles:)`` (the lock is held then).
package final class AnnotatedLock: @unchecked Sendable {
    package let tracking: LockTracking
    /// The nesting subclass every acquire of this lock uses (lockdep's `lockdep_set_subclass`).
    let nesting: Int

    init(name: String?, sleeps: Bool, reentrant: Bool, recursiveReads: Bool, nesting: Int, site: CallSite) {
        let policy = Self.policy(sleeps: sleeps, reentrant: reentrant, recursiveReads: recursiveReads)
        tracking = LockTracking(name: name, policy: policy, site: site)
        self.nesting = nesting
    }

    /// A lock of `lockClass` created at `site` (a class the caller keys itself, as LockValidatorPthreads
    /// keys pthread locks by their init code).
    package init(
        of lockClass: LockClass, site: Site?, sleeps: Bool, reentrant: Bool, recursiveReads: Bool, nesting: Int
    ) {
        let policy = Self.policy(sleeps: sleeps, reentrant: reentrant, recursiveReads: recursiveReads)
        tracking = LockTracking(of: lockClass, policy: policy, site: site)
        self.nesting = nesting
    }

    /// An annotated lock's policy (LockValidatorPthreads keeps its tracking state without an `AnnotatedLock`).
    package static func policy(sleeps: Bool, reentrant: Bool, recursiveReads: Bool) -> LockPolicy {
        var policy = LockPolicy.annotated
        if sleeps { policy.insert(.sleeps) }
        if reentrant { policy.insert(.reentrant) }
        if recursiveReads { policy.insert(.recursiveReads) }
        return policy
    }

    deinit {
        tracking.freed(whileLocked: false)
        tracking.retire()
    }

    /// Whether taking it may block.
    var sleeps: Bool { tracking.sleeps }

    /// lockdep's `lock_acquire`, before the caller waits for the lock (for a try-lock, once it succeeded).
    /// With `taken`, the caller holds the lock already (it took it without waiting): this is
    /// ``acquired(at:waitCycles:)`` as well, in one call.
    ///
    /// - Returns: false for a reported recursive acquire: the real lock must not be taken (it would wait
    ///   for itself), and its release, still to come, must not release it.
    package func acquire(_ kind: AnnotatedAcquireKind, at site: CallSite, taken: Bool = false) -> Bool {
        tracking.annotatedAcquire(kind, nesting: nesting, at: site, taken: taken)
    }

    /// lockdep's `lock_acquired`: the real lock is held.
    ///
    /// - Parameter waitCycles: how long the caller waited for another holder, in TSC cycles, when it knows
    ///   (lockdep's `lock_contended`): not 0 counts a contention and its wait in lock_stat.
    package func acquired(at site: CallSite, waitCycles: UInt64 = 0) {
        tracking.annotatedAcquired(at: site, waitCycles: waitCycles)
    }

    /// lockdep's `lock_release`, before the caller unlocks: removes the thread's newest hold (in any
    /// order: a sleeping lock may be released out of order, as in hand-over-hand locking), counts it,
    /// and checks its hold time. A release of a lock the thread does not hold is reported.
    ///
    /// - Returns: false when the release matches a reported recursive acquire, which did not take the
    ///   real lock: the real lock must not be released for it either.
    @discardableResult
    package func release(at site: CallSite) -> Bool { tracking.annotatedRelease(at: site) }

    /// Forgets the newest hold of this lock on the calling thread: an acquire that
    /// ``acquire(_:at:taken:)`` recorded did not take the lock after all (a timed wait that timed out, a
    /// lock that refused a recursive acquire with an error).
    package func acquireFailed() { tracking.annotatedAcquireFailed() }
}
