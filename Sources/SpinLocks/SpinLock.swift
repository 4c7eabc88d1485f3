import LockValidator

/// An instrumented executive spin lock (`KSPIN_LOCK`), acquired either as an ordinary spin lock or as
/// an in-stack queued spin lock.
///
/// Acquiring raises the calling thread's IRQL to DISPATCH_LEVEL, so DPCs wait until the lock is
/// released; the `AtDpcLevel` forms are for code already at DISPATCH_LEVEL or above. With the
/// `Validation` trait on, every call is checked: recursion, release by a non-owner, release out of
/// order or at the wrong IRQL, calls at the wrong IRQL, and mixing ordinary with queued routines are
/// reported as violations, and the program goes on safely.
///
/// The lock class is the name when given, else the init site, as lockdep keys its classes: many
/// instances created at one place share a class.
///
/// ```swift
/// let lock = SpinLock("DeviceExtension.lock")
/// lock.withLock { extension.count += 1 }
/// ```
///
/// - Warning: a spin lock is for short critical sections that never block; hold it for microseconds.
public final class SpinLock: @unchecked Sendable {
    @usableFromInline let raw = RawSpinLock()
    @usableFromInline let validation: SpinLockValidation

    /// The lock class name: the name given at init, else `Module/File.swift:line` of the init site.
    public let name: String

    /// Creates a free lock (`KeInitializeSpinLock`).
    ///
    /// - Parameters:
    ///   - name: the lock class; omit it to key the class by the init site.
    ///   - holdBudget: how long this lock may be held; nil for the configuration's budget (25 µs by
    ///     default, `LOCKVALIDATOR_HOLD_BUDGET_US`).
    ///   - fileID: the caller's file, for reports; leave the default.
    ///   - line: the caller's line, for reports; leave the default.
    public init(
        _ name: String? = nil, holdBudget: Duration? = nil, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        self.name = name ?? "\(fileID):\(line)"
        validation = SpinLockValidation(name: name, holdBudget: holdBudget, site: CallSite(fileID, line))
    }

    deinit { validation.lockFreed(whileLocked: raw.isLocked) }

    /// The instance serial number reports use, unique for the life of the process (0 without the
    /// `Validation` trait).
    public var instance: UInt64 { validation.instance }

    /// Whether the lock is held (or waited for) by any thread right now; for diagnostics only.
    public var isLocked: Bool { raw.isLocked }

    // MARK: Scoped

    /// Runs `body` holding the lock at DISPATCH_LEVEL, then restores the IRQL.
    ///
    /// An error thrown by `body` is an `error-while-held` violation; the lock is released and the
    /// error rethrown.
    ///
    /// - Parameter nesting: the nesting level (0...7) when this lock is taken inside another lock of
    ///   its own class on purpose (lockdep's `spin_lock_nested`); each level is its own node in the
    ///   lock-order graph.
    /// - Parameter fileID: the caller's file, for reports; leave the default.
    /// - Parameter line: the caller's line, for reports; leave the default.
    /// - Parameter body: the critical section.
    @inlinable
    @discardableResult  // the result is the closure's: `lock.withLock { usleep(10) }` is no warning
    public func withLock<Result: ~Copyable, Failure: Error>(
        nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let site = CallSite(fileID, line)
        let thread = ThreadState.current
        let oldIRQL = raiseIRQL(to: .dispatch, on: thread, for: "withLock()", at: site)
        lock(.ordinary, nesting: nesting, on: thread, at: site)
        return try runHeld(body, at: site) {
            unlock(.ordinary, restoring: oldIRQL, on: thread, at: site)
        }
    }

    // MARK: Ordinary

    /// Raises the IRQL to DISPATCH_LEVEL, spins until the lock is free, takes it, and returns the IRQL
    /// to pass to ``release(_:fileID:line:)`` (`KeAcquireSpinLock`).
    ///
    /// - Warning: call at or below DISPATCH_LEVEL; above it, `irql-too-high` is reported and the IRQL
    ///   is left where it is.
    ///
    /// - Parameter nesting: the nesting level (0...7) when this lock is taken inside another lock of
    ///   its own class on purpose.
    /// - Parameter fileID: the caller's file, for reports; leave the default.
    /// - Parameter line: the caller's line, for reports; leave the default.
    @inlinable
    public func acquire(nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line) -> IRQL {
        let site = CallSite(fileID, line)
        let thread = ThreadState.current
        let oldIRQL = raiseIRQL(to: .dispatch, on: thread, for: "acquire()", at: site)
        lock(.ordinary, nesting: nesting, on: thread, at: site)
        return oldIRQL
    }

    /// Releases the lock and lowers the IRQL to `oldIRQL`, the value ``acquire(nesting:fileID:line:)``
    /// returned (`KeReleaseSpinLock`); interrupts and DPCs pended meanwhile run then.
    @inlinable @inline(__always)
    public func release(_ oldIRQL: IRQL, fileID: StaticString = #fileID, line: UInt = #line) {
        unlock(.ordinary, restoring: oldIRQL, on: ThreadState.current, at: CallSite(fileID, line))
    }

    /// Takes the lock without changing the IRQL, which must already be DISPATCH_LEVEL or above
    /// (`KeAcquireSpinLockAtDpcLevel`).
    @inlinable
    public func acquireAtDpcLevel(nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line) {
        let site = CallSite(fileID, line)
        let thread = validation.threadAtDpcLevel("acquireAtDpcLevel()", at: site)
        lock(.ordinary, nesting: nesting, on: thread, at: site)
    }

