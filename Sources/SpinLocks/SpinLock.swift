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

    #if Validation
        @usableFromInline let tracking: LockTracking
    #endif

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
        #if Validation
            tracking = LockTracking(name: name, holdBudget: holdBudget, fileID: fileID, line: line)
        #endif
    }

    deinit {
        #if Validation
            tracking.freed(whileLocked: raw.isLocked)
            tracking.retire()
        #endif
    }

    /// The instance serial number reports use, unique for the life of the process (0 without the
    /// `Validation` trait).
    public var instance: UInt64 {
        #if Validation
            return tracking.instance
        #else
            return 0
        #endif
    }

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
    public func withLock<Result: ~Copyable, Failure: Error>(
        nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let oldIRQL = acquire(nesting: nesting, fileID: fileID, line: line)
        do throws(Failure) {
            let result = try body()
            release(oldIRQL, fileID: fileID, line: line)
            return result
        } catch {
            thrownWhileHeld(error, fileID: fileID, line: line)
            release(oldIRQL, fileID: fileID, line: line)
            throw error
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
        let thread = ThreadState.current
        let oldIRQL = thread.irql
        if _fastPath(oldIRQL <= .dispatch) {
            thread.irql = .dispatch
        } else {
            #if Validation
                irqlTooHigh("acquire()", at: oldIRQL, limit: .dispatch, fileID: fileID, line: line)
            #endif
        }
        lockOrdinary(.ordinary, nesting: nesting, on: thread, fileID: fileID, line: line)
        return oldIRQL
    }

    /// Releases the lock and lowers the IRQL to `oldIRQL`, the value ``acquire(nesting:fileID:line:)``
    /// returned (`KeReleaseSpinLock`); interrupts and DPCs pended meanwhile run then.
    @inlinable
    public func release(_ oldIRQL: IRQL, fileID: StaticString = #fileID, line: UInt = #line) {
        unlock(.ordinary, restoring: oldIRQL, queueNode: nil, on: ThreadState.current, fileID: fileID, line: line)
    }

    /// Takes the lock without changing the IRQL, which must already be DISPATCH_LEVEL or above
    /// (`KeAcquireSpinLockAtDpcLevel`).
    @inlinable
    public func acquireAtDpcLevel(nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line) {
        #if Validation
            let thread = ThreadState.current
        #else
            let thread = ThreadState.unregistered  // unused without validation: compiled away
        #endif
        #if Validation
            if _slowPath(thread.irql < .dispatch) {
                irqlTooLow("acquireAtDpcLevel()", at: thread.irql, fileID: fileID, line: line)
            }
        #endif
        lockOrdinary(.ordinary, nesting: nesting, on: thread, fileID: fileID, line: line)
    }

    /// Releases a lock taken with ``acquireAtDpcLevel(nesting:fileID:line:)`` without changing the IRQL
    /// (`KeReleaseSpinLockFromDpcLevel`).
    @inlinable
    public func releaseFromDpcLevel(fileID: StaticString = #fileID, line: UInt = #line) {
        #if Validation
            let thread = ThreadState.current
        #else
            let thread = ThreadState.unregistered  // unused without validation: compiled away
        #endif
        #if Validation
            if _slowPath(thread.irql < .dispatch) {
                irqlTooLow("releaseFromDpcLevel()", at: thread.irql, fileID: fileID, line: line)
            }
        #endif
        unlock(.ordinary, restoring: nil, queueNode: nil, on: thread, fileID: fileID, line: line)
    }

    /// Takes the lock if it is free, without spinning (`KeTryToAcquireSpinLockAtDpcLevel`).
    ///
    /// As in lockdep, a successful try-acquire is held like any other, and a try-acquire of a lock the
    /// thread already holds simply fails.
    @inlinable
    public func tryAcquireAtDpcLevel(fileID: StaticString = #fileID, line: UInt = #line) -> Bool {
        #if Validation
            let thread = ThreadState.current
        #else
            let thread = ThreadState.unregistered  // unused without validation: compiled away
        #endif
        #if Validation
            if _slowPath(thread.irql < .dispatch) {
                irqlTooLow("tryAcquireAtDpcLevel()", at: thread.irql, fileID: fileID, line: line)
            }
            if tracking.isOwned(by: thread) { return false }
        #endif
        guard raw.tryLock() else { return false }
        #if Validation
            let ticket = tracking.willAcquire(
                .tryAcquire, on: thread, lockObject: Unmanaged.passUnretained(self).toOpaque(), fileID: fileID,
                line: line)
            tracking.didAcquire(ticket, on: thread)
        #endif
        return true
    }

    // MARK: Shared by every routine

    /// Checks the acquire, spins for the lock word in the ordinary way, and records the hold.
    @inlinable
    func lockOrdinary(
        _ kind: AcquireKind, nesting: Int = 0, on thread: ThreadState, fileID: StaticString, line: UInt
    ) {
        #if Validation
            let ticket = tracking.willAcquire(
                kind, on: thread, nesting: nesting, lockObject: Unmanaged.passUnretained(self).toOpaque(),
                fileID: fileID, line: line)
            guard ticket != .recursive else { return }
        #endif
        // The spin, its pacing and its watchdog exist only on the contended path.
        let waited = _fastPath(raw.lockIfFree()) ? 0 : spin(on: thread, fileID: fileID, line: line)
        #if Validation
            tracking.didAcquire(ticket, on: thread, waitCycles: waited)
        #else
            _ = waited
        #endif
    }

    /// Spins until the lock is free and takes it; returns the TSC cycles spent.
    @usableFromInline
    @inline(never)
    func spin(on thread: ThreadState, fileID: StaticString, line: UInt) -> UInt64 {
        var backoff = SpinBackoff(watching: self, fileID: fileID, line: line)
        let waited = raw.lockContended(&backoff)
        backoff.finish(on: thread)
        return waited
    }

    /// Checks the release, unlocks as the lock was acquired, and lowers the IRQL.
    ///
    /// - Parameter oldIRQL: the IRQL to restore; nil for the `FromDpcLevel` routines, which keep it.
    /// - Returns: the queue node the release finished with (the acquisition's own, which a handle may
    ///   take back), or nil when the release was ignored (not held, or held by another thread).
    @inlinable
    @discardableResult
    func unlock(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutablePointer<QueueNode>?,
        on thread: ThreadState, fileID: StaticString, line: UInt
    ) -> UnsafeMutableRawPointer? {
        #if Validation
            switch tracking.willRelease(
                kind, restoring: oldIRQL, queueNode: queueNode.map { UnsafeMutableRawPointer($0) }, on: thread,
                fileID: fileID, line: line)
            {
            case .unlock(let heldKind, let heldNode, let lowerTo):
                if heldKind == .queued {
                    raw.unlockQueued(heldNode?.assumingMemoryBound(to: QueueNode.self) ?? queueNode!)
                } else {
                    raw.unlock()
                }
                restoreIRQL(lowerTo, requested: oldIRQL, on: thread, fileID: fileID, line: line)
                return heldNode
            case .placeholder(let node, let lowerTo):
                restoreIRQL(lowerTo, requested: oldIRQL, on: thread, fileID: fileID, line: line)
                return node
            case .ignore:
                return nil
            }
        #else
            if let queueNode { raw.unlockQueued(queueNode) } else { raw.unlock() }
            if let oldIRQL { thread.lowerIRQL(to: oldIRQL) }
            return queueNode.map { UnsafeMutableRawPointer($0) }
        #endif
    }

    /// Lowers the IRQL to `target` after a release (nil: leaves it); a requested level above the
    /// current one is `irql-lower-invalid` and changes nothing.
    @inlinable
    func restoreIRQL(_ target: IRQL?, requested: IRQL?, on thread: ThreadState, fileID: StaticString, line: UInt) {
        guard let target else { return }
        if let requested, _slowPath(requested > thread.irql) {
            IRQL.lower(to: requested, fileID: fileID, line: line)  // reports irql-lower-invalid
            return
        }
        thread.lowerIRQL(to: min(target, thread.irql))
    }

    @usableFromInline
    func thrownWhileHeld(_ error: any Error, fileID: StaticString, line: UInt) {
        #if Validation
            tracking.errorThrown(error, fileID: fileID, line: line)
        #endif
    }

    #if Validation
        /// Releases the lock for a thread that exited holding it (the validator reported that first).
        package func releaseAbandoned(_ kind: AcquireKind, queueNode: UnsafeMutableRawPointer?) {
            tracking.forgetOwner()
            if kind == .queued, let queueNode {
                raw.unlockQueued(queueNode.assumingMemoryBound(to: QueueNode.self))
            } else {
                raw.unlock()
            }
        }

        /// Reports a long spin on this lock to the spin watchdog.
        @usableFromInline
        @inline(never)
        func watchdogCheck(since start: UInt64, fileID: StaticString, line: UInt) {
            SpinWatchdog.check(waitingFor: tracking, since: start, on: .current, fileID: fileID, line: line)
        }

        @usableFromInline
        @inline(never)
        func irqlTooHigh(_ routine: String, at irql: IRQL, limit: IRQL, fileID: StaticString, line: UInt) {
            LockValidator.record(
                .irqlTooHigh,
                summary: "\(routine) on \(tracking.info) called at \(irql); it must be called at or below \(limit)",
                locks: [tracking.info], site: SourceSite(fileID, line))
        }

        @usableFromInline
        @inline(never)
        func irqlTooLow(_ routine: String, at irql: IRQL, fileID: StaticString, line: UInt) {
            LockValidator.record(
                .irqlTooLow,
                summary: "\(routine) on \(tracking.info) called at \(irql); it must be called at or above"
                    + " DISPATCH_LEVEL",
                locks: [tracking.info], site: SourceSite(fileID, line))
        }
    #endif
}

#if Validation
    extension SpinLock: AbandonableLock {}
#endif
