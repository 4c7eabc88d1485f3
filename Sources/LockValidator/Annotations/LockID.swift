/// A lock of another kind — a pthread mutex or reader–writer lock, `NSLock`, `Synchronization.Mutex`,
/// a lock in C — that tells the validator when it is taken and released (lockdep's `lockdep_map`),
/// so that it joins the same lock-order graph and the same reports as the spin locks.
///
/// Create one per lock instance, where the lock is created, and keep it with the lock. Then call
/// ``LockValidator/acquire(_:kind:fileID:line:)`` just before taking the lock,
/// ``LockValidator/acquired(_:fileID:line:)`` once it is held, and
/// ``LockValidator/release(_:fileID:line:)`` just before releasing it:
///
/// ```swift
/// final class Connection {
///     private let lock = NSLock()
///     private let lockID = LockID("Connection.lock")
///
///     func send() {
///         LockValidator.acquire(lockID)      // before waiting: a bad order is reported, not deadlocked on
///         lock.lock()
///         LockValidator.acquired(lockID)     // held: the hold's clock starts, the owner is known
///         defer {
///             LockValidator.release(lockID)  // still held: the counters have one writer
///             lock.unlock()
///         }
///         // ...
///     }
/// }
/// ```
///
/// The validator learns who holds the lock from each thread's own held-lock stack (as lockdep's
/// `held_lock`), never from a shared word, so threads contending for the lock cannot confuse it.
public struct LockID: Hashable, Sendable, CustomStringConvertible {
    let lock: AnnotatedLock

    /// A new lock instance of class `name` (or of its creation site).
    ///
    /// - Parameters:
    ///   - name: the lock class; nil to key the class by the creation site.
    ///   - nesting: the nesting subclass (0...7) every acquire of this lock uses, for a lock taken inside
    ///     another lock of its class by design (a child under its parent), as lockdep's
    ///     `lockdep_set_subclass`; 0 for none.
    ///   - sleeps: whether taking it may block (a mutex: true), as opposed to spinning. A sleeping lock
    ///     taken at DISPATCH_LEVEL or with a spin lock held is `blocking-while-held`, and has no hold
    ///     budget.
    ///   - reentrant: whether its holder may take it again (`NSRecursiveLock`, a
    ///     `PTHREAD_MUTEX_RECURSIVE` mutex): a second acquire by the holder is then a nested hold, not
    ///     `recursive-acquire`.
    ///   - recursiveReads: for a reader–writer lock, whether a reader gets the lock while a writer
    ///     waits, as glibc's default `pthread_rwlock_t` (readers preferred) does: then a thread may read
    ///     it again while reading it, and a reader waits only for a writer. False for a lock that queues
    ///     readers behind waiting writers (`PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`), where a
    ///     second read by the same thread can deadlock. lockdep's recursive and non-recursive read
    ///     locks.
    ///   - fileID: the caller's file, for reports; leave the default.
    ///   - line: the caller's line, for reports; leave the default.
    public init(
        _ name: String? = nil, nesting: Int = 0, sleeps: Bool = true, reentrant: Bool = false,
        recursiveReads: Bool = true, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        precondition((0...7).contains(nesting), "nesting level \(nesting) is outside 0...7")
        lock = AnnotatedLock(
            name: name, sleeps: sleeps, reentrant: reentrant, recursiveReads: recursiveReads, nesting: nesting,
            site: CallSite(fileID, line))
    }

    /// The lock class name.
    public var name: String { lock.tracking.lockClass.name }
    /// The instance serial reports use.
    public var instance: UInt64 { lock.tracking.instance }
    /// Whether taking it may block.
    public var sleeps: Bool { lock.sleeps }

    public var description: String { lock.tracking.info.description }

    public static func == (lhs: LockID, rhs: LockID) -> Bool { lhs.lock === rhs.lock }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(lock)) }
}
