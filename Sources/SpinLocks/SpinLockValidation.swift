import LockValidator
import _LockValidatorShims

/// The spin lock's operations with the validator in them, one function per lock operation (take, try,
/// take queued, release; the IRQL checks, a spin's yield, an error thrown while held), each with the
/// `Validation` trait's `#if` inside, as swift-nio's `LockOperations` keeps its platform `#if`s: the only
/// place in SpinLocks the trait is tested. With the trait, an operation runs lockdep's steps
/// (``LockTracking``'s `acquire`, `acquired`, `release`, with the spin lock's policy) around the lock word;
/// without it, only the lock word is taken and freed, and the routines in `SpinLock` keep the IRQL.
///
/// Each operation reads top to bottom, its common case first: a lock used before with this routine at
/// this IRQL, in a chain validated before, released as the newest hold within its budget. That case calls
/// nothing; every other case leaves by a call of its own, made last (`lockChecked`, `lockContended`,
/// `unlockChecked`), which runs every step, so that none keeps registers or a frame on the way.
@usableFromInline
struct SpinLockValidation: ~Copyable {
    #if Validation
        @usableFromInline let tracking: LockTracking
    #endif

    @usableFromInline
    init(name: String?, holdBudget: Duration?, site: CallSite) {
        #if Validation
            tracking = LockTracking(name: name, policy: .spinLock, holdBudget: holdBudget, site: site)
        #endif
    }