    /// Releases a lock taken with ``acquireAtDpcLevel(nesting:fileID:line:)`` without changing the IRQL
    /// (`KeReleaseSpinLockFromDpcLevel`).
    @inlinable @inline(__always)
    public func releaseFromDpcLevel(fileID: StaticString = #fileID, line: UInt = #line) {
        let site = CallSite(fileID, line)
        let thread = validation.threadAtDpcLevel("releaseFromDpcLevel()", at: site)
        unlock(.ordinary, restoring: nil, on: thread, at: site)
    }

    /// Takes the lock if it is free, without spinning (`KeTryToAcquireSpinLockAtDpcLevel`).
    ///
    /// As in lockdep, a successful try-acquire is held like any other, and a try-acquire of a lock the
    /// thread already holds simply fails. Only a successful one is validated: it never waited.
    @inlinable
    public func tryAcquireAtDpcLevel(fileID: StaticString = #fileID, line: UInt = #line) -> Bool {
        let site = CallSite(fileID, line)
        let thread = validation.threadAtDpcLevel("tryAcquireAtDpcLevel()", at: site)
        return SpinLockValidation.tryLock(of: self, on: thread, at: site)
    }

    // MARK: Shared by every routine

    /// Raises the calling thread's IRQL to `level` and returns the old one; above `level` already,
    /// reports `irql-too-high` and leaves it.
    @inlinable
    func raiseIRQL(to level: IRQL, on thread: ThreadState, for routine: StaticString, at site: CallSite) -> IRQL {
        let oldIRQL = thread.irql
        if _fastPath(oldIRQL <= level) {
            thread.irql = level
        } else {
            validation.irqlTooHigh(routine, at: oldIRQL, limit: level, site: site)
        }
        return oldIRQL
    }

    /// Takes the lock with a routine of `kind`: the lock operation, checked (`SpinLockValidation`).
    ///
    /// The routines call the operations through these two methods, not directly: so laid out, the
    /// compiler keeps `lock` out of line with the lock as its `self`, and inlines `unlock` into the
    /// routines and their callers, as the instruction counts of `Benchmarks/instructions.sh` want.
    @inlinable
    func lock(_ kind: AcquireKind, nesting: Int = 0, on thread: ThreadState, at site: CallSite) {
        SpinLockValidation.lock(kind, nesting: nesting, of: self, on: thread, at: site)
    }

    /// Releases the lock, taken with a routine of `kind` (with `queueNode` for a queued one), and lowers the
    /// IRQL to `oldIRQL` (nil: leaves it): the release operation, checked (`SpinLockValidation`).
    ///
    /// - Returns: the queue node the release finished with (the acquisition's own, which a handle may
    ///   take back), or nil when the release was not made (not held, or held by another thread).
    @inlinable @inline(__always) @discardableResult
    func unlock(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutablePointer<QueueNode>? = nil,
        on thread: ThreadState, at site: CallSite
    ) -> UnsafeMutableRawPointer? {
        SpinLockValidation.unlock(kind, restoring: oldIRQL, queueNode: queueNode, of: self, on: thread, at: site)
    }

    /// Spins until the lock is free and takes it; returns the TSC cycles spent.
    @usableFromInline
    @inline(never)
    func spin(on thread: ThreadState, at site: CallSite) -> UInt64 {
        var backoff = SpinBackoff(watching: self, at: site)
        let waited = raw.lockContended(&backoff)
        backoff.finish(on: thread)
        return waited
    }

    /// Takes the lock as an in-stack queued lock with `node`, waiting in line; returns the TSC cycles spent
    /// waiting, 0 when it was free.
    @inlinable
    func takeQueued(_ node: UnsafeMutablePointer<QueueNode>, on thread: ThreadState, at site: CallSite) -> UInt64 {
        var backoff = SpinBackoff(watching: self, at: site)
        let waited = raw.lockQueued(node, &backoff)
        backoff.finish(on: thread)
        return waited
    }

    /// Lowers the IRQL to `target` after a release (nil: leaves it); a requested level above the
    /// current one is `irql-lower-invalid` and changes nothing.
    @inlinable
    func restoreIRQL(_ target: IRQL?, requested: IRQL?, on thread: ThreadState, at site: CallSite) {
        guard let target else { return }
        if let requested, _slowPath(requested > thread.irql) {
            IRQL.lower(to: requested, at: site)  // reports irql-lower-invalid
            return
        }
        thread.lowerIRQL(to: min(target, thread.irql))
    }

    /// Runs the critical section `body`, then `release`; an error thrown out of it is reported first.
    @inlinable
    func runHeld<Result: ~Copyable, Failure: Error>(
        _ body: () throws(Failure) -> Result, at site: CallSite, then release: () -> Void
    ) throws(Failure) -> Result {
        do throws(Failure) {
            let result = try body()
            release()
            return result
        } catch {
            validation.errorThrown(error, at: site)
            release()
            throw error
        }
    }
}

extension SpinLock: AbandonableLock {
    /// Releases the lock for a thread that exited holding it (the validator reported that first).
    package func releaseAbandoned(_ kind: AcquireKind, queueNode: UnsafeMutableRawPointer?) {
        validation.forgetOwner()
        if kind == .queued, let queueNode {
            raw.unlockQueued(queueNode.assumingMemoryBound(to: QueueNode.self))
        } else {
            raw.unlock()
        }
    }
}
