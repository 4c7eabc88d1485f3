import Benchmark
import Foundation
import LockValidatorPthreads

#if canImport(Glibc)
    import Glibc
#endif

// This executable links LockValidatorPthreads, so every pthread_mutex_lock it makes is interposed and
// validated. The reference is the C library's own functions, called through the pointers dlsym gives
// (as the interposer calls them), in the same run. Names compare.sh reads; keep them stable.

typealias MutexFunction = @convention(c) (UnsafeMutablePointer<pthread_mutex_t>?) -> Int32

/// The C library's pthread_mutex_lock and pthread_mutex_unlock, past the interposer.
let libcLock = unsafeBitCast(
    dlsym(UnsafeMutableRawPointer(bitPattern: -1), "pthread_mutex_lock"), to: MutexFunction.self)
let libcUnlock = unsafeBitCast(
    dlsym(UnsafeMutableRawPointer(bitPattern: -1), "pthread_mutex_unlock"), to: MutexFunction.self)

typealias SyncFunction =
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, @convention(c) (UnsafeMutableRawPointer?) -> Void
    ) -> Void

/// Dispatch's own dispatch_sync_f, past the interposer, and the interposed one (this executable's).
let libdispatchSync = unsafeBitCast(
    dlsym(UnsafeMutableRawPointer(bitPattern: -1), "dispatch_sync_f"), to: SyncFunction.self)
let validatedSync = unsafeBitCast(dlsym(nil, "dispatch_sync_f"), to: SyncFunction.self)

typealias QueueCreateFunction = @convention(c) (UnsafePointer<CChar>?, UnsafeRawPointer?) -> UnsafeMutableRawPointer?

/// Two serial queues made through the interposer (so validated ones), and a nested `sync` of the second
/// inside the first: an order taken before, as a program takes its orders again and again.
let makeQueue = unsafeBitCast(dlsym(nil, "dispatch_queue_create"), to: QueueCreateFunction.self)
nonisolated(unsafe) let outerQueue = makeQueue("bench.outer", nil)!
nonisolated(unsafe) let innerQueue = makeQueue("bench.inner", nil)!

func makeMutex() -> UnsafeMutablePointer<pthread_mutex_t> {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    return mutex
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    Benchmark("pthread: libc mutex pair") { benchmark in
        let mutex = makeMutex()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = libcLock(mutex)
            blackHole(mutex)
            _ = libcUnlock(mutex)
        }
    }
    Benchmark("pthread: interposed mutex pair") { benchmark in
        let mutex = makeMutex()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            pthread_mutex_lock(mutex)
            blackHole(mutex)
            pthread_mutex_unlock(mutex)
        }
    }
    Benchmark("pthread: libc mutex chain depth 2") { benchmark in
        let outer = makeMutex()
        let inner = makeMutex()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = libcLock(outer)
            _ = libcLock(inner)
            blackHole(inner)
            _ = libcUnlock(inner)
            _ = libcUnlock(outer)
        }
    }
    Benchmark("pthread: interposed mutex chain depth 2") { benchmark in
        let outer = makeMutex()
        let inner = makeMutex()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            pthread_mutex_lock(outer)
            pthread_mutex_lock(inner)
            blackHole(inner)
            pthread_mutex_unlock(inner)
            pthread_mutex_unlock(outer)
        }
    }
    // `inner.sync` inside `outer.sync`, by dispatch_sync_f: libdispatch's own against the validated one.
    Benchmark("dispatch: libdispatch nested sync") { benchmark in
        let (outer, inner) = (outerQueue, innerQueue)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            libdispatchSync(outer, inner) { inner in libdispatchSync(inner, nil) { _ in } }
        }
    }
    Benchmark("dispatch: validated nested sync") { benchmark in
        let (outer, inner) = (outerQueue, innerQueue)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            validatedSync(outer, inner) { inner in validatedSync(inner, nil) { _ in } }
        }
    }
    Benchmark("pthread: interposed NSLock pair") { benchmark in
        let lock = NSLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            lock.lock()
            blackHole(lock)
            lock.unlock()
        }
    }
}
