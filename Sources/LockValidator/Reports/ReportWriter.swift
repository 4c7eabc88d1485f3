import FoundationEssentials
import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Builds ``ValidationReport``s from the validator's state and writes them as JSON.
enum ReportWriter {
    /// The report of everything found so far in this process.
    static func currentReport() -> ValidationReport {
        let (settings, errors) = ConfigurationStore.loaded
        let violations = LockValidator.globalLog.snapshot
        let suppressed = LockValidator.suppressedLog.snapshot
        let edges = Dependencies.graphEdges
        let classes = LockClass.all.compactMap { lockClass -> ValidationReport.ClassDescription? in
            let levels = lockClass.levelsUsed.load(ordering: .relaxed)
            let irqls = (0..<16).filter { levels & (1 << $0) != 0 }.map { IRQL(unchecked: UInt8($0)) }
            return ValidationReport.ClassDescription(name: lockClass.name, site: lockClass.site, irqls: irqls)
        }
        return ValidationReport(
            process: .current, config: .init(settings: settings, errors: errors.map(\.description)),
            violations: violations, suppressed: suppressed, graph: .init(classes: classes, edges: edges),
            chains: Dependencies.state.withLock { _ in ChainCache.chainCount },
            lockStatistics: LockClass.all.compactMap(\.statisticsReport))
    }

    /// `report` as pretty-printed JSON, every stack's names and lines looked up in one batch.
    static func json(_ report: ValidationReport) -> String {
        var addresses: [UInt] = []
        for violation in report.violations + report.suppressed {
            addresses += violation.stack.addresses
            for edge in violation.edges { addresses += edge.stack.addresses }
            for usage in violation.usages { addresses += usage.stack.addresses }
        }
        _ = Symbolizer.resolve(addresses, locations: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        } catch {
            return "{\"schema\": \"\(ValidationReport.schemaName)\", \"error\": \"\(error)\"}\n"
        }
    }

    /// Violations alone as a report, for ``Violation/rendered(_:)``.
    static func json(violations: [Violation], suppressed: [Violation]) -> String {
        var report = currentReport()
        report.violations = violations
        report.suppressed = suppressed
        return json(report)
    }

    /// Writes `text` to `path` atomically: a temporary file beside it, flushed, then renamed over it,
    /// so a crash mid-write never leaves half a report.
    ///
    /// - Returns: nil, or a one-line error.
    static func writeAtomically(_ text: String, to path: String) -> String? {
        let temporary = "\(path).tmp-\(getpid())"
        guard let file = fopen(temporary, "wb") else {
            return "cannot create \(temporary): \(String(cString: strerror(errno)))"
        }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == bytes.count, flushed else {
            unlink(temporary)
            return "cannot write \(temporary): \(String(cString: strerror(errno)))"
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return "cannot rename \(temporary) to \(path): \(reason)"
        }
        return nil
    }

    /// Writes the report to `LOCKVALIDATOR_REPORT` (or the configured path), if one is set.
    static func writeConfiguredReport() {
        guard let path = ConfigurationStore.loaded.configuration.reportPath else { return }
        if let error = writeAtomically(json(currentReport()), to: path) {
            printToStandardError("LockValidator: LOCKVALIDATOR_REPORT: \(error)")
        }
    }
}

extension ValidationReport {
    /// The report as pretty-printed JSON (schema `lockvalidator-report/1`), names and lines of every
    /// stack looked up in one batch while this process can still do so.
    public func jsonText() -> String { ReportWriter.json(self) }
}

/// Atomic file writing for tools built on the validator (`lockval`).
public enum ReportFileWriting {
    /// Writes `text` to `path` through a temporary file and a rename; returns a one-line error, or nil.
    public static func writeAtomically(_ text: String, to path: String) -> String? {
        ReportWriter.writeAtomically(text, to: path)
    }
}

/// The table caps, readable on the new-edge path without taking the configuration lock.
final class CapacityCaps: Sendable {
    private let classes = Atomic(Configuration.Capacity().classes)
    private let edges = Atomic(Configuration.Capacity().edges)
    private let chains = Atomic(Configuration.Capacity().chains)
    private let stacks = Atomic(Configuration.Capacity().stacks)

