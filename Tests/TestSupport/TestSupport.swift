// Helpers shared by the test targets.
import LockValidator
import Synchronization

/// Runs `body` on a new thread (a fresh processor at PASSIVE_LEVEL, holding nothing) and returns the
/// violations it caused; the test's own thread keeps its IRQL and held stack untouched.
public func violationsOnFreshProcessor(_ body: @escaping @Sendable () -> Void) -> [Violation] {
    LockValidator.violations(during: {
        let thread = ProcessorThread(name: "test-cpu", body)
        thread.join()
    })
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
