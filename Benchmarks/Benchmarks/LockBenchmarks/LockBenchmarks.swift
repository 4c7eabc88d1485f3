import Benchmark
import BenchmarkScenarios
import BenchmarkShims
import SpinLocks
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// Names compare.sh reads; keep them stable.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    // MARK: Uncontended acquire + release

    Benchmark("pair: raw TTAS") { benchmark in
        let lock = RawTTASLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            lock.lock()
            criticalSection(lock)
            lock.unlock()
        }
    }
    Benchmark("pair: raw MCS") { benchmark in
        let lock = RawMCSLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { lock.withLock { criticalSection(lock) } }
    }
    Benchmark("pair: Synchronization.Mutex") { benchmark in
        let mutex = Mutex(0)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { mutex.withLock { $0 &+= 1 } }
    }
    Benchmark("pair: pthread mutex") { benchmark in
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            pthread_mutex_lock(mutex)
            blackHole(mutex)
            pthread_mutex_unlock(mutex)
        }
    }
    Benchmark("pair: SpinLock AtDpcLevel") { benchmark in
        let lock = sharedLock("bench.atDpcLevel")
        let old = IRQL.raise(to: .dispatch)
        lock.acquireAtDpcLevel()
        lock.releaseFromDpcLevel()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            lock.acquireAtDpcLevel()
            criticalSection(lock)
            lock.releaseFromDpcLevel()
        }
        benchmark.stopMeasurement()
        IRQL.lower(to: old)
    }
    Benchmark("pair: SpinLock withLock") { benchmark in
        let lock = sharedLock("bench.withLock")
        lock.withLock {}
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { lock.withLock { criticalSection(lock) } }
    }
    Benchmark("pair: SpinLock withQueuedLock") { benchmark in
        let lock = sharedLock("bench.queued")
        lock.withQueuedLock {}
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { lock.withQueuedLock { criticalSection(lock) } }
    }

    // MARK: Timing alone

    Benchmark("timing: two TSC reads") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(bench_rdtsc())
            blackHole(bench_rdtsc())
        }
    }
    Benchmark("timing: thread CPU-time snapshot") { benchmark in
        var now = timespec()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
            blackHole(now)
        }
    }

    // MARK: Known chains

    for depth in [2, 4, 8] {
        Benchmark("chain: raw TTAS depth \(depth)") { benchmark in
            let locks = (0..<depth).map { _ in RawTTASLock() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for lock in locks { lock.lock() }
                for lock in locks.reversed() { lock.unlock() }
            }
        }
        Benchmark("chain: SpinLock depth \(depth)") { benchmark in
            let locks = (0..<depth).map { sharedLock("bench.chain\(depth).\($0)") }
            let old = IRQL.raise(to: .dispatch)
            for lock in locks { lock.acquireAtDpcLevel() }
            for lock in locks.reversed() { lock.releaseFromDpcLevel() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for lock in locks { lock.acquireAtDpcLevel() }
                for lock in locks.reversed() { lock.releaseFromDpcLevel() }
            }
            benchmark.stopMeasurement()
            IRQL.lower(to: old)
        }
    }

    // A pair along an order of a reported cycle: its chain is never cached (every test that takes the
    // cycle's orders is told of it), so each nested acquire takes the slow path under the graph lock. Outside
    // any scope that is all; inside one (a test), its report is built once, when the scope took every order.
    for inScope in [false, true] {
        Benchmark(
            "chain: SpinLock depth 2, a reported cycle's order\(inScope ? ", in a scope" : "")",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)
        ) { benchmark in
            let first = sharedLock("bench.cycle\(inScope).A")
            let second = sharedLock("bench.cycle\(inScope).B")
            let old = IRQL.raise(to: .dispatch)
            func take(_ outer: SpinLock, _ inner: SpinLock) {
                outer.acquireAtDpcLevel()
                inner.acquireAtDpcLevel()
                inner.releaseFromDpcLevel()
                outer.releaseFromDpcLevel()
            }
            // The cycle, reported once (outside any scope): A then B, B then A.
            take(first, second)
            take(second, first)
            func measure() {
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { take(first, second) }
                benchmark.stopMeasurement()
            }
            if inScope { _ = LockValidator.violations(during: measure) } else { measure() }
            IRQL.lower(to: old)
        }
    }

    // MARK: New edges

    for classes in [100, 1_000, 10_000] {
        for (shape, edgesPerClass) in [("sparse", 2), ("dense", 20)] {
            Benchmark(
                "new edge: \(classes) classes, \(shape)",
                // Each iteration takes a pair never taken before: bounded, so that even 100 classes
                // (4,950 pairs, 2,000 of them taken while building) do not run out.
                configuration: .init(
                    metrics: [.wallClock], scalingFactor: .one, maxDuration: .seconds(2),
                    maxIterations: 1_000)
            ) { benchmark in
                let graph = NewEdgeGraph.shared(classes: classes, edgesPerClass: edgesPerClass)
                // The pairs are drawn before the clock starts: drawing one (random numbers, a set of the
                // pairs taken) is the benchmark's work, not the validator's.
                let pairs = benchmark.scaledIterations.map { _ in graph.nextNewPair() }
                let old = IRQL.raise(to: .dispatch)
                benchmark.startMeasurement()
                for (first, second) in pairs {
                    first.acquireAtDpcLevel()
                    second.acquireAtDpcLevel()
                    second.releaseFromDpcLevel()
                    first.releaseFromDpcLevel()
                }
                benchmark.stopMeasurement()
                IRQL.lower(to: old)
            }
        }
    }

    // The new-edge benchmarks' floor: the same harness, one sample per pair, a random pair of 10,000 raw
    // locks, each most likely out of cache as a new edge's locks are.
    Benchmark(
        "new edge: 10000 raw locks (floor)",
        configuration: .init(
            metrics: [.wallClock], scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 1_000)
    ) { benchmark in
        let locks = (0..<10_000).map { _ in RawTTASLock() }
        var random = SplitMix64(seed: 7)
        let pairs = benchmark.scaledIterations.map { _ in
            (
                locks[Int.random(in: 0..<locks.count, using: &random)],
                locks[Int.random(in: 0..<locks.count, using: &random)]
            )
        }
        benchmark.startMeasurement()
        for (first, second) in pairs {
            first.lock()
            second.lock()
            second.unlock()
            first.unlock()
        }
        benchmark.stopMeasurement()
    }

    // MARK: Contended

    Benchmark("contended: raw TTAS, 2 threads", configuration: .init(metrics: [.wallClock], scalingFactor: .kilo)) {
        benchmark in
        let lock = RawTTASLock()
        let counter = Counter()
        benchmark.startMeasurement()
        runOnTwoThreads(iterations: benchmark.scaledIterations.count) {
            lock.lock()
            counter.value &+= 1
            lock.unlock()
        }
    }
    Benchmark("contended: SpinLock, 2 threads", configuration: .init(metrics: [.wallClock], scalingFactor: .kilo)) {
        benchmark in
        let lock = sharedLock("bench.contended")
        let counter = Counter()
        benchmark.startMeasurement()
        runOnTwoThreads(iterations: benchmark.scaledIterations.count) {
            lock.withLock { counter.value &+= 1 }
        }
    }
}

final class Counter: @unchecked Sendable { var value = 0 }

/// Runs `body` `iterations` times on each of two threads at once.
func runOnTwoThreads(iterations: Int, _ body: @escaping @Sendable () -> Void) {
    let threads = (0..<2).map { _ in ProcessorThread { for _ in 0..<iterations { body() } } }
    threads.forEach { $0.join() }
}

/// Locks created once per process: package-benchmark runs a benchmark's closure for every sample, and
/// creating a lock allocates (the object and its lock_stat counters), which is not the hot path.
/// The critical section of every pair benchmark: an opaque call with the lock's address, the same for
/// every lock. (`blackHole(lock)` itself differs by lock type: for `SpinLock` the generic call fetched the
/// type's metadata on every iteration, an accessor call the raw lock's loop had hoisted.)
@inline(__always)
func criticalSection<Lock: AnyObject>(_ lock: Lock) {
    blackHole(Unmanaged.passUnretained(lock).toOpaque())
}

func sharedLock(_ name: String) -> SpinLock {
    sharedLocks.withLock { locks in
        if let lock = locks[name] { return lock }
        let lock = SpinLock(name)
        locks[name] = lock
        return lock
    }
}

private let sharedLocks = Mutex<[String: SpinLock]>([:])
