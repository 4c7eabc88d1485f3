import Foundation
import SpinLocks
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Confirmation mode (`LOCKVALIDATOR_CONFIRM`) with the validator's own spin locks: a thread about to
/// take the second lock of a predicted order is held back, holding the first, as a pthread lock's is;
/// the spin watchdog then reports the deadlock, confirmed. Each test is a process of its own (the mode
/// and the watchdog's timeout are read once; a deadlock ends the process).
@Suite struct SpinLockConfirmationTests {
    /// Round 0 of each thread teaches the cycle (thread two after thread one). In round 1 thread two
    /// starts 200 ms late: a plain run never has them meet, the mode holds thread one back holding A.
    static func abbaTwice(gated: Bool) {
        let gate = SpinLock(gated ? "ConfirmSpinGated.gate" : "ConfirmSpin.gate")
        let a = SpinLock(gated ? "ConfirmSpinGated.A" : "ConfirmSpin.A")
        let b = SpinLock(gated ? "ConfirmSpinGated.B" : "ConfirmSpin.B")
        @Sendable func order(_ outer: SpinLock, _ inner: SpinLock) {
            let old = gated ? gate.acquire() : outer.acquire()
            if gated { outer.acquireAtDpcLevel() }
            inner.acquireAtDpcLevel()
            inner.releaseFromDpcLevel()
            if gated { outer.releaseFromDpcLevel() }
            (gated ? gate : outer).release(old)
        }
        let oneDone = Signal()
        let twoDone = Signal()
        let one = ProcessorThread(name: "confirm-one") {
            order(a, b)
            oneDone.raise()
            twoDone.wait()
            order(a, b)
        }
        let two = ProcessorThread(name: "confirm-two") {
            oneDone.wait()
            order(b, a)
            twoDone.raise()
            usleep(200_000)
            order(b, a)
        }
        one.join()
        two.join()
    }

    @Test func aPredictedSpinLockCycleIsConfirmedByTheSpinWatchdog() async throws {
        let result = await #expect(processExitsWith: .signal(SIGABRT), observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "400", 1)
            setenv("LOCKVALIDATOR_CONFIRM", "on", 1)
            // Thread one's pause ends when thread two takes B, 200 ms later: a long bound.
            setenv("LOCKVALIDATOR_CONFIRM_MS", "20000", 1)
            Self.abbaTwice(gated: false)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        let timeout = try #require(standardError.range(of: "ERROR: spin-timeout"), "\(standardError.suffix(3000))")
        let report = standardError[timeout.lowerBound...]
        #expect(report.contains(": a deadlock"))
        #expect(report.contains("confirmed: the cycle formed for real (LOCKVALIDATOR_CONFIRM)"), "\(report)")
        #expect(report.contains("\"confirm-one\"") && report.contains("held back"), "\(report)")
        #expect(report.contains("holding \"ConfirmSpin.A\" before taking \"ConfirmSpin.B\"; meanwhile thread"))
    }

    @Test func aGateLockedSpinLockCycleStaysPredicted() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_CONFIRM", "on", 1)
            setenv("LOCKVALIDATOR_CONFIRM_MS", "200", 1)
            Self.abbaTwice(gated: true)
            let rules = LockValidator.violations.map(\.rule)
            precondition(rules == [.lockOrderInversion], "\(rules)")
            DeadlockConfirmation.printSummary()
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        // Round 1 holds each thread back once at its order (the gate keeps the other out), for the bound.
        #expect(standardError.contains("threads held back 2 times"), "\(standardError.suffix(3000))")
        #expect(standardError.contains("no cycle formed: the cycles stay predicted"))
    }
}
