import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A mutex that joins the validator: its acquires and releases go into the same lock-order graph as
/// the spin locks, and taking it where a thread must not block (at DISPATCH_LEVEL, or with a spin lock
/// held) is a `blocking-while-held` violation.
///
/// ```swift
/// let registry = ValidatedMutex("Registry", [String: Int]())
/// registry.withLock { $0["a"] = 1 }
/// ```
///
/// It is a `pthread_mutex_t` (with the interface of `Synchronization.Mutex`), so that ThreadSanitizer
/// sees its synchronization too: it cannot see `Synchronization.Mutex`'s on Linux.
///
/// - Warning: a thread that takes it again while holding it is reported as `recursive-acquire` and
///   then stopped with a fatal error: a mutex cannot be taken twice, and the alternative is a hang.
public final class ValidatedMutex<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value
    /// The lock's identity in the validator.
    public let lockID: LockID

    /// A mutex holding `value`, of lock class `name` (or of its creation site), taken at nesting level
    /// `nesting` (0...7: as `LockID(_:nesting:)`, for a mutex taken inside another of its class by design).
    public init(
        _ name: String? = nil, _ value: consuming sending Value, nesting: Int = 0, fileID: StaticString = #fileID,
        line: UInt = #line
    ) {
        self.value = value
        mutex = .allocate(capacity: 1)
        // It annotates itself: LockValidatorPthreads passes its pthread calls through.
        lv_enter_validator()
        let result = pthread_mutex_init(mutex, nil)
        lv_leave_validator()
        precondition(result == 0, "pthread_mutex_init failed with error \(result)")
        lockID = LockID(name, nesting: nesting, sleeps: true, fileID: fileID, line: line)
    }

    deinit {
        lv_enter_validator()
        pthread_mutex_destroy(mutex)
        lv_leave_validator()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex, with the value to read and change.
    ///
    /// The order is checked before waiting for the mutex (a cycle is reported, not deadlocked on), the
    /// hold recorded once the mutex is held, and the release recorded while it still is.
    @discardableResult  // the result is the closure's: `lock.withLock { usleep(10) }` is no warning
    public func withLock<Result: ~Copyable, Failure: Error>(
        fileID: StaticString = #fileID, line: UInt = #line,
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        guard LockValidator.acquire(lockID, fileID: fileID, line: line) else {
            fatalError(
                "ValidatedMutex \(lockID) taken again by the thread that holds it, at \(fileID):\(line): this deadlocks"
            )
        }
        lv_enter_validator()
        pthread_mutex_lock(mutex)
        lv_leave_validator()
        LockValidator.acquired(lockID, fileID: fileID, line: line)
        defer {
            LockValidator.release(lockID, fileID: fileID, line: line)
            lv_enter_validator()
            pthread_mutex_unlock(mutex)
            lv_leave_validator()
        }
        return try body(&value)
    }
}
