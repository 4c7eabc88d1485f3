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
        // A violation that ends the process fails the test at once: no tearDown will come.
        nonisolated(unsafe) let testCase = self
        let scope = ViolationScope(
            name: name, disposition: .collect, holdBudget: lockHoldBudget,
            onFatal: { violation in
                let location = violation.sourceLocation(fallback: nil)
                testCase.recordFailure(
                    withDescription: violation.rendered(.text), inFile: location.path, atLine: location.line,
                    expected: true)
            })
        self.scope = scope
        scope.run {
            entry = ScopeEntry()
            super.invokeTest()
        }
    }

    open override func tearDown() {
        if let scope, let entry {
            // XCTest on Linux does not know where a test method is: the leak is placed by its own stack.
            scope.run { entry.checkEnd(scope: name, site: nil) }
            let failOn = lockFailOn ?? LockValidator.configuration.failOn
            for violation in scope.end() where !allowedLockRules.contains(violation.rule) {
                guard violation.fails(under: failOn) else {
                    // XCTest has no warnings: said on standard error, as the validator says the rest.
                    FileHandle.standardError.write(Data(("warning: " + violation.rendered(.text)).utf8))
                    ViolationScope.logHandled(violation)
                    continue
                }
                let location = violation.sourceLocation(fallback: nil)
                recordFailure(
                    withDescription: violation.rendered(.text), inFile: location.path, atLine: location.line,
                    expected: true)
                ViolationScope.logHandled(violation)
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
            let prefix = message().isEmpty ? "" : message() + "\n"
            XCTFail(prefix + violation.rendered(.text), file: file, line: line)
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
