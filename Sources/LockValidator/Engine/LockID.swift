import _LockValidatorShims

/// A lock of another kind — a pthread mutex, a `Synchronization.Mutex`, a lock in C — that tells the
/// validator when it is taken and released (lockdep's `lockdep_map`), so that it joins the same
/// lock-order graph and the same reports as the spin locks.
///
/// Create one per lock instance, where the lock is created, and keep it with the lock:
///
/// ```swift
/// final class Connection {
///     private let mutex = Mutex(State())
///     private let lockID = LockID("Connection.mutex")
///
///     func send() {
///         LockValidator.acquire(lockID)
///         defer { LockValidator.release(lockID) }
///         mutex.withLock { state in state.sent += 1 }
///     }
/// }
/// ```
public struct LockID: Hashable, Sendable, CustomStringConvertible {
    let lock: AnnotatedLock

    /// A new lock instance of class `name` (or of its creation site).
    ///
    /// - Parameter sleeps: whether taking it may block (a mutex: true), as opposed to spinning. A
    ///   sleeping lock taken at DISPATCH_LEVEL or with a spin lock held is `blocking-while-held`, and
    ///   has no hold budget.
    public init(_ name: String? = nil, sleeps: Bool = true, fileID: StaticString = #fileID, line: UInt = #line) {
        lock = AnnotatedLock(name: name, sleeps: sleeps, fileID: fileID, line: line)
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

/// How an annotated lock was taken.
public enum AnnotatedAcquireKind: Sendable {
    /// Waited for (or would have): it orders against the locks held.
    case blocking
    /// A successful try-lock: held, but it never waited, so no lock-order edge leads into it.
    case trylock
}

final class AnnotatedLock: @unchecked Sendable {
    let tracking: LockTracking
    let sleeps: Bool

    init(name: String?, sleeps: Bool, fileID: StaticString, line: UInt) {
        // A sleeping lock has no spin-lock hold budget (a year stands for none).
        tracking = LockTracking(
            name: name, holdBudget: sleeps ? .seconds(365 * 24 * 3600) : nil, fileID: fileID, line: line)
        self.sleeps = sleeps
    }

    deinit {
        tracking.freed(whileLocked: false)
        tracking.retire()
    }

    func kind(_ acquire: AnnotatedAcquireKind) -> AcquireKind {
        sleeps ? .annotated : acquire == .trylock ? .tryAcquire : .ordinary
    }
}

extension LockValidator {
    /// Reports that the calling thread takes `lock` (lockdep's `lock_acquire`): call it just before
    /// taking the real lock, so that an order that can deadlock is reported before it does.
    ///
    /// - Returns: false when the thread already holds `lock`: that is reported as `recursive-acquire`,
    ///   and taking the real lock would deadlock, so don't; still call ``release(_:fileID:line:)``.
    @discardableResult
    public static func acquire(
        _ lock: LockID, kind: AnnotatedAcquireKind = .blocking, fileID: StaticString = #fileID, line: UInt = #line
    ) -> Bool {
        let thread = ThreadState.current
        let acquireKind = lock.lock.kind(kind)
        if lock.sleeps && kind == .blocking && lv_validation_enabled() != 0
            && (thread.irql >= .dispatch || thread.holdsSpinLock)
        {
            let reason = thread.holdsSpinLock ? "with a spin lock held" : "at \(thread.irql)"
            record(
                .blockingWhileHeld, summary: "\(thread.info) takes the sleeping lock \(lock) \(reason)",
                locks: [lock.lock.tracking.info], site: SourceSite(fileID, line))
        }
        guard lock.lock.tracking.willAcquire(acquireKind, on: thread, fileID: fileID, line: line) else { return false }
        lock.lock.tracking.didAcquire(acquireKind, on: thread, fileID: fileID, line: line)
        return true
    }

    /// Reports that the calling thread released `lock` (lockdep's `lock_release`); a release of a lock
    /// it does not hold is reported as such.
    public static func release(_ lock: LockID, fileID: StaticString = #fileID, line: UInt = #line) {
        _ = lock.lock.tracking.willRelease(
            lock.lock.kind(.blocking), on: ThreadState.current, fileID: fileID, line: line)
    }
}
