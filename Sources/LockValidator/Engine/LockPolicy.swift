/// What a front end's locks are, for the steps every acquire and release take in ``LockTracking``: the
/// facts lockdep keeps in a lock's class (a sleeping or a spinning wait) and Abseil's `Mutex` hands its
/// debug hooks. How one acquire takes its lock (a try-lock, a read) is an argument of that acquire.
@usableFromInline
package struct LockPolicy: OptionSet, Sendable {
    @usableFromInline package let rawValue: UInt8

    @inlinable
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A spin lock of this package, which takes and frees its own lock word (`SpinLock`): its owner word,
    /// written by the holder, says who holds it; a release the validator reports is not made; locks are
    /// released newest first, at the IRQL they run at, with the kind of routine they were acquired with.
    @usableFromInline package static let spinLock: LockPolicy = []

    /// A lock taken and released outside the validator, which reports it (lockdep's annotations, a
    /// pthread lock): who holds it comes from the thread's held stack (`acquired` is optional, and a
    /// waiting thread never writes the owner), a release is reported but still made, and locks may be
    /// released in any order (hand-over-hand locking).
    @usableFromInline package static let annotated = LockPolicy(rawValue: 1)

    /// Taking it may block the thread (a mutex) instead of spinning: it is `blocking-while-held` where a
    /// thread must not block, has no hold budget, and its held entries are of kind `.annotated`.
    @usableFromInline package static let sleeps = LockPolicy(rawValue: 2)

    /// Its holder may take it again (`NSRecursiveLock`, `PTHREAD_MUTEX_RECURSIVE`): a nested hold, not
    /// `recursive-acquire`.
    @usableFromInline package static let reentrant = LockPolicy(rawValue: 4)

    /// A reader gets it while a writer waits (glibc's default `pthread_rwlock_t`), so a thread may read it
    /// again while reading it: lockdep's recursive read.
    @usableFromInline package static let recursiveReads = LockPolicy(rawValue: 8)
}
