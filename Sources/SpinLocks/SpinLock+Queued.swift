import LockValidator

extension SpinLock {
    /// Runs `body` holding the lock as an in-stack queued spin lock at DISPATCH_LEVEL, the queue node on
    /// this stack frame; waiters are served first come, first served.
    ///
    /// An error thrown by `body` is an `error-while-held` violation; the lock is released and the
    /// error rethrown.
    @inlinable
    @discardableResult  // the result is the closure's: `lock.withLock { usleep(10) }` is no warning
    public func withQueuedLock<Result: ~Copyable, Failure: Error>(
        nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withUnsafeTemporaryAllocation(of: QueueNode.self, capacity: 1) { (buffer) throws(Failure) -> Result in
            let node = buffer.baseAddress!
            node.initialize(to: QueueNode())
            defer { node.deinitialize(count: 1) }
            let site = CallSite(fileID, line)
            let thread = ThreadState.current
            let oldIRQL = raiseIRQL(to: .dispatch, on: thread, for: "withQueuedLock()", at: site)
            lockQueued(node, nesting: nesting, on: thread, at: site)
            return try runHeld(body, at: site) {
                unlock(.queued, restoring: oldIRQL, queueNode: node, on: thread, at: site)
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
        let site = CallSite(fileID, line)
        let thread = ThreadState.current
        handle.oldIRQL = raiseIRQL(to: .dispatch, on: thread, for: "acquireInStackQueued()", at: site)
        lockQueued(handle.borrowNode(), nesting: nesting, on: thread, at: site)
    }

    /// Releases a lock taken with ``acquireInStackQueued(_:nesting:fileID:line:)`` and restores the IRQL
    /// saved in `handle` (`KeReleaseInStackQueuedSpinLock`).
    @inlinable
    public func releaseInStackQueued(
        _ handle: inout LockQueueHandle, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        let site = CallSite(fileID, line)
        let finished = unlock(
            .queued, restoring: handle.oldIRQL, queueNode: handle.nodePointer, on: ThreadState.current, at: site)
        handle.returnNode(ifFinished: finished)
    }

    /// Takes the lock as an in-stack queued spin lock without changing the IRQL, which must already be
    /// DISPATCH_LEVEL or above (`KeAcquireInStackQueuedSpinLockAtDpcLevel`).
    @inlinable
    public func acquireInStackQueuedAtDpcLevel(
        _ handle: inout LockQueueHandle, nesting: Int = 0, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        let site = CallSite(fileID, line)
        let thread = validation.threadAtDpcLevel("acquireInStackQueuedAtDpcLevel()", at: site)
        handle.oldIRQL = thread.irql
        lockQueued(handle.borrowNode(), nesting: nesting, on: thread, at: site)
    }

    /// Releases a lock taken with ``acquireInStackQueuedAtDpcLevel(_:nesting:fileID:line:)`` without
    /// changing the IRQL (`KeReleaseInStackQueuedSpinLockFromDpcLevel`).
    @inlinable
    public func releaseInStackQueuedFromDpcLevel(
        _ handle: inout LockQueueHandle, fileID: StaticString = #fileID, line: UInt = #line
    ) {
        let site = CallSite(fileID, line)
        let thread = validation.threadAtDpcLevel("releaseInStackQueuedFromDpcLevel()", at: site)
        let finished = unlock(.queued, restoring: nil, queueNode: handle.nodePointer, on: thread, at: site)
        handle.returnNode(ifFinished: finished)
    }

    /// Joins the lock's queue with `node` and waits for its turn: the queued lock operation, checked
    /// (`SpinLockValidation`).
    @inlinable
    func lockQueued(_ node: UnsafeMutablePointer<QueueNode>, nesting: Int, on thread: ThreadState, at site: CallSite) {
        SpinLockValidation.lockQueued(node, nesting: nesting, of: self, on: thread, at: site)
    }
}
