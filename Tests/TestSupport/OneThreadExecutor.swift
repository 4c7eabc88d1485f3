#if canImport(Glibc)
    import Glibc
#endif

/// A task executor that runs every job on one thread of its own: async code run under it
/// (`withTaskExecutorPreference`) takes its locks on that thread alone, as an XCTest process's main thread
/// runs every test, so that what one thread learned (its validated chains) is known to the next scope.
public final class OneThreadExecutor: TaskExecutor, @unchecked Sendable {
    private var jobs: [UnownedJob] = []
    private var stopping = false
    // Allocated: a class's stored property passed inout has no stable address.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let ready = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread = pthread_t()

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(ready, nil)
        let unmanaged = Unmanaged.passRetained(self)
        pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<OneThreadExecutor>.fromOpaque(argument!).takeRetainedValue().runJobs()
                return nil
            }, unmanaged.toOpaque())
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(ready)
        pthread_mutex_unlock(mutex)
    }

    /// Ends the thread once the jobs enqueued so far have run, and waits for it.
    public func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(ready)
        pthread_mutex_unlock(mutex)
        pthread_join(thread, nil)
    }

    private func runJobs() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !stopping { pthread_cond_wait(ready, mutex) }
            if jobs.isEmpty {
                pthread_mutex_unlock(mutex)
                return
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
