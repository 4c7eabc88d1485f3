import LockValidator
import _LockValidatorInterpose
import _LockValidatorShims

/// The validator's side of one pthread lock (a mutex, reader–writer lock or spin lock at one address):
/// what kind of lock it is, and the annotated lock that records its acquires and releases.
final class PthreadLock {
    let kind: Kind
    let annotated: AnnotatedLock
    /// The pthread lock itself, when the interposer made this object for one (not a queue, not a Mutex).
    let address: UnsafeRawPointer?
    /// What the interposer holds for the lock (``object``): the C fast path's state, and this object.
    private let cObject: UnsafeMutablePointer<lv_pthread_object>

    enum Kind: UInt32 {
        case mutex, recursiveMutex, errorCheckingMutex, rwlock, writerFirstRWLock, spinLock
        /// A serial Dispatch queue, which `sync` takes (a pseudo-lock).
        case serialQueue
        /// A `Synchronization.Mutex`, seen through the Mutex overlay.
        case swiftMutex

        init(_ type: UInt32) {
            switch Int(type) {
            case LV_PT_MUTEX_RECURSIVE: self = .recursiveMutex
            case LV_PT_MUTEX_ERRORCHECK: self = .errorCheckingMutex
            case LV_PT_RWLOCK: self = .rwlock
            case LV_PT_RWLOCK_WRITER_FIRST: self = .writerFirstRWLock
            case LV_PT_SPIN: self = .spinLock
            case LV_PT_DISPATCH_SERIAL: self = .serialQueue
            case LV_PT_SWIFT_MUTEX: self = .swiftMutex
            default: self = .mutex
            }
        }

        /// How class names start: `mutex`, `rwlock`, `spin lock`.
        var noun: String {
            switch self {
            case .mutex, .errorCheckingMutex: return "mutex"
            case .recursiveMutex: return "recursive mutex"
            case .rwlock, .writerFirstRWLock: return "rwlock"
            case .spinLock: return "spin lock"
            case .serialQueue: return "serial queue"
            case .swiftMutex: return "Mutex"
            }
        }

        /// What happens when a thread takes the lock again while it holds it, and the validator has
        /// reported that: a lock that would hang (a normal mutex, a spin lock) is not taken and its matching
        /// release not made, so the program goes on; a lock that fails such a call itself fails it with EDEADLK.
        var actionOnSelfDeadlock: UInt32 {
            switch self {
            case .mutex, .spinLock, .serialQueue, .swiftMutex: return UInt32(LV_PT_SKIP)
            default: return UInt32(LV_PT_REFUSE)
            }
        }
    }

    /// Runs `body` with the lock of `object` (an ``object`` the interposer's table holds), without retaining
    /// it: the table keeps it alive while the program uses the lock.
    @inline(__always)
    static func borrowing<Result>(_ object: UnsafeMutableRawPointer, _ body: (PthreadLock) -> Result) -> Result {
        Unmanaged<PthreadLock>.fromOpaque(object.assumingMemoryBound(to: lv_pthread_object.self).pointee.lock!)
            ._withUnsafeGuaranteedRef(body)
    }

    init(kind: Kind, of lockClass: LockClass, site: Site?, nesting: Int, address: UnsafeRawPointer? = nil) {
        self.kind = kind
        self.address = address
        annotated = AnnotatedLock(
            of: lockClass, site: site, sleeps: kind != .spinLock, reentrant: kind == .recursiveMutex,
            recursiveReads: kind != .writerFirstRWLock, nesting: nesting)
        let object = lv_pthread_object(fast: annotated.tracking.fastPathState(nesting: nesting), lock: nil)
        if kind == .serialQueue {
            // A queue's object carries the queue's fields after the lock's; a mutex's does not (40 bytes a lock).
            let queue = UnsafeMutablePointer<lv_queue_object>.allocate(capacity: 1)
            queue.initialize(
                to: lv_queue_object(
                    object: object, queue_holder: 0, queue_queued: 0, queue_used: 0, queue_creator: 0, queue_made_in: 0,
                    queue_made_depth: 0))
            cObject = UnsafeMutableRawPointer(queue).assumingMemoryBound(to: lv_pthread_object.self)
        } else {
            cObject = .allocate(capacity: 1)
            cObject.initialize(to: object)
        }
    }

    deinit { UnsafeMutableRawPointer(cObject).deallocate() }

    /// Whether another thread holds the lock now, read from the lock itself where glibc records its
    /// holders (a mutex's owner, a rwlock's writer or readers): the validator's owner word is written only
    /// once the holder's acquire is recorded, which may be long after it took the lock. Confirmation mode
    /// asks, to end a pause.
    var isHeldElsewhere: Bool {
        let type: Int32
        switch kind {
        case .mutex, .recursiveMutex, .errorCheckingMutex: type = Int32(LV_PT_MUTEX_NORMAL)
        case .rwlock, .writerFirstRWLock: type = Int32(LV_PT_RWLOCK)
        case .swiftMutex: type = Int32(LV_PT_SWIFT_MUTEX)
        default: type = -1
        }
        if let address, type >= 0 {
            return lv_pthreads_lock_held_elsewhere(address, UInt32(type)) != 0
        }
        let owner = annotated.tracking.ownerSerial
        return owner != 0 && owner != ThreadState.current.serial
    }

    /// The object for the interposer's table (`lv_pthread_object`), which holds this lock retained: the
    /// table gives it back to `lv_pthread_lock_destroyed`.
    func retainedObject() -> UnsafeMutableRawPointer {
        cObject.pointee.lock = Unmanaged.passRetained(self).toOpaque()
        return UnsafeMutableRawPointer(cObject)
    }

    /// Releases the lock of `object`, which ``retainedObject()`` made.
    static func release(_ object: UnsafeMutableRawPointer) {
        Unmanaged<PthreadLock>.fromOpaque(object.assumingMemoryBound(to: lv_pthread_object.self).pointee.lock!)
            .release()
    }
}
