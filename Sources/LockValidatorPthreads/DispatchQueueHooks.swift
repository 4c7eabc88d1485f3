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
    let lockClass: LockClass
    var nesting = 0
    if let naming = PthreadLockClasses.naming {
        // LockValidator.withLockClass around the queue's creation.
        lockClass = LockClass.named(naming.name, site: .code(site), isInterposed: true)
        nesting = naming.nesting
    } else {
        // Keyed where it is made, as every lock is, and named by its label too: one label often serves
        // every queue of a type (GRDB's "GRDB.DatabaseQueue"), and queues made in two places are two classes.
        let name = label.map { String(cString: $0) } ?? ""
        let noun = PthreadLock.Kind.serialQueue.noun + (name.isEmpty ? "" : " \(name)")
        lockClass = LockClass.created(at: site, noun: noun)
    }
    return PthreadLock.make(kind: .serialQueue, of: lockClass, site: .code(site), nesting: nesting)
}

/// The main queue: no call makes it, so its one class is named for it, with the site of its first use.
@_cdecl("lv_dispatch_main_queue_used")
func dispatchMainQueueUsed(_ queue: UnsafeRawPointer, _ caller: UInt) -> UnsafeMutableRawPointer? {
    let site = CodeSite(returnAddress: caller)
    let lockClass = LockClass.named("serial queue main", site: .code(site), isInterposed: true)
    return PthreadLock.make(kind: .serialQueue, of: lockClass, site: .code(site), nesting: 0)
}
