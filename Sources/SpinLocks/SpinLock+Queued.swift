import LockValidator

extension SpinLock {
    /// Runs `body` holding the lock as an in-stack queued spin lock at DISPATCH_LEVEL, the queue node on
    /// this stack frame; waiters are served first come, first served.
    ///
    /// An error thrown by `body` is an `error-while-held` violation; the lock is released and the
    /// error rethrown.
    @inlinable
    public func withQueuedLock<Result: ~Copyable, Failure: Error>(
        nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeTemporaryAllocation(of: QueueNode.self, capacity: 1) { (buffer) throws(Failure) -> Result in
            let node = buffer.baseAddress!
            node.initialize(to: QueueNode())
            defer { node.deinitialize(count: 1) }
            let thread = ThreadState.current
            let oldIRQL = thread.irql
            raiseForQueued("withQueuedLock()", on: thread, fileID: fileID, line: line)
            lockQueued(node, nesting: nesting, on: thread, fileID: fileID, line: line)
            do throws(Failure) {
                let result = try body()
                releaseQueued(node, oldIRQL: oldIRQL, on: thread, fileID: fileID, line: line)
                return result
            } catch {
                thrownWhileHeld(error, fileID: fileID, line: line)
                releaseQueued(node, oldIRQL: oldIRQL, on: thread, fileID: fileID, line: line)
                throw error
            }
        }
    }

    /// Raises the IRQL to DISPATCH_LEVEL and takes the lock as an in-stack queued spin lock, recording
    /// the node and old IRQL in `handle` (`KeAcquireInStackQueuedSpinLock`).
    ///
    /// - Warning: call at or below DISPATCH_LEVEL, and release with
    ///   ``releaseInStackQueued(_:fileID:line:)`` on the same thread.
    @inlinable
    public func acquireInStackQueued(
        _ handle: inout LockQueueHandle, nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        let thread = ThreadState.current
        handle.oldIRQL = thread.irql
        raiseForQueued("acquireInStackQueued()", on: thread, fileID: fileID, line: line)
        lockQueued(handle.borrowNode(), nesting: nesting, on: thread, fileID: fileID, line: line)
    }

    /// Releases a lock taken with ``acquireInStackQueued(_:nesting:fileID:line:)`` and restores the IRQL
    /// saved in `handle` (`KeReleaseInStackQueuedSpinLock`).
    @inlinable
    public func releaseInStackQueued(
        _ handle: inout LockQueueHandle, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        let finished = unlock(
            .queued, restoring: handle.oldIRQL, queueNode: handle.nodePointer, on: ThreadState.current, fileID: fileID,
            line: line)
        handle.returnNode(ifFinished: finished)
    }

    /// Takes the lock as an in-stack queued spin lock without changing the IRQL, which must already be
    /// DISPATCH_LEVEL or above (`KeAcquireInStackQueuedSpinLockAtDpcLevel`).
    @inlinable
    public func acquireInStackQueuedAtDpcLevel(
        _ handle: inout LockQueueHandle, nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        #if Validation
            let thread = ThreadState.current
        #else
            let thread = ThreadState.unregistered  // unused without validation: compiled away
        #endif
        #if Validation
            if _slowPath(thread.irql < .dispatch) {
                irqlTooLow("acquireInStackQueuedAtDpcLevel()", at: thread.irql, fileID: fileID, line: line)
            }
        #endif
        handle.oldIRQL = thread.irql
        lockQueued(handle.borrowNode(), nesting: nesting, on: thread, fileID: fileID, line: line)
    }

    /// Releases a lock taken with ``acquireInStackQueuedAtDpcLevel(_:nesting:fileID:line:)`` without
    /// changing the IRQL (`KeReleaseInStackQueuedSpinLockFromDpcLevel`).
    @inlinable
    public func releaseInStackQueuedFromDpcLevel(
        _ handle: inout LockQueueHandle, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        #if Validation
            let thread = ThreadState.current
        #else
            let thread = ThreadState.unregistered  // unused without validation: compiled away
        #endif
        #if Validation
            if _slowPath(thread.irql < .dispatch) {
                irqlTooLow("releaseInStackQueuedFromDpcLevel()", at: thread.irql, fileID: fileID, line: line)
            }
        #endif
        let finished = unlock(
            .queued, restoring: nil, queueNode: handle.nodePointer, on: thread, fileID: fileID, line: line)
        handle.returnNode(ifFinished: finished)
    }

    // MARK: Shared by the queued routines

    @inlinable
    func raiseForQueued(_ routine: String, on thread: ThreadState, fileID: StaticString, line: UInt) {
        if _fastPath(thread.irql <= .dispatch) {
            thread.irql = .dispatch
        } else {
            #if Validation
                irqlTooHigh(routine, at: thread.irql, limit: .dispatch, fileID: fileID, line: line)
            #endif
        }
    }

    /// Joins the lock's queue with `node` and records the acquire.
    @inlinable
    func lockQueued(
        _ node: UnsafeMutablePointer<QueueNode>, nesting: Int, on thread: ThreadState, fileID: StaticString,
        line: UInt
    ) {
        #if Validation
            let ticket = tracking.willAcquire(
                .queued, on: thread, nesting: nesting, queueNode: UnsafeMutableRawPointer(node),
                lockObject: Unmanaged.passUnretained(self).toOpaque(), fileID: fileID, line: line)
            guard ticket != .recursive else { return }
        #endif
        var backoff = SpinBackoff(watching: self, fileID: fileID, line: line)
        let waited = raw.lockQueued(node, &backoff)
        backoff.finish(on: thread)
        #if Validation
            tracking.didAcquire(ticket, on: thread, waitCycles: waited)
        #else
            _ = waited
        #endif
    }

    @inlinable
    func releaseQueued(
        _ node: UnsafeMutablePointer<QueueNode>, oldIRQL: IRQL, on thread: ThreadState, fileID: StaticString,
        line: UInt
    ) {
        unlock(.queued, restoring: oldIRQL, queueNode: node, on: thread, fileID: fileID, line: line)
    }
}
