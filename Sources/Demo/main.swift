import LockValidatorReports
import SpinLocks

/// A short tour: a clean driver path, then the mistakes the validator exists to catch.
/// Each scenario runs on its own thread ("processor") and in its own violation scope.

struct Scenario {
    let name: String
    let expected: [Rule]
    let body: @Sendable () -> Void
}

let deviceLock = SpinLock("Device.lock")
let statsLock = SpinLock("Device.statsLock")
let counters = Counters()

final class Counters: @unchecked Sendable {
    var completed = 0
    var interrupts = 0
}

let interrupt = InterruptObject("Device.interrupt", irql: .device(5)) { _ in
    counters.interrupts += 1
    return true
}

@inline(never)
func completeRequest(recursing: Bool) {
    deviceLock.withLock {
        counters.completed += 1
        if recursing { completeRequest(recursing: false) }
    }
}

@inline(never)
func readConfigurationWhileHoldingTheLock() {
    deviceLock.withLock { pageableCode() }
}

let scenarios = [
    Scenario(name: "clean driver path: nested locks in one order, ISR synchronization", expected: []) {
        for _ in 0..<1_000 {
            deviceLock.withLock { statsLock.withLock { counters.completed += 1 } }
            interrupt.trigger()
            interrupt.synchronizeExecution { counters.interrupts += 1 }
        }
    },
    Scenario(name: "a completion routine that re-acquires its own lock", expected: [.recursiveAcquire]) {
        completeRequest(recursing: true)
    },
    Scenario(name: "pageable code under a spin lock", expected: [.pageableAtRaisedIRQL]) {
        readConfigurationWhileHoldingTheLock()
    },
    Scenario(name: "a DPC-level routine called at PASSIVE_LEVEL", expected: [.irqlTooLow, .irqlTooLow]) {
        statsLock.acquireAtDpcLevel()
        statsLock.releaseFromDpcLevel()
    },
    Scenario(name: "two routines take the two locks in opposite orders", expected: [.lockOrderInversion]) {
        deviceLock.withLock { statsLock.withLock {} }
        statsLock.withLock { deviceLock.withLock {} }
    },
    Scenario(name: "a double release", expected: [.releaseNotHeld]) {
        let old = statsLock.acquire()
        statsLock.release(old)
        statsLock.release(old)
    },
]

guard LockValidator.isCompiledIn else {
    print("Built without the Validation trait: the locks are plain spin locks and nothing is checked.")
    exit(0)
}

var failures = 0
var everything: [Violation] = []
print("LockValidator demo: \(scenarios.count) scenarios\n")
for (index, scenario) in scenarios.enumerated() {
    let found = LockValidator.violations(during: {
        let processor = ProcessorThread(name: "cpu\(index)", scenario.body)
        processor.join()
    })
    everything += found
    let rules = found.map(\.rule)
    let verdict = rules == scenario.expected ? "as expected" : "UNEXPECTED"
    if rules != scenario.expected { failures += 1 }
    let shown = rules.isEmpty ? "clean" : rules.map(\.rawValue).joined(separator: ", ")
    print("\(index + 1). \(scenario.name)\n   found: \(shown)  [\(verdict)]")
    if let first = found.first, first.rule == .lockOrderInversion {
        print("\n   The report for it:")
        print(
            first.rendered().split(separator: "\n", omittingEmptySubsequences: false).map { "   | " + $0 }.joined(
                separator: "\n"))
    }
}
print("\n\(scenarios.count - failures) of \(scenarios.count) scenarios reported exactly what they should.")
var report = LockValidator.currentReport
report.violations = everything
let failuresWriting = [
    LockValidatorFiles.write(report.jsonText(), to: "lockvalidator-report.json"),
    LockValidatorFiles.write(report.html(), to: "lockvalidator-report.html"),
].compactMap { $0 }
failuresWriting.forEach { print("could not write: \($0)") }
print(
    "Wrote lockvalidator-report.json and lockvalidator-report.html; try: swift run lockval show lockvalidator-report.json"
)
if failures > 0 { exit(1) }

#if canImport(Glibc)
    import Glibc
#endif
