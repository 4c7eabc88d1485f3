#if canImport(Glibc)
    import Glibc
#endif

/// A lock wrapper of the program's own, as swift-nio's `NIOLock` is one: a Swift type named `…Lock` whose
/// methods call pthreads. Its classes are keyed, and its acquires shown, at its callers.
final class LedgerLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(never)
    func lock() { pthread_mutex_lock(mutex) }

    @inline(never)
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body()
    }
}
