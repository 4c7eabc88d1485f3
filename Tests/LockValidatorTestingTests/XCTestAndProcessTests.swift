import Foundation
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
    func takesItsLockTwice() {
        let lock = SpinLock("FaultyXCTestCase.lock")
        lock.withLock { lock.withLock {} }
    }

    func takesItsLockOnce() {
        let lock = SpinLock("CleanXCTestCase.lock")
        lock.withLock {}
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

@Suite struct XCTestAndProcessTests {
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

    /// A routine that holds its spin lock for 200 µs once, outside any test scope, is in the process's
    /// exit report: no second hold can confirm it, so the end of the process reports it as held once.
    @Test func oneLongHoldIsInTheExitReport() async throws {
        let path = "/tmp/lockvalidator-one-long-hold-\(getpid()).json"
        defer { unlink(path) }
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_REPORT", "/tmp/lockvalidator-one-long-hold-\(getppid()).json", 1)
            setenv("LOCKVALIDATOR_HOLD_BUDGET_US", "25", 1)  // whatever the run's budget
            let lock = SpinLock("ExitReport.lock")
            lock.withLock { burnOwnTime(microseconds: 200) }
            exit(0)
        }
        let output = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(output.contains("hold-time-exceeded") && output.contains("once"), "\(output)")
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let hold = try #require(report.violations.first { $0.rule == .holdTimeExceeded }?.hold)
        #expect(hold.evidence == .once && hold.ownNanoseconds > 100_000, "\(hold)")
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
