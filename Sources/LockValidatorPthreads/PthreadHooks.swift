import LockValidator
import _LockValidatorInterpose
import _LockValidatorShims

// The entry points the interposer (`_LockValidatorInterpose`) calls, with the thread marked inside
// the validator. `object` is a `PthreadLock.make(…)` the lock table keeps.

@_cdecl("lv_pthread_install")
func installPthreadValidation() -> Int32 {
    // Reading the configuration applies LOCKVALIDATOR=off and the other settings now.
    guard LockValidator.configuration.isEnabled else { return 0 }
    ProcessEnd.failProcessOnViolations(status: 66)
    // Reports show an acquire made in a lock wrapper (NIOLock's `LockOperations.lock`) at its caller.
    LockWrapperCode.recognize(
        with: { PthreadLockClasses.frameKind(of: $0) == .lockCode }, glue: PthreadLockClasses.isGlue(_:))
    InheritedScope.setTaskScopeLookup(lv_scope_of_current_task)
    return 1
}

@_cdecl("lv_pthread_lock_created")
func pthreadLockCreated(
    _ address: UnsafeRawPointer, _ type: UInt32, _ atInit: Int32, _ caller: UInt
) -> UnsafeMutableRawPointer? {
    let kind = PthreadLock.Kind(type)
    guard
        let key = PthreadLockClasses.classKey(
            of: kind, at: UInt(bitPattern: address), atInit: atInit != 0, caller: caller)
    else { return nil }
    return PthreadLock.make(kind: kind, of: key.lockClass, site: key.site, nesting: key.nesting, address: address)
}

@_cdecl("lv_pthread_will_acquire")
func pthreadWillAcquire(_ object: UnsafeMutableRawPointer, _ how: UInt32, _ caller: UInt) -> UInt32 {
    PthreadLock.borrowing(object) { lock in
        let steerable = how & LV_PT_STEERABLE != 0
        let how = how & ~LV_PT_STEERABLE
        // Confirmation mode: held back before the wait, still holding the edge's first lock.
        if steerable && (how == UInt32(LV_PT_EXCLUSIVE) || how == UInt32(LV_PT_SHARED)) && DeadlockConfirmation.isOn {
            DeadlockConfirmation.pauseIfPredicted(before: lock.tracking) { lock.isHeldElsewhere }
        }
        return willAcquire(lock, how, caller)
    }
}

@inline(__always)
func willAcquire(_ lock: borrowing PthreadLock, _ how: UInt32, _ caller: UInt, taken: Bool = false) -> UInt32 {
    let kind: AnnotatedAcquireKind
    switch Int(how) {
    case LV_PT_EXCLUSIVE_TRY: kind = .trylock
    case LV_PT_SHARED: kind = .shared
    case LV_PT_SHARED_TRY: kind = .sharedTrylock
    default: kind = .blocking
    }
    if lock.acquire(kind, at: CallSite(returnAddress: caller), taken: taken) { return UInt32(LV_PT_PROCEED) }
    // A reported recursive acquire, recorded as a placeholder for its release.
    let action = lock.kind.actionOnSelfDeadlock
    if action == UInt32(LV_PT_REFUSE) { lock.tracking.annotatedAcquireFailed() }
    return action
}

@_cdecl("lv_pthread_took")
func pthreadTook(_ object: UnsafeMutableRawPointer, _ how: UInt32, _ caller: UInt) -> UInt32 {
    PthreadLock.borrowing(object) { lock in
        // Confirmation mode: an acquire it would hold back gives the lock back, to be paused before it.
        if how & LV_PT_STEERABLE != 0 && DeadlockConfirmation.isOn
            && DeadlockConfirmation.heldLockToPauseFor(
                before: lock.tracking, heldElsewhere: lock.isHeldElsewhere)
                != nil
        {
            return UInt32(LV_PT_RETRY)
        }
        return willAcquire(lock, how & ~LV_PT_STEERABLE, caller, taken: true)
    }
}

@_cdecl("lv_pthread_did_acquire")
func pthreadDidAcquire(_ object: UnsafeMutableRawPointer, _ caller: UInt, _ waitCycles: UInt64) {
    PthreadLock.borrowing(object) {
        $0.tracking.annotatedAcquired(at: CallSite(returnAddress: caller), waitCycles: waitCycles)
    }
}

@_cdecl("lv_pthread_acquire_failed")
func pthreadAcquireFailed(_ object: UnsafeMutableRawPointer) {
    PthreadLock.borrowing(object) { $0.tracking.annotatedAcquireFailed() }
}

@_cdecl("lv_pthread_will_release")
func pthreadWillRelease(_ object: UnsafeMutableRawPointer, _ caller: UInt) -> UInt32 {
    PthreadLock.borrowing(object) {
        $0.tracking.annotatedRelease(at: CallSite(returnAddress: caller)) ? UInt32(LV_PT_PROCEED) : UInt32(LV_PT_SKIP)
    }
}

