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
        let location = test.sourceLocation
        let scope = ViolationScope(
            name: test.displayName ?? test.name, disposition: .collect, holdBudget: holdBudget,
            onFatal: { violation in
                // From the thread that found it, outside the test's task: Swift Testing posts it to the run.
                Issue.record(
                    Comment(rawValue: violation.rendered(.text)),
                    sourceLocation: violation.sourceLocation(fallback: location))
            })
        let testSite = Site.source(fileID: test.sourceLocation.fileID, line: UInt(test.sourceLocation.line))
        defer { settle(scope, test: test) }
        try await scope.run {
            let entry = ScopeEntry()
            defer { entry.checkEnd(scope: test.displayName ?? test.name, site: testSite) }
            try await function()
        }
    }

    /// Records an issue per violation not allowed, and passes those on to the process report.
    private func settle(_ scope: ViolationScope, test: Test) {
        let failOn = failOn ?? LockValidator.configuration.failOn
        for violation in scope.end() where !allowedRules.contains(violation.rule) {
            Issue.record(
                Comment(rawValue: violation.rendered(.text)),
                severity: violation.fails(under: failOn) ? .error : .warning,
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
