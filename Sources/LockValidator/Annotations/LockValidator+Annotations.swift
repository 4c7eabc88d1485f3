extension LockValidator {
    /// Reports that the calling thread is about to take `lock` (lockdep's `lock_acquire`).
    ///
    /// When to call what:
    /// - **A mutex** (`pthread_mutex_t`, `NSLock`, `Mutex`): `acquire(id)` just before locking, so that
    ///   a lock order that can deadlock is reported before it does; ``acquired(_:fileID:line:)`` once
    ///   the lock is held; ``release(_:fileID:line:)`` just before unlocking.
    /// - **A try-lock**: only when it succeeded, `acquire(id, kind: .trylock)` after it; it never waited,
    ///   so no lock-order edge leads into it (locks taken under it still order after it).
    /// - **A reader–writer lock**: the write side as a mutex (`.blocking`, `.trylock`); the read side
    ///   with `.shared` (or `.sharedTrylock` after a successful `tryrdlock`), then `acquired` and
    ///   `release` as for a mutex. lockdep's read rules apply: readers do not exclude each other, a
    ///   recursive reader waits only for a writer (see ``LockID/init(_:nesting:sleeps:reentrant:recursiveReads:fileID:line:)``),
    ///   and a cycle is reported only when every lock on it can really block the next.
    ///
    /// - Returns: false when the thread already holds `lock` and taking it again deadlocks: that is
    ///   reported as `recursive-acquire`; don't take the real lock, but still call
    ///   ``release(_:fileID:line:)``.
    @discardableResult
    public static func acquire(
        _ lock: LockID, kind: AnnotatedAcquireKind = .blocking, fileID: StaticString = #fileID, line: UInt = #line
    ) -> Bool {
        lock.lock.acquire(kind, at: CallSite(fileID, line))
    }

    /// Reports that the calling thread now holds `lock`, after ``acquire(_:kind:fileID:line:)`` and the
    /// real lock (lockdep's `lock_acquired`). Optional: it starts the hold's clock (for a lock that
    /// spins, without it the hold is not timed) and records the owner, so that a release by another
    /// thread is reported as `release-wrong-thread`.
    public static func acquired(_ lock: LockID, fileID: StaticString = #fileID, line: UInt = #line) {
        lock.lock.acquired(at: CallSite(fileID, line))
    }

    /// Reports that the calling thread is releasing `lock` (lockdep's `lock_release`): call it just
    /// before unlocking, while the lock is still held. A release of a lock the thread does not hold is
    /// reported; annotated locks may be released in any order.
    public static func release(_ lock: LockID, fileID: StaticString = #fileID, line: UInt = #line) {
        lock.lock.release(at: CallSite(fileID, line))
    }
}
