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

    /// How to find the scope the running task inherited from the code that created it, where its
    /// task-locals do not carry it (`Task.detached`); set by LockValidatorPthreads.
    package typealias TaskScopeLookup = @Sendable () -> ViolationScope?

    private static let taskLookup = InternalLock<TaskScopeLookup?>(nil)

    /// Installs the lookup of the running task's inherited scope.
    package static func setTaskScopeLookup(_ lookup: @escaping TaskScopeLookup) {
        taskLookup.withLock { $0 = lookup }
    }

    /// The scope the running task inherited from the code that created it, if any.
    package static var ofTask: ViolationScope? {
        taskLookup.withLock { $0 }?()
    }
}
