import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The validator's own lock for its slow-path tables (classes, violation logs): a pthread mutex,
/// which ThreadSanitizer understands, guarding `State`. Never validated itself: the thread counts as
/// inside the validator while it waits for and holds the lock, so that LockValidatorPthreads passes
/// this mutex, and every pthread lock taken under it, straight through.
package final class InternalLock<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Behind a pointer, not a stored `var`: an inout access to a class's stored property is checked
    /// for exclusivity at run time, and the mutex already makes the access exclusive.
    private let state: UnsafeMutablePointer<State>

    package init(_ state: State) {
        self.state = .allocate(capacity: 1)
        self.state.initialize(to: state)
        mutex = .allocate(capacity: 1)
        lv_enter_validator()
        defer { lv_leave_validator() }
        let result = pthread_mutex_init(mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed with error \(result)")
    }

    deinit {
        lv_enter_validator()
        defer { lv_leave_validator() }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    package func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        lv_enter_validator()
        pthread_mutex_lock(mutex)
        defer {
            pthread_mutex_unlock(mutex)
            lv_leave_validator()
        }
        return try body(&state.pointee)
    }
}
