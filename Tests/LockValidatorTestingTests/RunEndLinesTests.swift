import LockValidator
import LockValidatorTesting
import SpinLocks
import TestSupport
import Testing

/// What a test framework's scope prints when a deadlock ends the run inside its test (which then never
/// records its issues): lines in the framework's own failure format, which a CI log reader finds.
@Suite struct RunEndLinesTests {
    /// A real violation: a recursive acquire, found on a fresh processor.
    static func violation() throws -> Violation {
        let lock = SpinLock(uniqueClassPrefix("run-end"))
        return try #require(violationsOnFreshProcessor { lock.withLock { lock.withLock {} } }.first)
    }

    @Test func swiftTestingLinesNameTheTestItsIssuesAndTheViolationThatEndedTheRun() throws {
        let collected = try Self.violation()
        let ending = try Self.violation()
        let here = SourceLocation(fileID: "Module/File.swift", filePath: "/p/File.swift", line: 7, column: 3)
        let lines = LockValidationTrait.runEndLines(
            test: "realDeadlock()", at: here, [collected], ending: ending, failOn: nil)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("✘ Test realDeadlock() recorded an issue at RunEndLinesTests.swift:"))
        #expect(lines[0].contains(": recursive-acquire: "))
        #expect(
            lines[2]
                == "✘ Test realDeadlock() failed with 2 issues: LockValidator ended the run on this recursive-acquire")
        // Another test running when the run ended: its own issues, and that it did not finish.
        let other = LockValidationTrait.runEndLines(test: "other()", at: here, [collected], ending: nil, failOn: nil)
        #expect(other.count == 2)
        #expect(
            other.last == "✘ Test other() did not finish, with 1 issue: LockValidator ended the run in another test")
    }

    @Test func xctestLinesAreItsFailureFormat() throws {
        let ending = try Self.violation()
        let lines = LockValidatedTestCase.runEndLines(test: "XCDanger.testRealDeadlock", [], ending: ending)
        #expect(lines.count == 2)
        #expect(lines[0].contains("RunEndLinesTests.swift:"))
        #expect(lines[0].contains(": error: XCDanger.testRealDeadlock : recursive-acquire - "))
        #expect(
            lines[1]
                == "Test Case 'XCDanger.testRealDeadlock' failed"
                + " (LockValidator ended the run on this recursive-acquire)")
    }
}
