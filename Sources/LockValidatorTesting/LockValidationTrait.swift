import LockValidator
import Testing

/// Fails a test (or every test of a suite) on each lock violation it caused, with the report as the
/// issue's comment, at the source location of the call into the lock.
///
/// A violation belongs to the test whose task, or whose `ProcessorThread`, caused it, so a clean
/// test running in parallel beside a faulty one stays green. A test that ends with a lock held or
/// IRQL raised fails with `scope-leak`. Violations outside any test fail the run at its end (exit
/// status 1, or `LOCKVALIDATOR_EXIT_CODE`).
///
/// ```swift
/// @Test(.lockValidation) func completesARequest() { ... }
/// @Suite(.lockValidation(holdBudget: .microseconds(100), allowing: [.holdTimeExceeded])) struct SlowPaths { ... }
/// ```
public struct LockValidationTrait: TestTrait, SuiteTrait, TestScoping {
    /// A longer hold budget these tests may use than the locks' own.
    public var holdBudget: Duration?
    /// Rules whose violations do not fail these tests.
    public var allowedRules: Set<Rule>
    /// Which `lock-order-inversion`s fail these tests; nil: `LOCKVALIDATOR_FAIL_ON` (every cycle by
    /// default). Under `.canDeadlock` a cycle that cannot deadlock is a warning issue with its reason.
    public var failOn: Configuration.FailOn? = nil

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's own scope only runs its tests; each test gets its own scope below.
        guard !test.isSuite else {
            try await function()
            return
        }
        ProcessEnd.failRunOnUnscopedViolations()
        let name = test.displayName ?? test.name
        let failOn = failOn
        let scope = ViolationScope(
            name: name, disposition: .collect, holdBudget: holdBudget, allowedRules: allowedRules,
            runEndLines: { violations, ending in
                Self.runEndLines(test: name, at: test.sourceLocation, violations, ending: ending, failOn: failOn)
            })
        let testSite = Site.source(fileID: test.sourceLocation.fileID, line: UInt(test.sourceLocation.line))
        defer { settle(scope, test: test) }
        try await scope.run {
            let entry = ScopeEntry()
            defer { entry.checkEnd(scope: test.displayName ?? test.name, site: testSite) }
            try await function()
        }
    }

    /// When a deadlock ends the run inside the test, which never records its issues: lines in Swift
    /// Testing's own format (`✘ Test name() recorded an issue at File.swift:12:5: …`), one per issue and
    /// one for the test, so that a CI log names the test that failed.
    package static func runEndLines(
        test: String, at location: SourceLocation, _ violations: [Violation], ending: Violation?,
        failOn: Configuration.FailOn?
    ) -> [String] {
        let failOn = failOn ?? LockValidator.configuration.failOn
        let issues = violations + (ending.map { [$0] } ?? [])
        var lines = issues.map { violation in
            let place = violation.sourceLocation(fallback: location)
            let fails = violation.fails(under: failOn)
            let kind = fails ? "✘ Test \(test) recorded an issue" : "⚠ Test \(test) recorded a warning"
            return "\(kind) at \(place.fileName):\(place.line):\(place.column): \(violation.rule.rawValue):"
                + " \(violation.summaryWithConfirmation)"
        }
        let count = "\(issues.count) issue\(issues.count == 1 ? "" : "s")"
        if let ending {
            let rule = ending.rule.rawValue
            lines.append("✘ Test \(test) failed with \(count): LockValidator ended the run on this \(rule)")
        } else {
            lines.append("✘ Test \(test) did not finish, with \(count): LockValidator ended the run in another test")
        }
        return lines
    }

    /// Records an issue per violation not allowed, and passes those on to the process report: decided
    /// under this trait's `failOn`, so that one it makes a warning is a warning there too and does not
    /// fail the process.
    private func settle(_ scope: ViolationScope, test: Test) {
        let configured = LockValidator.configuration.failOn
        for found in scope.end() where !allowedRules.contains(found.rule) {
            let violation = failOn.map { found.decided(underTestSetting: $0) } ?? found
            Issue.record(
                Comment(rawValue: violation.issueText),
                severity: violation.fails(underItsSettingOr: configured) ? .error : .warning,
                sourceLocation: violation.sourceLocation(fallback: test.sourceLocation))
            ViolationScope.logHandled(violation)
        }
    }
}

extension Trait where Self == LockValidationTrait {
    /// Fails the test on any lock violation it caused.
    public static var lockValidation: Self { LockValidationTrait(holdBudget: nil, allowedRules: []) }

    /// Fails the test on any lock violation it caused, but those of `rules`.
    ///
    /// - Parameter holdBudget: a longer hold budget these tests may use than the locks' own.
    /// - Parameter rules: the rules whose violations do not fail these tests.
    public static func lockValidation(holdBudget: Duration? = nil, allowing rules: Set<Rule> = []) -> Self {
        LockValidationTrait(holdBudget: holdBudget, allowedRules: rules)
    }

    /// Fails the test on any lock violation it caused, a `lock-order-inversion` only as `failOn` says:
    /// `.canDeadlock` makes a cycle that cannot deadlock in this run a warning, with its reason.
    public static func lockValidation(
        holdBudget: Duration? = nil, allowing rules: Set<Rule> = [], failOn: Configuration.FailOn
    ) -> Self {
        LockValidationTrait(holdBudget: holdBudget, allowedRules: rules, failOn: failOn)
    }
}

extension Violation {
    /// Where to point an issue: the call into the lock (a code site as debug information places it), else
    /// `fallback` (the test's own location). Never an invalid `SourceLocation`.
    func sourceLocation(fallback: SourceLocation) -> SourceLocation {
        guard let position = sourcePosition else { return fallback }
        let path = position.filePath ?? (fallback.fileID == position.fileID ? fallback.filePath : position.fileID)
        return SourceLocation(fileID: position.fileID, filePath: path, line: position.line, column: position.column)
    }
}
