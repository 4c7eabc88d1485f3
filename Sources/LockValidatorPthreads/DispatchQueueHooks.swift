import LockValidator
import _LockValidatorInterpose
import _LockValidatorShims

// Serial Dispatch queues are locks to the validator (the interposer's dispatch_queues.c): `sync` onto
// one takes it, for as long as the block runs.

@_cdecl("lv_dispatch_queue_created")
func dispatchQueueCreated(
    _ queue: UnsafeRawPointer, _ label: UnsafePointer<CChar>?, _ caller: UInt
) -> UnsafeMutableRawPointer? {
    let creator = PthreadLockClasses.creatingCode(from: caller)
    if PthreadLockClasses.frameKind(of: creator.frame) == .testFramework { return nil }
    let site = CodeSite(returnAddress: creator.frame)
    let name = label.map { String(cString: $0) } ?? ""
    // One class per label, as lockdep keys a lock by its name: the queues of one purpose share a label.
    let lockClass =
        name.isEmpty
        ? LockClass.created(at: site, noun: PthreadLock.Kind.serialQueue.noun)
        : LockClass.named("\(PthreadLock.Kind.serialQueue.noun) \(name)", site: .code(site), isInterposed: true)
    let lock = PthreadLock(kind: .serialQueue, of: lockClass, site: .code(site), nesting: 0)
    return lock.retainedObject()
}
