import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The scope code inherits from the code that started it, where no task-local value carries it: a
/// thread, a dispatched work item, a detached task. LockValidatorPthreads fills both in, as it sees
/// `pthread_create`, Dispatch's async calls and `swift_task_create`; without it both stay empty.
package enum InheritedScope {
    /// A pthread key whose value is a retained `ViolationScope`, released when its thread exits.
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<ViolationScope>.fromOpaque(pointer).release() }
        }
        precondition(result == 0, "pthread_key_create failed with error \(result)")
        return key
    }()

    /// The scope the calling thread inherited: that of the code that started it, or that started the
    /// dispatched work it is running.
    package static var ofThread: ViolationScope? {
        pthread_getspecific(threadKey).map { Unmanaged<ViolationScope>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Makes `scope` the calling thread's inherited scope; returns the one it had, to put back.
    package static func replaceThreadScope(with scope: ViolationScope?) -> ViolationScope? {
        let old = pthread_getspecific(threadKey).map { Unmanaged<ViolationScope>.fromOpaque($0).takeRetainedValue() }
        let result = pthread_setspecific(threadKey, scope.map { Unmanaged.passRetained($0).toOpaque() })
        precondition(result == 0, "pthread_setspecific failed with error \(result)")
        return old
    }

    /// Finds the scope the running task inherited from the code that created it, where its task-locals
    /// do not carry it (`Task.detached`): returns it retained (`Unmanaged<ViolationScope>`), or nil.
    package typealias TaskScopeLookup = @convention(c) () -> UnsafeMutableRawPointer?

    /// The lookup's address, 0 until LockValidatorPthreads installs one: read without a lock, as every
    /// thread, dispatched work item and task a scope starts asks.
    private static let taskLookup = Atomic<UInt>(0)

    /// Installs the lookup of the running task's inherited scope.
    package static func setTaskScopeLookup(_ lookup: TaskScopeLookup) {
        taskLookup.store(UInt(bitPattern: unsafeBitCast(lookup, to: UnsafeRawPointer.self)), ordering: .releasing)
    }

    /// The scope the running task inherited from the code that created it, if any.
    package static var ofTask: ViolationScope? {
        let address = taskLookup.load(ordering: .acquiring)
        guard address != 0, let pointer = UnsafeRawPointer(bitPattern: address) else { return nil }
        let lookup = unsafeBitCast(pointer, to: TaskScopeLookup.self)
        return lookup().map { Unmanaged<ViolationScope>.fromOpaque($0).takeRetainedValue() }
    }
}
