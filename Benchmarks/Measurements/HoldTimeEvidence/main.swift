// Measures what the hold-time rule reports on this machine: false reports over many short holds, and
// how often single and repeated long holds are caught, idle and with three CPU hogs on the cores.
// A measurement, not a timing benchmark: run it on a quiet machine.
//   swift run -c release HoldTimeEvidence [short holds, default 10,000,000]
import Foundation
import LockValidator
import SpinLocks
import Synchronization

let budget = 25.0  // µs, the default
let shortHolds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 10_000_000
let trials = 200

func threadCPUTimeNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Busy work measured in the thread's own CPU time.
func burn(microseconds: Double) {
    let start = threadCPUTimeNanoseconds()
    while Double(threadCPUTimeNanoseconds() - start) < microseconds * 1_000 {}
}

@inline(never)
func hold(_ lock: SpinLock, microseconds: Double) {
    let old = lock.acquire()
    burn(microseconds: microseconds)
    lock.release(old)
}

/// Runs `count` busy threads while `body` runs.
func withHogs<Result>(_ count: Int, _ body: () -> Result) -> Result {
    let stop = Flag()
    let threads = (0..<count).map { _ in
        ProcessorThread {
            var spin: UInt64 = 0
            while !stop.isSet { spin &+= 1 }
            _ = spin
        }
    }
    defer {
        stop.set()
        threads.forEach { $0.join() }
    }
    return body()
}

final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// hold-time-exceeded reports (occurrences) among `violations`.
func holdReports(_ violations: [Violation]) -> Int {
    violations.filter { $0.rule == .holdTimeExceeded }.reduce(0) { $0 + $1.occurrences }
}

/// `total` holds of 2 µs on `threads` threads, each on its own lock made at one site (one class, one
/// acquire site: the evidence is shared).
func falseReports(threads: Int, total: Int) -> (reports: Int, seconds: Double) {
    let start = Date()
    let found = LockValidator.violations(during: {
        let workers = (0..<threads).map { _ in
            ProcessorThread {
                let lock = SpinLock()
                for _ in 0..<(total / threads) { hold(lock, microseconds: 2) }
            }
        }
        workers.forEach { $0.join() }
    })
    for violation in found where violation.rule == .holdTimeExceeded { details.append(describe(violation)) }
    return (holdReports(found), Date().timeIntervalSince(start))
}

/// The false reports' evidence, printed after the tables: which rule of evidence let noise through.
nonisolated(unsafe) var details: [String] = []

func describe(_ violation: Violation) -> String {
    guard let hold = violation.hold else { return violation.summary }
    let holds = (hold.earlierHolds + [hold]).map {
        // How long after the previous hold's release this one began: bursts of noise are close together.
        let after = $0.sincePreviousNanoseconds.map { String(format: "%.1f µs later: ", $0 / 1e3) } ?? ""
        return after
            + String(
                format: "%.0f µs own (%.0f wall, %d faults, %d involuntary switches, %.0f net of them, thread %u)",
                $0.ownNanoseconds / 1e3, $0.wallNanoseconds / 1e3, $0.pageFaults, $0.involuntarySwitches ?? -1,
                $0.netNanoseconds / 1e3, $0.thread)
    }
    return "\(hold.evidence.map { "\($0)" } ?? "?"): " + holds.joined(separator: "; ")
}

/// The share of `trials` one-shot sites (a fresh class each, one hold of `multiple` × the budget, its
/// own scope) reported, and of sites held that long twice in a row.
func detection(multiple: Double, holds: Int) -> Double {
    var caught = 0
    for trial in 0..<trials {
        let lock = SpinLock("detect-\(multiple)x\(holds)-\(trial)-\(UUID())")
        let found = LockValidator.violations(during: {
            ProcessorThread { for _ in 0..<holds { hold(lock, microseconds: multiple * budget) } }.join()
        })
        if holdReports(found) > 0 { caught += 1 }
    }
    return Double(caught) / Double(trials)
}

/// The share of `trials` warm sites (a lock held 20 times within its budget first, so no hold is its
/// first) reported after `holds` holds of `multiple` × the budget, `apart` µs of sleep between them:
/// what the repeated-site evidence alone catches.
func warmDetection(multiple: Double, holds: Int, apart: UInt32) -> Double {
    var caught = 0
    for trial in 0..<trials {
        let lock = SpinLock("warm-\(multiple)x\(holds)-\(apart)-\(trial)-\(UUID())")
        let found = LockValidator.violations(during: {
            ProcessorThread {
                for _ in 0..<20 { hold(lock, microseconds: 1) }
                for index in 0..<holds {
                    if index > 0 && apart > 0 { usleep(apart) }
                    hold(lock, microseconds: multiple * budget)
                }
            }.join()
        })
        if holdReports(found) > 0 { caught += 1 }
    }
    return Double(caught) / Double(trials)
}

func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

print("Hold-time evidence on this machine (budget \(Int(budget)) µs; \(trials) trials per detection cell)\n")
print(row(["load", "threads", "short holds (2 µs)", "false reports", "per million holds", "seconds"]))
print(row(["---", "---:", "---:", "---:", "---:", "---:"]))
for hogs in [0, 3] {
    for threads in [2, 1] {
        let (reports, seconds) =
            hogs == 0
            ? falseReports(threads: threads, total: shortHolds)
            : withHogs(hogs) { falseReports(threads: threads, total: shortHolds) }
        print(
            row([
                hogs == 0 ? "idle" : "\(hogs) CPU hogs", "\(threads)", "\(shortHolds)", "\(reports)",
                String(format: "%.3f", Double(reports) * 1e6 / Double(shortHolds)), String(format: "%.1f", seconds),
            ]))
    }
}
if !details.isEmpty { print("\nThe false reports' evidence:\n" + details.map { "- " + $0 }.joined(separator: "\n")) }
print("\nDetection rate of long holds\n")
print(row(["load", "one hold 2×", "one hold 4×", "one hold 8×", "two holds 2×", "two holds 4×", "two holds 8×"]))
print(row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]))
for hogs in [0, 3] {
    let rates = withHogs(hogs) {
        [1, 2].flatMap { holds in [2.0, 4, 8].map { detection(multiple: $0, holds: holds) } }
    }
    print(row([hogs == 0 ? "idle" : "\(hogs) CPU hogs"] + rates.map { String(format: "%.0f %%", $0 * 100) }))
}
print("\nDetection at a warm site (a lock held before: repeated evidence only)\n")
let warmCells: [(label: String, multiple: Double, holds: Int, apart: UInt32)] = [
    ("2 holds 8× back to back", 8, 2, 0), ("2 holds 8× 3 ms apart", 8, 2, 3_000),
    ("6 holds 4× back to back", 4, 6, 0), ("6 holds 2× back to back", 2, 6, 0), ("4 holds 2× 3 ms apart", 2, 4, 3_000),
]
print(row(["load"] + warmCells.map(\.label)))
print(row(["---"] + warmCells.map { _ in "---:" }))
for hogs in [0, 3] {
    let rates = withHogs(hogs) {
        warmCells.map { warmDetection(multiple: $0.multiple, holds: $0.holds, apart: $0.apart) }
    }
    print(row([hogs == 0 ? "idle" : "\(hogs) CPU hogs"] + rates.map { String(format: "%.0f %%", $0 * 100) }))
}
