// Helpers shared by the test targets.
import LockValidator
import Synchronization

/// The hold budget of the scopes these helpers open: tests that hold locks for moments, and whose subject
/// is not the hold time, may hold them a second. A short hold that reports a misuse runs the validator's
/// cold report code and, on a loaded host, past 25 µs of the thread's own time (seen: 128.7 µs at load 17
/// on 2 cores); the hold-time tests pass `holdBudget: nil` and test the budget itself.
public let testHoldBudget: Duration? = .seconds(1)

/// Runs `body` on a new thread (a fresh processor at PASSIVE_LEVEL, holding nothing) and returns the
/// violations it caused; the test's own thread keeps its IRQL and held stack untouched.
public func violationsOnFreshProcessor(
    holdBudget: Duration? = testHoldBudget, _ body: @escaping @Sendable () -> Void
) -> [Violation] {
    LockValidator.violations(
        during: {
            let thread = ProcessorThread(name: "test-cpu", body)
            thread.join()
        }, holdBudget: holdBudget)
}

/// Runs `body(index)` on `count` new processors that start together (each named `"\(name)-\(index)"`)
/// and returns the violations they caused: threads contending for the same locks.
public func violationsOnProcessors(
    _ count: Int, named name: String = "contender", holdBudget: Duration? = testHoldBudget,
    _ body: @escaping @Sendable (Int) -> Void
) -> [Violation] {
    LockValidator.violations(
        during: {
            let start = Signal()
            let workers = (0..<count).map { index in
                ProcessorThread(name: "\(name)-\(index)") {
                    start.wait()
                    body(index)
                }
            }
            start.raise()
            workers.forEach { $0.join() }
        }, holdBudget: holdBudget)
}

/// The rules `body` broke, in the order found, one per distinct violation.
public func rulesBroken(_ body: @escaping @Sendable () -> Void) -> [Rule] {
    violationsOnFreshProcessor(body).map(\.rule)
}

/// A one-shot signal between threads; waiting spins with yields, so it never depends on timing.
public final class Signal: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    public func raise() { raised.store(true, ordering: .releasing) }

    /// Whether ``raise()`` was called.
    public var isRaised: Bool { raised.load(ordering: .acquiring) }

    public func wait() {
        while !raised.load(ordering: .acquiring) { sched_yield() }
    }
}

/// A value shared between threads and guarded by the lock under test, not by itself.
public final class Guarded<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}

/// An error for error-while-held tests.
public struct DeviceError: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "device not ready" }
}

/// Gives up the processor for a moment.
public func yieldProcessor() { sched_yield() }

#if canImport(Glibc)
    import Glibc
#endif

/// A prefix no other lock class in this process has, so a test's classes are its own even when the
/// test runs again in the same process (the lock-order graph is process-wide).
public func uniqueClassPrefix(_ name: String) -> String {
    "\(name)#\(classPrefixCounter.wrappingAdd(1, ordering: .relaxed).oldValue)"
}

private let classPrefixCounter = Atomic<Int>(1)

/// A small, fast, seedable generator (SplitMix64), so randomized tests replay exactly.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Spends `microseconds` of this thread's own CPU time (not wall time): the hold-time tests control
/// how long they hold whatever the scheduler does.
public func burnOwnTime(microseconds: Double) {
    let start = threadCPUTimeNanoseconds()
    while Double(threadCPUTimeNanoseconds() - start) < microseconds * 1_000 {}
}

/// Whether the kernel switched the calling thread away involuntarily (preempted it, or it yielded) while
/// `body` ran. A lock's first hold that was switched away from is judged net of 500 µs a switch, so a
/// test of a 200 µs first hold knows when the rule may leave it unreported (see HoldSwitchShareTests).
public func switchedAway(during body: () -> Void) -> Bool {
    func switches() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD, which Glibc leaves out without _GNU_SOURCE
        return usage.ru_nivcsw
    }
    let before = switches()
    body()
    return switches() != before
}

/// The calling thread's CPU time.
public func threadCPUTimeNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Threads that keep every core busy until stopped: load for tests that must hold up under it.
public final class CPUHogs: Sendable {
    private let stopped = Signal()
    private let threads: [ProcessorThread]

    /// Starts `count` busy threads (by default one more than there are cores).
    public init(count: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 1) {
        let stopped = stopped
        threads = (0..<count).map { index in
            ProcessorThread(name: "cpu-hog-\(index)") {
                var spin: UInt64 = 0
                while !stopped.isRaised { spin &+= 1 }
                _ = spin
            }
        }
    }

    /// Stops the hogs and waits for them.
    public func stop() {
        stopped.raise()
        threads.forEach { $0.join() }
    }
}

/// Writes `text` to `path`; returns whether it all went.
public func writeTextFile(_ text: String, to path: String) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    return fwrite(bytes, 1, bytes.count, file) == bytes.count
}

/// Keeps `object` alive until the process ends: for locks a test leaves held on purpose, which would
/// otherwise be freed while held (a `lock-freed-while-held` outside any test) after the test.
public func keepForever(_ object: AnyObject & Sendable) {
    keptForever.withLock { $0.append(object) }
}

private let keptForever = Mutex<[AnyObject & Sendable]>([])
