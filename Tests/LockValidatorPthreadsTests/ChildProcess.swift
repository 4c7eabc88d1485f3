import Foundation
import LockValidator

/// A test's child process, run to its end with a report file (LOCKVALIDATOR_REPORT; the parent's other
/// LOCKVALIDATOR_ settings left out): what the suites that run programs under the interposer share.
struct ChildProcess {
    let status: Int32
    let reason: Process.TerminationReason
    /// Killed at its time limit.
    let killed: Bool
    let seconds: Double
    let output: String
    let error: String
    let report: ValidationReport?

    /// Standard output, then standard error.
    var transcript: String { output + error }
    var rules: [Rule] { report?.violations.map(\.rule) ?? [] }
    /// The report's `deadlock` violation, if any.
    var deadlock: Violation? { report?.violations.first { $0.rule == .deadlock } }
    /// What the scenario itself returned, when it finished (its last line `…: <name> returned <n>`).
    var scenarioResult: Int32? {
        output.split(separator: "\n").last { $0.contains(": ") && $0.contains(" returned ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int32($0) }
    }

    /// Runs `executable` with `arguments` and `environment` added; kills it (SIGKILL) after `limit`.
    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String], reportName: String,
        limit: Duration
    ) throws -> ChildProcess {
        let reportPath = NSTemporaryDirectory() + "\(reportName)-\(getpid())-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: reportPath) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LOCKVALIDATOR") }
        variables["LOCKVALIDATOR_REPORT"] = reportPath
        // The children's tests are about other rules; a loaded host's stolen time can push one of their short
        // spin-lock holds past 25 µs (HoldTimeTests test the budget, in process). A test may set its own.
        variables["LOCKVALIDATOR_HOLD_BUDGET_US"] = "1000000"
        variables.merge(environment) { _, new in new }
        process.environment = variables
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let start = ContinuousClock.now
        try process.run()
        // Read while it runs: a full pipe would stop the child.
        nonisolated(unsafe) var outputData = Data()
        nonisolated(unsafe) var errorData = Data()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { outputData = output.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: reading) { errorData = error.fileHandleForReading.readDataToEndOfFile() }
        var killed = false
        if finished.wait(timeout: .now() + .seconds(Int(limit.components.seconds))) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            killed = true
            finished.wait()
        }
        let elapsed = ContinuousClock.now - start
        reading.wait()
        let report = try? JSONDecoder().decode(
            ValidationReport.self, from: Data(contentsOf: URL(fileURLWithPath: reportPath)))
        return ChildProcess(
            status: process.terminationStatus, reason: process.terminationReason, killed: killed,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            output: String(decoding: outputData, as: UTF8.self), error: String(decoding: errorData, as: UTF8.self),
            report: report)
    }
}
