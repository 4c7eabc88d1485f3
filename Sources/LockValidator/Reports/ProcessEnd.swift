import _LockValidatorShims

/// What happens when the process ends: the report is written, and a process that found violations
/// exits with `LOCKVALIDATOR_EXIT_CODE` (or, in a test run, with 1 for violations outside any test).
package enum ProcessEnd {
    /// Set by the testing module: violations no test scope caught fail the run at its end.
    package static func failRunOnUnscopedViolations() {
        unscopedFailRun.withLock { $0 = true }
        ConfigurationStore.installExitHandler()
    }

    /// Set by LockValidatorPthreads: a process that links it fails on any unsuppressed violation, with
    /// `status` (TSan's convention, 66), unless `LOCKVALIDATOR_EXIT_CODE` says otherwise.
    package static func failProcessOnViolations(status: Int) {
        defaultExitCode.withLock { $0 = status }
        ConfigurationStore.installExitHandler()
    }

    private static let unscopedFailRun = InternalLock(false)
    private static let defaultExitCode = InternalLock<Int?>(nil)

    static func run() {
        // What the report writing locks is the validator's business, not the program's.
        lv_enter_validator()
        defer { lv_leave_validator() }
        HoldEvidence.processEnded()
        ReportWriter.writeConfiguredReport()
        LearnedOrders.writeBack()
        DeadlockConfirmation.printSummary()
        // A cycle that cannot deadlock is a warning under LOCKVALIDATOR_FAIL_ON=can-deadlock, or its
        // test's own failOn.
        let failOn = ConfigurationStore.loaded.configuration.failOn
        let violations = LockValidator.globalLog.snapshot.filter { $0.fails(underItsSettingOr: failOn) }
        let configured = ConfigurationStore.loaded.configuration.exitCode
        let explicit = configured ?? defaultExitCode.withLock { $0 }
        let counted: [Violation]
        let code: Int
        if let explicit {
            (counted, code) = (violations, explicit)
        } else if unscopedFailRun.withLock({ $0 }) {
            (counted, code) = (violations.filter { $0.scope == nil || ViolationScope.isLate($0) }, 1)
        } else {
            return
        }
        guard !counted.isEmpty, code != 0 else { return }
        let why =
            configured != nil
            ? "LOCKVALIDATOR_EXIT_CODE=\(code)"
            : explicit != nil
                ? "LockValidatorPthreads fails a process with violations; LOCKVALIDATOR_EXIT_CODE=0 lets it pass"
                : "violations outside any test scope fail the run"
        printToStandardError(
            "LockValidator: \(counted.count) violation\(counted.count == 1 ? "" : "s") in this process (\(why)):\n"
                + counted.map { "  \($0)" + (ViolationScope.isLate($0) ? " [in \($0.scope!)]\n" : "\n") }.joined()
                + "LockValidator: exiting with status \(code)")
        // Buffered standard output (a pipe, a file) is flushed first: `_exit` would drop it.
        lv_flush_and_exit(Int32(code))
    }
}