    /// The lock is being deinitialised: a lock still held is reported, and the instance retired.
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
            tracking.printIRQLTooHighBug("\(routine)", at: irql, limit: limit, site: site)
        #endif
    }

    #if Validation
        @usableFromInline
        @inline(never)
        func irqlTooLow(_ routine: StaticString, at irql: IRQL, site: CallSite) {
            tracking.printIRQLTooLowBug("\(routine)", at: irql, site: site)
        }
    #endif

    // MARK: Lock operations

    // The out-of-line paths take the lock last: they are tail calls from `SpinLock.lock`, whose own
    // arguments then stay in the registers they arrived in (the lock, its `self`, moves to the last).

    /// Takes `lock`'s word with an ordinary (or interrupt) routine, spinning while it is taken: checked
    /// before the wait, the hold recorded once the word is taken.
    @inlinable @inline(__always)
    static func lock(
        _ kind: AcquireKind, nesting: Int = 0, of lock: SpinLock, on thread: ThreadState, at site: CallSite
    ) {
        #if Validation
            guard _fastPath(nesting == 0),
                let entry = lock.validation.tracking.holdIfKnown(
                    kind, on: thread, lockObject: Unmanaged.passUnretained(lock).toOpaque(), at: site)
            else { return Self.lockChecked(kind, nesting: nesting, on: thread, at: site, of: lock) }
        #endif
        guard _fastPath(lock.raw.lockIfFree()) else { return Self.lockContended(on: thread, at: site, of: lock) }
        #if Validation
            lock.validation.tracking.holdTaken(entry, on: thread)
        #endif
    }

    /// Takes `lock` as an in-stack queued spin lock with `node`, in FIFO order.
    @inlinable
    static func lockQueued(
        _ node: UnsafeMutablePointer<QueueNode>, nesting: Int, of lock: SpinLock, on thread: ThreadState,
        at site: CallSite
    ) {
        #if Validation
            guard _fastPath(nesting == 0),
                let entry = lock.validation.tracking.holdIfKnown(
                    .queued, on: thread, queueNode: UnsafeMutableRawPointer(node),
                    lockObject: Unmanaged.passUnretained(lock).toOpaque(), at: site)
            else { return Self.lockQueuedChecked(node, nesting: nesting, on: thread, at: site, of: lock) }
            let waited = lock.takeQueued(node, on: thread, at: site)
            lock.validation.tracking.holdTaken(entry, on: thread, waitCycles: waited)
        #else
            _ = lock.takeQueued(node, on: thread, at: site)
        #endif
    }

    /// Takes `lock`'s word if it is free, without spinning; a thread that holds it already fails.
    @inlinable
    static func tryLock(of lock: SpinLock, on thread: ThreadState, at site: CallSite) -> Bool {
        #if Validation
            guard !lock.validation.tracking.isOwned(by: thread), lock.raw.tryLock() else { return false }
            if let entry = lock.validation.tracking.holdIfKnown(
                .tryAcquire, on: thread, lockObject: Unmanaged.passUnretained(lock).toOpaque(), at: site)
            {
                lock.validation.tracking.holdTaken(entry, on: thread)
            } else {
                Self.tryLockChecked(on: thread, at: site, of: lock)
            }
            return true
        #else
            return lock.raw.tryLock()
        #endif
    }

    /// Releases `lock` as it was acquired and lowers the IRQL to `oldIRQL` (nil: leaves it).
    ///
    /// - Returns: the queue node the release finished with (the acquisition's own, which a handle may
    ///   take back), or nil when the release was not made (not held, or held by another thread).
    @inlinable @inline(__always) @discardableResult
    static func unlock(
        _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutablePointer<QueueNode>? = nil,
        of lock: SpinLock, on thread: ThreadState, at site: CallSite
    ) -> UnsafeMutableRawPointer? {
        #if Validation
            guard
                _fastPath(
                    lock.validation.tracking.releaseIfKnown(
                        kind, queueNode: queueNode.map { UnsafeMutableRawPointer($0) }, on: thread))
            else {
                return Self.unlockChecked(
                    kind, restoring: oldIRQL, queueNode: queueNode, on: thread, at: site, of: lock)
            }
        #endif
        if kind == .queued { lock.raw.unlockQueued(queueNode!) } else { lock.raw.unlock() }
        lock.restoreIRQL(oldIRQL, requested: oldIRQL, on: thread, at: site)
        return queueNode.map { UnsafeMutableRawPointer($0) }
    }

    /// ``lock(_:nesting:of:on:at:)`` when the word is taken: spins, then records the hold.
    @usableFromInline
    @inline(never)
    static func lockContended(on thread: ThreadState, at site: CallSite, of lock: SpinLock) {
        let waited = lock.spin(on: thread, at: site)
        #if Validation
            lock.validation.tracking.holdTaken(on: thread, waitCycles: waited)
        #else
            _ = waited
        #endif
    }

    #if Validation
        /// An acquire that may teach the validator something: lockdep's steps, then the word (queued with
        /// `queueNode`, else ordinary), then the hold.
        @usableFromInline
        @inline(never)
        static func lockChecked(
            _ kind: AcquireKind, nesting: Int, on thread: ThreadState, at site: CallSite, of lock: SpinLock
        ) {
            guard lv_validation_enabled() != 0 else {
                if !lock.raw.lockIfFree() { _ = lock.spin(on: thread, at: site) }
                return
            }
            // Confirmation mode: held back before the order is taken, as a pthread lock is.
            if _slowPath(DeadlockConfirmation.steersEveryAcquire) {
                lock.validation.tracking.pauseBeforeWaitIfPredicted { lock.raw.isLocked }
            }
            let action = lock.validation.tracking.acquire(
                kind, nesting: nesting, lockObject: Unmanaged.passUnretained(lock).toOpaque(), on: thread, at: site)
            guard action != .skip else { return }
            let waited = _fastPath(lock.raw.lockIfFree()) ? 0 : lock.spin(on: thread, at: site)
            lock.validation.tracking.acquired(action, on: thread, waitCycles: waited)
        }

        /// ``lockChecked(_:nesting:of:on:at:)`` for an in-stack queued acquire with `node`.
        @usableFromInline
        @inline(never)
        static func lockQueuedChecked(
            _ node: UnsafeMutablePointer<QueueNode>, nesting: Int, on thread: ThreadState, at site: CallSite,
            of lock: SpinLock
        ) {
            guard lv_validation_enabled() != 0 else {
                _ = lock.takeQueued(node, on: thread, at: site)
                return
            }
            if _slowPath(DeadlockConfirmation.steersEveryAcquire) {
                lock.validation.tracking.pauseBeforeWaitIfPredicted { lock.raw.isLocked }
            }
            let action = lock.validation.tracking.acquire(
                .queued, nesting: nesting, queueNode: UnsafeMutableRawPointer(node),
                lockObject: Unmanaged.passUnretained(lock).toOpaque(), on: thread, at: site)
            guard action != .skip else { return }
            lock.validation.tracking.acquired(
                action, on: thread, waitCycles: lock.takeQueued(node, on: thread, at: site))
        }

        /// A try-acquire that took the word and may teach the validator something.
        @usableFromInline
        @inline(never)
        static func tryLockChecked(on thread: ThreadState, at site: CallSite, of lock: SpinLock) {
            guard lv_validation_enabled() != 0 else { return }
            let action = lock.validation.tracking.acquire(
                .tryAcquire, trylock: true, lockObject: Unmanaged.passUnretained(lock).toOpaque(), on: thread, at: site)
            lock.validation.tracking.acquired(action, on: thread)
        }

        /// A release that may be reported, or whose hold was long: lockdep's steps, then what they say.
        @usableFromInline
        @inline(never)
        static func unlockChecked(
            _ kind: AcquireKind, restoring oldIRQL: IRQL?, queueNode: UnsafeMutablePointer<QueueNode>?,
            on thread: ThreadState, at site: CallSite, of lock: SpinLock
        ) -> UnsafeMutableRawPointer? {
            let released = lv_rdtsc()
            guard lv_validation_enabled() != 0 else {
                if kind == .queued { lock.raw.unlockQueued(queueNode!) } else { lock.raw.unlock() }
                lock.restoreIRQL(oldIRQL, requested: oldIRQL, on: thread, at: site)
                return queueNode.map { UnsafeMutableRawPointer($0) }
            }
            let action = lock.validation.tracking.release(
                kind, restoring: oldIRQL, queueNode: queueNode.map { UnsafeMutableRawPointer($0) },
                releasedAt: released,
                on: thread, at: site)
            switch action {
            case .unlock(let heldKind, let heldNode, let lowerTo):
                if heldKind == .queued {
                    lock.raw.unlockQueued(heldNode?.assumingMemoryBound(to: QueueNode.self) ?? queueNode!)
                } else {
                    lock.raw.unlock()
                }
                lock.restoreIRQL(lowerTo, requested: oldIRQL, on: thread, at: site)
                return heldNode
            case .placeholder(let node, let lowerTo):
                lock.restoreIRQL(lowerTo, requested: oldIRQL, on: thread, at: site)
                return node
            case .ignore:
                return nil
            }
        }
    #endif

    // MARK: Other events

    /// Reports an error thrown out of a critical section.
    @usableFromInline
    func errorThrown(_ error: any Error, at site: CallSite) {
        #if Validation
            tracking.printErrorWhileHeldBug(error, at: site)
        #endif
    }

    /// A spin wait for `lock` yields: the spin watchdog looks at a wait begun at `start` (set here, at the
    /// first yield).
    @inlinable
    func yielded(waitingFor lock: SpinLock, since start: inout UInt64, at site: CallSite) {
        #if Validation
            if start == 0 { start = lv_rdtsc() }
            Self.watchdogCheck(lock, since: start, at: site)
        #endif
    }

    #if Validation
        @usableFromInline
        @inline(never)
        static func watchdogCheck(_ lock: SpinLock, since start: UInt64, at site: CallSite) {
            SpinWatchdog.check(waitingFor: lock.validation.tracking, since: start, on: .current, at: site)
        }
    #endif

    /// A watched spin wait ended: the lock is taken.
    @inlinable
    func waitEnded(on thread: ThreadState) {
        #if Validation
            SpinWatchdog.endWait(on: thread)
        #endif
    }

    /// Forgets the owner of a lock released for a thread that exited holding it.
    func forgetOwner() {
        #if Validation
            tracking.forgetOwner()
        #endif
    }
}
