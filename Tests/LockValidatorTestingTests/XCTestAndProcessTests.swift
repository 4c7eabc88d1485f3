import LockValidatorTesting
import SpinLocks
import TestSupport
import Testing
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// XCTest cases run by hand in child processes (their methods are not named `test…`, so XCTest does
/// not discover them in this suite).
final class FaultyXCTestCase: LockValidatedTestCase {
    // The cases count their failures: a hold-time warning on a loaded host would be one too many (a
    // precondition's SIGILL in the exit test). TestSupport.testHoldBudget says why.
    override var lockHoldBudget: Duration? { testHoldBudget }

    func takesItsLockTwice() {
        let lock = SpinLock("FaultyXCTestCase.lock")
        lock.withLock { lock.withLock {} }
    }

    func takesItsLockOnce() {
        let lock = SpinLock("CleanXCTestCase.lock")
        lock.withLock {}
    }

    static let cycleA = SpinLock("FaultyXCTestCase.cycle.A")
    static let cycleB = SpinLock("FaultyXCTestCase.cycle.B")

    /// The failures recorded in this process, for a child process to check.
    nonisolated(unsafe) static var failures: [String] = []

    override func recordFailure(
        withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool
    ) {
        Self.failures.append(description)
        super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
    }

    func takesTheSharedCycle() {
        Self.cycleA.withLock { Self.cycleB.withLock {} }
        Self.cycleB.withLock { Self.cycleA.withLock {} }
    }

    func assertsAroundAnInversion() {
        let a = SpinLock("XCTAssert.A")
        let b = SpinLock("XCTAssert.B")
        XCTAssertNoLockViolations {
            a.withLock { b.withLock {} }
            b.withLock { a.withLock {} }
        }
    }
}

/// A test class whose own setting fails only cycles that can deadlock.
final class CanDeadlockXCTestCase: LockValidatedTestCase {
    override var lockFailOn: Configuration.FailOn? { .canDeadlock }
    override var lockHoldBudget: Duration? { testHoldBudget }

    func takesACycleOnOneThread() { TraitAndExpectationTests.oneThreadCycle("CanDeadlockXCTestCase.one") }

    func takesACycleOnTwoThreads() { TraitAndExpectationTests.twoThreadCycle("CanDeadlockXCTestCase.two") }
}

@Suite struct XCTestAndProcessTests {
    /// `lockFailOn` decides for the process too: a cycle it makes a warning is one on standard error and
    /// does not set the exit status (66 here, as LockValidatorPthreads sets it); one it fails on does.
    @Test func aTestClassesFailOnMakesAWarningThatDoesNotFailTheProcess() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "66", 1)
            let warned = CanDeadlockXCTestCase(name: "takesACycleOnOneThread") {
                ($0 as! CanDeadlockXCTestCase).takesACycleOnOneThread()
            }
            warned.run()
            precondition(warned.testRun?.failureCount == 0, "warned: \(warned.testRun?.failureCount ?? -1)")
            exit(0)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            standardError.contains(": warning: CanDeadlockXCTestCase.takesACycleOnOneThread : lock-order-inversion: "),
            "\(standardError)")
        #expect(standardError.contains("\nWARNING: lock-order-inversion: ") && !standardError.contains("ERROR:"))
        await #expect(processExitsWith: .exitCode(66)) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "66", 1)
            let failed = CanDeadlockXCTestCase(name: "takesACycleOnTwoThreads") {
                ($0 as! CanDeadlockXCTestCase).takesACycleOnTwoThreads()
            }
            failed.run()
            precondition(failed.testRun?.failureCount == 1, "failed: \(failed.testRun?.failureCount ?? -1)")
            exit(0)
        }
    }

    @Test func theXCTestBaseClassFailsAFaultyCaseAndPassesACleanOne() async {
        await #expect(processExitsWith: .success) {
            let faulty = FaultyXCTestCase(name: "takesItsLockTwice") { ($0 as! FaultyXCTestCase).takesItsLockTwice() }
            faulty.run()
            let clean = FaultyXCTestCase(name: "takesItsLockOnce") { ($0 as! FaultyXCTestCase).takesItsLockOnce() }
            clean.run()
            let asserted = FaultyXCTestCase(name: "assertsAroundAnInversion") {
                ($0 as! FaultyXCTestCase).assertsAroundAnInversion()
            }
            asserted.run()
            precondition(faulty.testRun?.failureCount == 1, "faulty: \(faulty.testRun?.failureCount ?? -1)")
            precondition(clean.testRun?.failureCount == 0, "clean: \(clean.testRun?.failureCount ?? -1)")
            precondition(asserted.testRun?.failureCount == 1, "asserted: \(asserted.testRun?.failureCount ?? -1)")
            exit(0)
        }
    }

    /// Two test cases run one after the other on one thread each take the same cycle: both fail, the
    /// second's failure naming the first report; the process log keeps one entry counting both. Before,
    /// the chains the first validated stayed cached for the thread and the second passed.
    @Test func aLaterXCTestCaseThatTakesACycleAnotherReportedFailsToo() async {
        await #expect(processExitsWith: .success) {
            let runs = (0..<2).map { _ in
                let run = FaultyXCTestCase(name: "takesTheSharedCycle") {
                    ($0 as! FaultyXCTestCase).takesTheSharedCycle()
                }
                run.run()
                return run.testRun?.failureCount ?? -1
            }
            precondition(runs == [1, 1], "failures: \(runs)")
            let logged = LockValidator.violations.filter { $0.rule == .lockOrderInversion }
            precondition(logged.count == 1 && logged[0].occurrences == 2, "logged: \(logged)")
            let told = "; this cycle was reported first in \"FaultyXCTestCase.takesTheSharedCycle\""
            precondition(FaultyXCTestCase.failures.count == 2 && FaultyXCTestCase.failures[1].contains(told))
            exit(0)
        }
    }

    @Test func exitCodeMakesAProcessWithViolationsExitWithIt() async {
        await #expect(processExitsWith: .exitCode(7)) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "7", 1)
            ProcessorThread { IRQL.lower(to: .high) }.join()
            exit(0)
        }
        await #expect(processExitsWith: .success) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "7", 1)
            ProcessorThread { IRQL.lower(to: .passive) }.join()
            exit(0)
        }
    }

    /// The exit status is set after every other exit handler ran, and buffered standard output (a
    /// pipe here) still arrives.
    @Test func theExitStatusKeepsBufferedOutput() async {
        let result = await #expect(processExitsWith: .exitCode(9), observing: [\.standardOutputContent]) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "9", 1)
            atexit { print("written by a later exit handler") }
            print("buffered before exit")
            ProcessorThread { IRQL.lower(to: .high) }.join()
            exit(0)
        }
        let output = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
        #expect(output.contains("buffered before exit"))
        #expect(output.contains("written by a later exit handler"))
    }

    @Test func violationsOutsideAnyTestFailTheRunAtTheEnd() async {
        let result = await #expect(processExitsWith: .exitCode(1), observing: [\.standardErrorContent]) {
            // A validated test ran in this process (and passed)...
            let clean = FaultyXCTestCase(name: "takesItsLockOnce") { ($0 as! FaultyXCTestCase).takesItsLockOnce() }
            clean.run()
            precondition(clean.testRun?.failureCount == 0)
            // ...and then a thread no test started broke a rule.
            var thread = pthread_t()
            pthread_create(
                &thread, nil,
                { _ in
                    IRQL.lower(to: .high); return nil
                }, nil)
            pthread_join(thread, nil)
            exit(0)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("violations outside any test scope fail the run"))
        #expect(standardError.contains("irql-lower-invalid"))
    }
}
