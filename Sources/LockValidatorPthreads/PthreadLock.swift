import LockValidator
import _LockValidatorInterpose
import _LockValidatorShims

/// The validator's side of one pthread lock (a mutex, reader–writer lock or spin lock at one address):
/// what kind of lock it is, and the tracking state of its acquires and releases (an annotated lock's).
///
/// It is the interposer's object for the lock: the lock table holds its address, and the C fast path reads
/// it in place as an `lv_pthread_object` (C's `lv_annotated_fast` mirrors this layout, checked for each
/// lock by ``make(kind:of:site:nesting:address:)``). A queue's object carries the queue's fields after it
/// (`lv_queue_object`). No class object, no reference count, no C copy of its fields: 56 bytes a mutex
/// (64 in malloc's chunks) where a `PthreadLock` class, its `AnnotatedLock` and a C object apart took 176
/// (208), and this state with a C copy after it 104 (112); a server makes a lock per connection. The table
/// owns it: ``make(kind:of:site:nesting:address:)`` gives it the object, and ``destroy(_:)`` is called
/// when the table drops it.
struct PthreadLock: ~Copyable {
    // In C's order (`lv_annotated_fast`): the tracking state first, whose fields C reads in place.
    let tracking: LockTracking
    let kind: Kind
    /// The nesting subclass every acquire of this lock uses (lockdep's `lockdep_set_subclass`), 0...7.
    let nesting: UInt8
    /// 1 when C's fast path may take this lock's acquires and releases (`lv_annotated_fast.eligible`).
    let eligible: UInt8
    /// The pthread lock itself, when the interposer made this object for one (not a queue, not a Mutex).
    let address: UnsafeRawPointer?

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

    private init(kind: Kind, of lockClass: LockClass, site: Site?, nesting: Int, address: UnsafeRawPointer?) {
        let policy = AnnotatedLock.policy(
            sleeps: kind != .spinLock, reentrant: kind == .recursiveMutex, recursiveReads: kind != .writerFirstRWLock)
        tracking = LockTracking(of: lockClass, policy: policy, site: site)
        self.kind = kind
        self.nesting = UInt8(nesting)
        eligible = tracking.isFastPathEligible(nesting: nesting) ? 1 : 0
        self.address = address
    }

    /// The state of `object` (an object ``make(kind:of:site:nesting:address:)`` returned): the object itself.
    @inline(__always)
    private static func state(of object: UnsafeMutableRawPointer) -> UnsafeMutablePointer<PthreadLock> {
        object.assumingMemoryBound(to: PthreadLock.self)
    }

    /// Runs `body` with the lock of `object` (an object the interposer's table holds), in place: the
    /// table keeps it alive while the program uses the lock.
    @inline(__always)
    static func borrowing<Result>(
        _ object: UnsafeMutableRawPointer, _ body: (borrowing PthreadLock) -> Result
    ) -> Result {
        body(state(of: object).pointee)
    }

    /// A new lock's state, which is its C object too (a queue's with the queue's fields after it); returns
    /// it, for the interposer's table to keep (it gives it back to `lv_pthread_lock_destroyed`).
    static func make(
        kind: Kind, of lockClass: LockClass, site: Site?, nesting: Int, address: UnsafeRawPointer? = nil
    ) -> UnsafeMutableRawPointer {
        precondition(
            MemoryLayout<PthreadLock>.stride == MemoryLayout<lv_pthread_object>.size
                && MemoryLayout<lv_queue_object>.offset(of: \.object) == 0)
        // A queue's object carries the queue's fields after the lock's; a mutex's does not (40 bytes a lock).
        let size = kind == .serialQueue ? MemoryLayout<lv_queue_object>.stride : MemoryLayout<PthreadLock>.stride
        let alignment = max(MemoryLayout<PthreadLock>.alignment, MemoryLayout<lv_queue_object>.alignment)
        let object = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: alignment)
        let state = object.bindMemory(to: PthreadLock.self, capacity: 1)
        state.initialize(to: PthreadLock(kind: kind, of: lockClass, site: site, nesting: nesting, address: address))
        state.pointee.tracking.checkFastPathLayout(at: object)
        precondition(
            object.load(fromByteOffset: MemoryLayout<lv_annotated_fast>.offset(of: \.eligible)!, as: UInt8.self)
                == state.pointee.eligible,
            "LockValidator: a lock's layout is not the one C's fast path reads (lv_annotated_fast)")
        if kind == .serialQueue {
            // The queue's fields, zero at first, after the lock's.
            let queueFields = MemoryLayout<lv_pthread_object>.size
            (object + queueFields).initializeMemory(
                as: UInt8.self, repeating: 0, count: MemoryLayout<lv_queue_object>.stride - queueFields)
        }
        return object
    }

    /// Ends the lock of `object`, which the table dropped: reports it if it is destroyed while held,
    /// retires it (its class's count of locks alive), and frees the allocation.
    static func destroy(_ object: UnsafeMutableRawPointer) {
        let state = state(of: object)
        state.pointee.tracking.freed(whileLocked: false)
        state.pointee.tracking.retire()
        state.deinitialize(count: 1)
        object.deallocate()
    }

    /// lockdep's `lock_acquire` (``AnnotatedLock/acquire(_:at:taken:)``).
    func acquire(_ kind: AnnotatedAcquireKind, at site: CallSite, taken: Bool = false) -> Bool {
        tracking.annotatedAcquire(kind, nesting: Int(nesting), at: site, taken: taken)
    }

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
        let owner = tracking.ownerSerial
        return owner != 0 && owner != ThreadState.current.serial
    }

}
