import LockValidator
import _LockValidatorShims

// The entry points the interposer's deadlock watchdog (`deadlock_watchdog.c`) calls, with the thread
// marked inside the validator.

@_cdecl("lv_pthread_lock_instance")
func pthreadLockInstance(_ object: UnsafeMutableRawPointer) -> UInt64 {
    PthreadLock.borrowing(object) { $0.tracking.instance }
}

@_cdecl("lv_pthread_deadlock")
func pthreadDeadlock(_ members: UnsafePointer<lv_deadlock_member>, _ count: UInt32) {
    // 66, the status LockValidatorPthreads fails a process with.
    BlockingWatchdog.reportDeadlock(UnsafeBufferPointer(start: members, count: Int(count)), failureStatus: 66) {
        object in PthreadLock.borrowing(object) { $0.tracking.info }
    }
}

@_cdecl("lv_dispatch_deadlock")
func dispatchDeadlock(_ members: UnsafePointer<lv_deadlock_member>, _ count: UInt32) {
    let members = UnsafeBufferPointer(start: members, count: Int(count))
    // The scope of the first member whose wait kept one (borrowed: the interposer keeps its token).
    let scope = members.lazy.compactMap(\.scope).first.map {
        Unmanaged<ViolationScope>.fromOpaque($0).takeUnretainedValue()
    }
    BlockingWatchdog.reportDeadlock(members, failureStatus: 66, callerIsMember: false, memberScope: scope) { object in
        PthreadLock.borrowing(object) { $0.tracking.info }
    }
}
