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
        let violations = DeadlockConfirmation.annotated(LockValidator.globalLog.snapshot)
        let suppressed = LockValidator.suppressedLog.snapshot
        let edges = LockOrder.graphEdges
        let classes = LockClass.all.compactMap { lockClass -> ValidationReport.ClassDescription? in
            let levels = lockClass.levelsUsed.load(ordering: .relaxed)
            // A class that only a learned order named, and this process never held, is not this report's.
            if levels == 0 && LearnedOrders.seededClassIDs.contains(lockClass.id) { return nil }
            let irqls = (0..<16).filter { levels & (1 << $0) != 0 }.map { IRQL(unchecked: UInt8($0)) }
            return ValidationReport.ClassDescription(name: lockClass.name, site: lockClass.site, irqls: irqls)
        }
        return ValidationReport(
            process: .current, config: .init(settings: settings, errors: errors.map(\.description)),
            violations: violations, suppressed: suppressed, graph: .init(classes: classes, edges: edges),
            chains: LockOrder.chainCount,
            lockStatistics: LockClass.statisticsReports)
    }

    /// ``currentReport()``; when nothing was found, with names from symbol tables alone and the images
    /// of its code sites recorded for a later lookup (``ValidationReport/ProcessDescription/deferredImages``).
    static func currentReportDeferringLookUpsWhenClean() -> ValidationReport {
        guard LockValidator.globalLog.snapshot.isEmpty && LockValidator.suppressedLog.snapshot.isEmpty else {
            return currentReport()
        }
        var report = Symbolizer.deferringDebugInformation { currentReport() }
        let sites =
            report.graph.classes.compactMap { $0.site?.code }
            + report.graph.edges.flatMap { [$0.fromAcquiredAt.code, $0.toAcquiredAt.code].compactMap { $0 } }
        report.process.deferredImages = ValidationReport.ImageDescription.images(holding: sites)
        return report
    }

    /// `report` as pretty-printed JSON, every stack's names and lines looked up in one batch.
    static func json(_ report: ValidationReport) -> String {
        TextReport.prefetch(
            report.violations + report.suppressed,
            alsoResolving: edgeStackAddresses(report.graph))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        } catch {
            return "{\"schema\": \"\(ValidationReport.schemaName)\", \"error\": \"\(error)\"}\n"
        }
    }

    /// The addresses an edge stack's kept frames can come from: its innermost frames, with room for the
    /// validator's own frames that are trimmed from the top; each distinct stack once.
    static func edgeStackAddresses(_ graph: ValidationReport.Graph) -> [UInt] {
        let stacks = Set(graph.edges.compactMap { $0.stack?.addresses })
        return Array(Set(stacks.flatMap { $0.prefix(ValidationReport.Graph.edgeStackDepth + 8) }))
    }

    /// Violations alone as a report, for ``Violation/rendered(_:)``.
    static func json(violations: [Violation], suppressed: [Violation]) -> String {
        var report = currentReport()
        report.violations = violations
        report.suppressed = suppressed
        return json(report)
    }

    /// Writes the report to `LOCKVALIDATOR_REPORT` (or the configured path), if one is set: a file,
    /// a `%p` pattern or a directory (``ReportPath``).
    ///
    /// One file shared by a run's processes gets all of them: under a lock on its directory, a report
    /// there from the same run (``ValidationReport/ProcessDescription/run``) is merged with this one,
    /// and one from an earlier run is replaced.
    ///
    /// A process that found nothing (most test processes) names nothing from debug information: its
    /// report's code sites and classes are named from symbol tables, and the images they are in recorded,
    /// for `lockval` to look their lines up when it reads the report (a large debug test binary makes
    /// `llvm-symbolizer` take a second or more). A shared file that gains a violation is looked up whole.
    static func writeConfiguredReport() {
        guard let configured = ConfigurationStore.loaded.configuration.reportPath else { return }
        // SwiftPM's listing of the tests (before a filtered `swift test`) runs none: when it found nothing
        // either, the run's report lists only the processes that tested.
        if isTestListing && LockValidator.globalLog.snapshot.isEmpty && LockValidator.suppressedLog.snapshot.isEmpty {
            return
        }
        let path = ReportPath.resolved(configured)
        let report = currentReportDeferringLookUpsWhenClean()
        // Names and lines are looked up (child processes) before the lock, never while holding it.
        let text =
            report.process.deferredImages == nil ? json(report) : Symbolizer.deferringDebugInformation { json(report) }
        let written = DirectoryLock.withLock(containing: path) { () -> Result<Void, FileWriteError>? in
            guard TextFile.mayReplace(path, holding: "\"\(ValidationReport.schemaName.dropLast(1))") else {
                return nil
            }
            var merged = text
            if ReportPath.isShared(configured),
                let earlier = try? ValidationReport.load(from: path, resolvingDeferredLookUps: false),
                let run = report.process.run, earlier.processes.allSatisfy({ $0.run == run })
            {
                let union = ValidationReport.merged([earlier, report])
                if union.violations.isEmpty {
                    merged = Symbolizer.deferringDebugInformation { json(union) }
                } else if union.processes.contains(where: { $0.deferredImages != nil }) {
                    merged = json(.merged([earlier.resolvingDeferredLookUps(), currentReport()]))
                } else {
                    merged = json(union)
                }
            }
            return Result { () throws(FileWriteError) in try TextFile.writeAtomically(merged, to: path) }
        }
        switch written {
        case nil:
            printToStandardError(
                "LockValidator: LOCKVALIDATOR_REPORT: \(path) is not a LockValidator report; it is left as it is and"
                    + " no report was written (choose another path, or remove the file)")
        case .failure(let error)?: printToStandardError("LockValidator: LOCKVALIDATOR_REPORT: \(error)")
        case .success?: break
        }
    }
}

extension ReportWriter {
    /// Whether this process lists tests rather than running them (`--dump-tests-json`, `--list-tests`).
    static var isTestListing: Bool {
        CommandLine.arguments.dropFirst().contains { $0 == "--dump-tests-json" || $0 == "--list-tests" }
    }
}

extension ValidationReport {
    /// The report as pretty-printed JSON (schema `lockvalidator-report/1`), names and lines of every
    /// stack looked up in one batch while this process can still do so.
    public func jsonText() -> String { ReportWriter.json(self) }
}
