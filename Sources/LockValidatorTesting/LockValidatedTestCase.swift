import LockValidator
import XCTest

/// An `XCTestCase` that fails each test on the lock violations it caused (in `tearDown`, where XCTest
/// on Linux can still take a failure), including a `scope-leak` for a test that ends with a lock held
/// or IRQL raised.
///
/// ```swift
/// final class DriverTests: LockValidatedTestCase {
///     func testCompletesARequest() { ... }
/// }
/// ```
open class LockValidatedTestCase: XCTestCase {
    private var scope: ViolationScope?
    private var entry: ScopeEntry?

    /// Rules whose violations do not fail these tests.
    open var allowedLockRules: Set<Rule> { [] }
    /// A longer hold budget these tests may use than the locks' own.
    open var lockHoldBudget: Duration? { nil }
    /// Which `lock-order-inversion`s fail these tests; nil: `LOCKVALIDATOR_FAIL_ON` (every cycle by
    /// default). Under `.canDeadlock` a cycle that cannot deadlock is printed as a warning with its reason.
    open var lockFailOn: Configuration.FailOn? { nil }

    open override func invokeTest() {
        ProcessEnd.failRunOnUnscopedViolations()
        let testName = name
        let scope = ViolationScope(
            name: name, disposition: .collect, holdBudget: lockHoldBudget, allowedRules: allowedLockRules,
            runEndLines: { violations, ending in Self.runEndLines(test: testName, violations, ending: ending) })
        self.scope = scope
        scope.run {
            entry = ScopeEntry()
            super.invokeTest()
        }
    }

    /// When a deadlock ends the run inside the test, which never reaches `tearDown`: lines in XCTest's own
    /// failure format (`File.swift:12: error: Case.testName : …`, then `Test Case '…' failed`), so that a
    /// CI log names the test that failed.
    package static func runEndLines(test: String, _ violations: [Violation], ending: Violation?) -> [String] {
        let issues = violations + (ending.map { [$0] } ?? [])
        var lines = issues.map { violation in
            let place = violation.sourceLocation(fallback: nil)
            return "\(place.path):\(place.line): error: \(test) : \(violation.rule.rawValue) -"
                + " \(violation.summaryWithConfirmation)"
        }
        lines.append(
            "Test Case '\(test)' failed (LockValidator ended the run"
                + (ending.map { " on this \($0.rule.rawValue))" } ?? " in another test)"))
        return lines
    }

    open override func tearDown() {
        if let scope, let entry {
            // XCTest on Linux does not know where a test method is: the leak is placed by its own stack.
            scope.run { entry.checkEnd(scope: name, site: nil) }
            let configured = LockValidator.configuration.failOn
            for found in scope.end() where !allowedLockRules.contains(found.rule) {
                // Decided under this class's lockFailOn: the report files and the exit status agree.
                let violation = lockFailOn.map { found.decided(underTestSetting: $0) } ?? found
                let location = violation.sourceLocation(fallback: nil)
                ViolationScope.logHandled(violation)
                guard violation.fails(underItsSettingOr: configured) else {
                    // XCTest has no warnings: one on standard error, in the shape of its failure lines.
                    let place = location.line > 0 ? "\(location.path):\(location.line): " : ""
                    let line = "\(place)warning: \(name) : \(violation.issueText)"
                    FileHandle.standardError.write(Data(line.utf8))
                    continue
                }
                recordFailure(
                    withDescription: violation.issueText, inFile: location.path, atLine: location.line, expected: true)
            }
        }
        super.tearDown()
    }
}

/// Fails the current XCTest with each lock violation `body` causes.
@discardableResult
public func XCTAssertNoLockViolations<Result>(
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Result
) rethrows -> Result {
    let scope = ViolationScope(name: "XCTAssertNoLockViolations", disposition: .collect)
    defer {
        scope.reportUnconfirmedHolds()
        for violation in scope.end() {
            // The violation's one line first (XCTest's failure line shows it), the message after it.
            let text = violation.issueText
            let headline = text.prefix { $0 != "\n" }
            let message = message().isEmpty ? "" : "\n" + message()
            XCTFail(headline + message + text.dropFirst(headline.count), file: file, line: line)
            ViolationScope.logHandled(violation)
        }
    }
    return try scope.run(body)
}

extension Violation {
    /// A file path and line for XCTest: the call into the lock (a code site as debug information places
    /// it), else the innermost frame of its stack that debug information places, else `fallback`.
    func sourceLocation(fallback: (path: String, line: Int)?) -> (path: String, line: Int) {
        if let position = sourcePosition ?? innermostPlacedFrame {
            return (position.filePath ?? position.fileID, position.line)
        }
        return fallback ?? ("<unknown>", 0)
    }
}
