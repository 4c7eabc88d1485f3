import _LockValidatorShims

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
