import LockValidator
import Synchronization

/// A `Synchronization.Mutex` that joins the validator: its acquires and releases go into the same
/// lock-order graph as the spin locks, and taking it where a thread must not block (at
/// DISPATCH_LEVEL, or with a spin lock held) is a `blocking-while-held` violation.
///
/// ```swift
/// let registry = ValidatedMutex("Registry", [String: Int]())
/// registry.withLock { $0["a"] = 1 }
/// ```
///
/// - Warning: a thread that takes it again while holding it is reported as `recursive-acquire` and
///   then stopped with a fatal error: a mutex cannot be taken twice, and the alternative is a hang.
public final class ValidatedMutex<Value: ~Copyable>: Sendable {
    private let mutex: Mutex<Value>
    /// The lock's identity in the validator.
    public let lockID: LockID

    /// A mutex holding `value`, of lock class `name` (or of its creation site).
    public init(
        _ name: String? = nil, _ value: consuming sending Value, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        mutex = Mutex(value)
        lockID = LockID(name, sleeps: true, fileID: fileID, line: line)
    }

    /// Runs `body` holding the mutex, with the value to read and change.
    ///
    /// The order is checked before waiting for the mutex (a cycle is reported, not deadlocked on), the
    /// hold recorded once the mutex is held, and the release recorded while it still is.
    public func withLock<Result: ~Copyable, Failure: Error>(
        fileID: StaticString = #fileID, line: UInt = #line,
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        guard LockValidator.acquire(lockID, fileID: fileID, line: line) else {
            fatalError(
                "ValidatedMutex \(lockID) taken again by the thread that holds it, at \(fileID):\(line): this deadlocks"
            )
        }
        return try mutex.withLock { (value: inout sending Value) throws(Failure) -> sending Result in
            LockValidator.acquired(lockID, fileID: fileID, line: line)
            defer { LockValidator.release(lockID, fileID: fileID, line: line) }
            return try body(&value)
        }
    }
}
