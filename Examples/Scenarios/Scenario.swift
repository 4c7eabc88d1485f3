import SpinLocks

/// One of the seed documents' scenarios, runnable: it runs on its own threads ("processors") in its
/// own violation scope and says what the validator found.
public struct Scenario: Sendable {
    /// A short name, also the example's executable name.
    public let name: String
    /// What the scenario shows, in a sentence.
    public let summary: String
    /// The rules it should break; empty for a clean scenario.
    public let expected: [Rule]
    let body: @Sendable () -> Void

    /// Runs the scenario and returns the violations it caused.
    public func run() -> [Violation] {
        LockValidator.violations(during: { body() }, scopeName: name)
    }

    /// Whether `found` is exactly the expected rules (each as often as expected).
    public func matches(_ found: [Violation]) -> Bool {
        found.map(\.rule.rawValue).sorted() == expected.map(\.rawValue).sorted()
    }

    /// The five seed scenarios; `fixed` runs the floppy controller with its locks in one order.
    public static func all(fixed: Bool = false) -> [Scenario] {
        [
            DriverInterrupts.scenario, FloppyController.scenario(fixed: fixed), WorkQueue.scenario,
            RecursiveRoutine.scenario, SpinLockMisuse.scenario,
        ]
    }
}

/// Starts `count` processors running `body(index)` at once and waits for them.
func onProcessors(_ count: Int, name: String, _ body: @escaping @Sendable (Int) -> Void) {
    let threads = (0..<count).map { index in ProcessorThread(name: "\(name)-\(index)") { body(index) } }
    threads.forEach { $0.join() }
}

/// Spends `microseconds` of the calling thread's own CPU time (a routine that computes too long).
func compute(microseconds: Double) {
    var start = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
    var now = start
    repeat {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    } while Double(now.tv_sec - start.tv_sec) * 1e9 + Double(now.tv_nsec - start.tv_nsec) < microseconds * 1_000
}

#if canImport(Glibc)
    import Glibc
#endif

extension Scenario {
    /// Runs as a standalone example: prints each report and a verdict; returns the exit status, 0 when
    /// the scenario reported exactly its rules.
    public func runAsExample() -> Int32 {
        print("\(name): \(summary)\n")
        let found = run()
        for violation in found { print(violation.rendered(.text)) }
        let rules = found.isEmpty ? "nothing" : found.map(\.rule.rawValue).joined(separator: ", ")
        let expectation = expected.isEmpty ? "nothing" : expected.map(\.rawValue).joined(separator: ", ")
        let verdict = matches(found) ? "as expected" : "UNEXPECTED: expected \(expectation)"
        print("\(name) found \(rules) (\(verdict))")
        return matches(found) ? 0 : 1
    }
}

/// The examples' executable names, which are also their scenarios' names.
public enum ExampleName {
    public static let driverInterrupts = "driver-interrupts"
    public static let floppyController = "floppy-controller"
    public static let workQueue = "work-queue"
    public static let recursiveRoutine = "recursive-routine"
    public static let spinLockMisuse = "spinlock-misuse"
}