    func apply(_ capacity: Configuration.Capacity) {
        classes.store(capacity.classes, ordering: .relaxed)
        edges.store(capacity.edges, ordering: .relaxed)
        chains.store(capacity.chains, ordering: .relaxed)
        stacks.store(capacity.stacks, ordering: .relaxed)
    }

    var capacity: Configuration.Capacity {
        _ = ConfigurationStore.loaded  // the environment is read first
        var capacity = Configuration.Capacity()
        capacity.classes = classes.load(ordering: .relaxed)
        capacity.edges = edges.load(ordering: .relaxed)
        capacity.chains = chains.load(ordering: .relaxed)
        capacity.stacks = stacks.load(ordering: .relaxed)
        return capacity
    }
}

let currentCapacity = CapacityCaps()

/// The process's configuration: read from the environment once, on first use; replaceable in code.
enum ConfigurationStore {
    private static let state = InternalLock<(configuration: Configuration, errors: [ConfigurationError])?>(nil)

    /// The configuration and the environment errors met reading it.
    static var loaded: (configuration: Configuration, errors: [ConfigurationError]) {
        state.withLock { state in
            if let state { return state }
            let environment = Configuration.environmentVariables.reduce(into: [String: String]()) { environment, name in
                if let value = getenv(name) { environment[name] = String(cString: value) }
            }
            let (configuration, errors) = Configuration.parse(environment)
            for error in errors { printToStandardError("LockValidator: \(error)") }
            apply(configuration)
            state = (configuration, errors)
            return (configuration, errors)
        }
    }

    static func replace(with configuration: Configuration) {
        _ = loaded
        state.withLock { state in
            state = (configuration, state?.errors ?? [])
            apply(configuration)
        }
    }

    /// Makes `configuration` take effect; the caller holds the state lock.
    private static func apply(_ configuration: Configuration) {
        lv_set_validation_enabled(configuration.isEnabled ? 1 : 0)
        HoldTiming.apply(configuration)
        currentCapacity.apply(configuration.capacity)
        if configuration.reportPath != nil || configuration.exitCode != nil { installExitHandler() }
    }

    /// Installs the one exit handler (idempotent): it writes the report, then sets the exit status. It
    /// runs after every handler registered with `atexit` once the program started (a test runner's).
    static func installExitHandler() {
        exitHandlerLock.withLock { installed in
            guard !installed else { return }
            installed = true
            lv_set_process_exit_hook { ProcessEnd.run() }
        }
    }

    private static let exitHandlerLock = InternalLock(false)
}

/// What happens when the process ends: the report is written, and a process that found violations
/// exits with `LOCKVALIDATOR_EXIT_CODE` (or, in a test run, with 1 for violations outside any test).
package enum ProcessEnd {
    /// Set by the testing module: violations no test scope caught fail the run at its end.
    package static func failRunOnUnscopedViolations() {
        unscopedFailRun.withLock { $0 = true }
        ConfigurationStore.installExitHandler()
    }

    private static let unscopedFailRun = InternalLock(false)

    static func run() {
        HoldEvidence.processEnded()
        ReportWriter.writeConfiguredReport()
        let violations = LockValidator.globalLog.snapshot
        let explicit = ConfigurationStore.loaded.configuration.exitCode
        let counted: [Violation]
        let code: Int
        if let explicit {
            (counted, code) = (violations, explicit)
        } else if unscopedFailRun.withLock({ $0 }) {
            (counted, code) = (violations.filter { $0.scope == nil }, 1)
        } else {
            return
        }
        guard !counted.isEmpty, code != 0 else { return }
        let why = explicit != nil ? "LOCKVALIDATOR_EXIT_CODE=\(code)" : "violations outside any test scope fail the run"
        printToStandardError(
            "LockValidator: \(counted.count) violation\(counted.count == 1 ? "" : "s") in this process (\(why)):\n"
                + counted.map { "  \($0)\n" }.joined() + "LockValidator: exiting with status \(code)")
        // Buffered standard output (a pipe, a file) is flushed first: `_exit` would drop it.
        lv_flush_and_exit(Int32(code))
    }
}
