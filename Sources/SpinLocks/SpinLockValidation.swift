import LockValidator

/// The validator's hooks into one spin lock: the only place the `Validation` trait is tested, as
/// swift-nio keeps its platform `#if`s in `LockOperations` and Abseil's `Mutex` calls its debug hooks.
///
/// A lock routine raises the IRQL, calls ``willAcquire(_:nesting:queueNode:of:on:at:)`` (every check
/// that can be made before waiting), takes the lock word unless told to skip it, and calls
/// ``didAcquire(_:on:waitCycles:)``; a release calls ``willRelease(_:restoring:queueNode:on:at:)`` and
/// does what it answers. Without the trait every hook is empty or a constant and compiles away.
@usableFromInline
struct SpinLockValidation: ~Copyable {
    #if Validation
        @usableFromInline let tracking: LockTracking
    #endif

    @usableFromInline
    init(name: String?, holdBudget: Duration?, site: CallSite) {
        #if Validation
            tracking = LockTracking(name: name, holdBudget: holdBudget, site: site)
        #endif
    }

    /// The lock is being deinitialised: a lock still held is reported, and its statistics kept.
    func lockFreed(whileLocked isLocked: Bool) {
        #if Validation
            tracking.freed(whileLocked: isLocked)
            tracking.retire()
        #endif
    }

    /// The instance serial reports use (0 without the trait).
    var instance: UInt64 {
        #if Validation
            return tracking.instance
        #else
            return 0
        #endif
    }

    // MARK: IRQL

    /// The calling thread, for an `AtDpcLevel` / `FromDpcLevel` routine: one that must already run at
    /// DISPATCH_LEVEL or above (`irql-too-low` otherwise). Without the trait the routine needs no thread.
    @inlinable
    func threadAtDpcLevel(_ routine: StaticString, at site: CallSite) -> ThreadState {
        #if Validation
            let thread = ThreadState.current
            if _slowPath(thread.irql < .dispatch) { irqlTooLow(routine, at: thread.irql, site: site) }
            return thread
        #else
            return .unregistered  // unused: compiled away
        #endif
    }

    /// Reports a routine called above the IRQL it raises to (`irql-too-high`); the IRQL is left alone.
    @inlinable
    func irqlTooHigh(_ routine: StaticString, at irql: IRQL, limit: IRQL, site: CallSite) {
        #if Validation
            tracking.irqlTooHigh("\(routine)", at: irql, limit: limit, site: site)
        #endif
    }

    #if Validation
        @usableFromInline
        @inline(never)
        func irqlTooLow(_ routine: StaticString, at irql: IRQL, site: CallSite) {
            tracking.irqlTooLow("\(routine)", at: irql, site: site)
        }
    #endif

    // MARK: Acquire and release

    /// Whether `thread` holds the lock (false without the trait: a try-acquire then simply fails on a
    /// held lock word).
    @inlinable
    func isOwned(by thread: ThreadState) -> Bool {
        #if Validation
            return tracking.isOwned(by: thread)
        #else
            return false
        #endif
    }

    /// Checks an acquire before the lock word is taken; see `LockTracking.willAcquire`.
    @inlinable @inline(__always)
    func willAcquire(
        _ kind: AcquireKind, nesting: Int = 0, queueNode: UnsafeMutablePointer<QueueNode>? = nil, of lock: SpinLock,
        on thread: ThreadState, at site: CallSite
    ) -> AcquireAction {
        #if Validation
            return tracking.willAcquire(
                kind, on: thread, nesting: nesting, queueNode: queueNode.map { UnsafeMutableRawPointer($0) },
                lockObject: Unmanaged.passUnretained(lock).toOpaque(), at: site)
        #else
            return .lock
        #endif
    }

    /// The acquire at nesting level 0 when it teaches the validator nothing: records it and returns true;
    /// returns false, having done nothing, when the routine must take ``willAcquire(_:nesting:queueNode:of:on:at:)``.
    /// Without the trait: true.
    @inlinable @inline(__always)
    func holdIfKnown(_ kind: AcquireKind, of lock: SpinLock, on thread: ThreadState, at site: CallSite) -> Bool {
        #if Validation
            return tracking.holdIfKnown(
                kind, on: thread, lockObject: Unmanaged.passUnretained(lock).toOpaque(), at: site)
        #else
            return true
        #endif
    }

    /// ``willAcquire(_:nesting:queueNode:of:on:at:)`` for an acquire ``holdIfKnown(_:of:on:at:)`` declined:
    /// straight to every check.
    @inlinable
    func willAcquireChecked(
        _ kind: AcquireKind, nesting: Int, of lock: SpinLock, on thread: ThreadState, at site: CallSite
    )
        -> AcquireAction
    {
        #if Validation
            return tracking.willAcquireChecked(
                kind, on: thread, nesting: nesting, lockObject: Unmanaged.passUnretained(lock).toOpaque(), at: site)
        #else
            return .lock
        #endif
    }

    /// Records that the thread owns the lock word now, for an acquire ``holdIfKnown(_:of:on:at:)`` took.
    @inlinable @inline(__always)
    func holdTaken(on thread: ThreadState) {
        #if Validation
            tracking.holdTaken(on: thread)
        #endif
    }

    /// Records that the thread owns the lock word now, after `waitCycles` of spinning.
    @inlinable @inline(__always)
    func didAcquire(_ action: AcquireAction, on thread: ThreadState, waitCycles: UInt64 = 0) {
        #if Validation
            tracking.didAcquire(action, on: thread, waitCycles: waitCycles)
        #endif
    }

    /// The release of the newest hold, as it was acquired, within its budget: records it and returns
    /// true; returns false, having done nothing, when the routine must take
    /// ``willRelease(_:restoring:queueNode:on:at:)``. Without the trait: true.
    @inlinable @inline(__always)
    func releaseIfKnown(_ kind: AcquireKind, queueNode: UnsafeMutablePointer<QueueNode>?, on thread: ThreadState)
        -> Bool
    {
        #if Validation
            return tracking.releaseIfKnown(kind, queueNode: queueNode.map { UnsafeMutableRawPointer($0) }, on: thread)
        #else
            return true
        #endif
    }

    /// Checks a release before the lock word is freed; without the trait: unlock as asked.
    @inlinable @inline(__always)
    func willRelease(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutablePointer<QueueNode>?,
        on thread: ThreadState, at site: CallSite
    ) -> ReleaseAction {
        let node = queueNode.map { UnsafeMutableRawPointer($0) }
        #if Validation
            return tracking.willRelease(kind, restoring: oldIRQL, queueNode: node, on: thread, at: site)
        #else
            return .unlock(kind, queueNode: node, lowerTo: oldIRQL)
        #endif
    }

    // MARK: Other events

    /// Reports an error thrown out of a critical section.
    @usableFromInline
    func errorThrown(_ error: any Error, at site: CallSite) {
        #if Validation
            tracking.errorThrown(error, at: site)
        #endif
    }

    /// Lets the spin watchdog look at a long wait for this lock.
    @usableFromInline
    @inline(never)
    func watchdogCheck(since start: UInt64, at site: CallSite) {
        #if Validation
            SpinWatchdog.check(waitingFor: tracking, since: start, on: .current, at: site)
        #endif
    }

    /// Forgets the owner of a lock released for a thread that exited holding it.
    func forgetOwner() {
        #if Validation
            tracking.forgetOwner()
        #endif
    }
}