@_cdecl("lv_pthread_lock_destroyed_while_held_elsewhere")
func pthreadLockDestroyedWhileHeldElsewhere(_ object: UnsafeMutableRawPointer) -> Int32 {
    PthreadLock.borrowing(object) { lock in
        let holder = lock.tracking.ownerSerial
        guard holder != 0 && holder != ThreadState.current.serial else { return 0 }
        lock.tracking.freed(whileLocked: false)
        return 1
    }
}

@_cdecl("lv_pthread_lock_destroyed")
func pthreadLockDestroyed(_ object: UnsafeMutableRawPointer) {
    PthreadLock.destroy(object)
}

@_cdecl("lv_blocking_call_made")
func blockingCallMade(_ name: UnsafePointer<CChar>, _ caller: UInt) {
    // The interposer read the thread's word once; this checks it on the registered thread's state.
    let thread = ThreadState.current
    guard thread.mustNotBlock else { return }
    // Billed to the validator as a whole: a first stack capture (libunwind reading unwind tables) alone
    // took a spin lock held across a usleep(1) past its 25 µs budget.
    thread.billingValidator {
        // The stack from the program's call on, without the interposer's frames.
        let stack = StackTrace.capture()
        let start = stack.addresses.firstIndex(of: caller) ?? 0
        thread.printMightSleepBug(
            call: String(cString: name), at: CallSite(returnAddress: caller).site,
            stack: StackTrace(addresses: Array(stack.addresses[start...])))
    }
}

// MARK: Scopes carried to new threads, dispatched work and tasks

/// Takes over a token (a retained `ViolationScope`) the interposer held.
func scope(ofToken token: UnsafeMutableRawPointer) -> ViolationScope {
    Unmanaged<ViolationScope>.fromOpaque(token).takeRetainedValue()
}

/// A token for the interposer to hold: `scope`, retained.
func token(of scope: ViolationScope?) -> UnsafeMutableRawPointer? {
    scope.map { Unmanaged.passRetained($0).toOpaque() }
}

@_cdecl("lv_scope_capture")
func scopeCapture() -> UnsafeMutableRawPointer? {
    token(of: ViolationScope.effective)
}

@_cdecl("lv_scope_capture_for_task")
func scopeCaptureForTask(_ inheritsLocals: Int32) -> UnsafeMutableRawPointer? {
    if inheritsLocals != 0 && ViolationScope.current != nil { return nil }
    return token(of: ViolationScope.effective)
}

@_cdecl("lv_scope_enter")
func scopeEnter(_ entered: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let scope = entered.map { Unmanaged<ViolationScope>.fromOpaque($0).takeUnretainedValue() }
    return token(of: InheritedScope.replaceThreadScope(with: scope))
}

@_cdecl("lv_scope_restore")
func scopeRestore(_ previous: UnsafeMutableRawPointer?) {
    _ = InheritedScope.replaceThreadScope(with: previous.map(scope(ofToken:)))
}

@_cdecl("lv_scope_retain")
func scopeRetain(_ token: UnsafeMutableRawPointer) {
    _ = Unmanaged<ViolationScope>.fromOpaque(token).retain()
}

@_cdecl("lv_scope_release")
func scopeRelease(_ token: UnsafeMutableRawPointer) {
    Unmanaged<ViolationScope>.fromOpaque(token).release()
}

@_cdecl("lv_scope_thread_returning")
func scopeThreadReturning() {
    // In the scope still (it goes with the thread's own storage), so that a thread ending with a lock
    // held fails the code that started it, as a ProcessorThread does.
    ThreadState.current.checkExit()
}

// MARK: Happens-before through thread start and join (the verdicts on cycles)

/// Where a new thread's clock begins (its creator and the creator's epoch), boxed for the interposer.
private final class StartClock {
    let parent: HappensBefore.Occurrence
    init(_ parent: HappensBefore.Occurrence) { self.parent = parent }
}

@_cdecl("lv_hb_fork")
func happensBeforeFork() -> UnsafeMutableRawPointer? {
    HappensBefore.forking().map { Unmanaged.passRetained(StartClock($0)).toOpaque() }
}

@_cdecl("lv_hb_start")
func happensBeforeStart(_ token: UnsafeMutableRawPointer) {
    HappensBefore.started(after: Unmanaged<StartClock>.fromOpaque(token).takeRetainedValue().parent)
}

@_cdecl("lv_hb_discard")
func happensBeforeDiscard(_ token: UnsafeMutableRawPointer) {
    Unmanaged<StartClock>.fromOpaque(token).release()
}

@_cdecl("lv_hb_exit")
func happensBeforeExit() { HappensBefore.exiting() }

@_cdecl("lv_hb_joined")
func happensBeforeJoined(_ handle: UInt) { HappensBefore.joined(handle: handle) }
