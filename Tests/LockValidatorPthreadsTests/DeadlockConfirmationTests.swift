import Foundation
import LockValidator
import Testing

/// Confirmation mode (`LOCKVALIDATOR_CONFIRM`), end to end: `pthread-scenarios` runs as a child process
/// whose two threads take two NSLocks in opposite orders hundreds of milliseconds apart (a plain run never
/// has them meet). With the mode on, the thread that holds the first lock of a predicted order is held back
/// until the other takes the second, and the watchdog reports the deadlock as confirmed. Each pause ends
/// when the other thread takes the lock, so the tests give it a long bound: the machine's load cannot make
/// a pause end before the other thread arrives.
@Suite(.serialized) struct DeadlockConfirmationTests {
    typealias Run = PthreadInterpositionTests.Run

    static func deadlock(_ run: Run) -> Violation? { run.report?.violations.first { $0.rule == .deadlock } }
    static func inversion(_ run: Run) -> Violation? {
        run.report?.violations.first { $0.rule == .lockOrderInversion }
    }

    @Test func aCycleThisRunPredictedIsConfirmedWithTheInterleaving() throws {
        let run = try PthreadInterpositionTests.run(
            "confirm-abba-twice", environment: ["LOCKVALIDATOR_CONFIRM": "on", "LOCKVALIDATOR_CONFIRM_MS": "20000"])
        #expect(run.status == 66)
        let deadlock = try #require(Self.deadlock(run), "no deadlock: \(run.error)")
        let confirmation = try #require(deadlock.confirmation)
        #expect(confirmation.status == .confirmed)
        // The pause first (thread 0 held back holding the first lock until thread 1 took the second), then
        // the two waits of the deadlock.
        #expect(confirmation.interleaving.count == 3)
        let pause = try #require(confirmation.interleaving.first)
        #expect(pause.contains("held back") && pause.contains("meanwhile thread"))
        #expect(confirmation.interleaving.dropFirst().allSatisfy { $0.contains(" waits for ") })
        // The inversion round 0 found is the same cycle: confirmed too.
        #expect(Self.inversion(run)?.confirmation?.status == .confirmed)
        #expect(run.error.contains("confirmed: the cycle formed for real"))
    }

    /// The same inside a test: the inversion its scope collected is reported before the deadlock ends the
    /// run, and says confirmed.
    @Test func insideATestTheInversionIsReportedAndConfirmed() throws {
        let run = try PthreadInterpositionTests.run(
            "confirm-abba-twice",
            environment: [
                "LOCKVALIDATOR_CONFIRM": "on", "LOCKVALIDATOR_CONFIRM_MS": "20000", "PTHREAD_SCENARIO_TEST": "abba()",
            ])
        #expect(run.rules == [.lockOrderInversion, .deadlock])
        #expect(Self.deadlock(run)?.confirmation?.status == .confirmed)
        #expect(Self.inversion(run)?.confirmation?.status == .confirmed)
        // With how it formed: the scope's inversion is printed before the deadlock's report exists, and
        // once said "how:" over no steps (issue 33's newcomer run).
        let interleaving = Self.deadlock(run)?.confirmation?.interleaving ?? []
        #expect(!interleaving.isEmpty && Self.inversion(run)?.confirmation?.interleaving == interleaving)
        let inversion = try #require(run.error.range(of: "ERROR: lock-order-inversion"))
        let deadlock = try #require(run.error.range(of: "ERROR: deadlock"))
        #expect(inversion.lowerBound < deadlock.lowerBound)
        let said = run.error[inversion.lowerBound..<deadlock.lowerBound]
        #expect(said.contains("confirmed: the cycle formed for real (LOCKVALIDATOR_CONFIRM); how:\n  1. "), "\(said)")
    }

    @Test func withConfirmationOffTheSameProgramFinishesWithoutPauses() throws {
        let run = try PthreadInterpositionTests.run("confirm-abba-twice")
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.scenarioResult == 0)
        #expect(Self.inversion(run)?.confirmation == nil)
        #expect(!run.error.contains("LOCKVALIDATOR_CONFIRM"))
    }

    @Test func aGateLockedCycleStaysPredictedAndTheRunEndsAfterItsPauses() throws {
        let run = try PthreadInterpositionTests.run(
            "confirm-abba-gated", environment: ["LOCKVALIDATOR_CONFIRM": "on", "LOCKVALIDATOR_CONFIRM_MS": "1000"])
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.scenarioResult == 0)
        #expect(Self.inversion(run)?.confirmation?.status == .predicted)
        // Round 1: thread 0 held back before the gate until thread 1 (200 ms later) is held back holding
        // the gate and its first lock; then each thread once at its order, the gate keeping the other
        // out, each pause its full bound.
        #expect(run.error.contains("threads held back 3 times"), "\(run.error)")
        #expect(run.error.contains("(at most 20000 ms); no cycle formed: the cycles stay predicted"))
        // The prediction empties the chain cache, not the run's count of chains validated.
        let plain = try PthreadInterpositionTests.run("confirm-abba-gated")
        #expect(run.report?.chains == plain.report?.chains, "with the mode on and off")
        #expect((plain.report?.chains ?? 0) > 0)
    }

    /// Thread 1 takes its order under the gate, then again without it: holding thread 0 back at its
    /// order would keep the gate from thread 1; it is held back before the gate instead (issue 33).
    @Test func aCycleClosedOnlyOutsideTheGateIsConfirmedByAPauseBeforeTheGate() throws {
        let directory = NSTemporaryDirectory() + "confirm-gate-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let learning = try PthreadInterpositionTests.run(
            "confirm-abba-gate-sometimes", environment: ["LOCKVALIDATOR_GRAPH": directory])
        #expect(learning.rules == [.lockOrderInversion], "\(learning.error)")
        // Each pause that matters ends when the other thread arrives, 200 ms later: a long bound.
        let run = try PthreadInterpositionTests.run(
            "confirm-abba-gate-sometimes",
            environment: [
                "LOCKVALIDATOR_GRAPH": directory, "LOCKVALIDATOR_CONFIRM": "on", "LOCKVALIDATOR_CONFIRM_MS": "3000",
            ])
        #expect(run.status == 66)
        let deadlock = try #require(Self.deadlock(run), "no deadlock: \(run.error)")
        let confirmation = try #require(deadlock.confirmation)
        #expect(confirmation.status == .confirmed)
        let steps = confirmation.interleaving
        #expect(steps.first?.contains("a lock that leads into the cycle") == true, "\(steps)")
        #expect(steps.contains { $0.contains("held back") && $0.contains("meanwhile thread") }, "\(steps)")
        #expect(steps.suffix(2).allSatisfy { $0.contains(" waits for ") }, "\(steps)")
    }

    @Test func aCycleTheStoreLearnedIsConfirmedInTheNextRun() throws {
        let directory = NSTemporaryDirectory() + "confirm-store-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Run 1 predicts: it reports the inversion and keeps both orders in the store.
        let learning = try PthreadInterpositionTests.run(
            "confirm-abba-once", environment: ["LOCKVALIDATOR_GRAPH": directory])
        #expect(learning.rules == [.lockOrderInversion])
        // Run 2 confirms: thread 0's first order is already on a predicted cycle.
        let confirming = try PthreadInterpositionTests.run(
            "confirm-abba-once",
            environment: [
                "LOCKVALIDATOR_GRAPH": directory, "LOCKVALIDATOR_CONFIRM": "on", "LOCKVALIDATOR_CONFIRM_MS": "20000",
            ])
        let deadlock = try #require(Self.deadlock(confirming), "no deadlock: \(confirming.error)")
        #expect(deadlock.confirmation?.status == .confirmed)
        #expect(deadlock.confirmation?.interleaving.first?.contains("held back") == true)
        // Outside a test, as inside one: the inversion, then the deadlock that confirmed it (issue 33). Run 2
        // takes no order the store lacks: the first it takes again reports the cycle, before it waits.
        #expect(confirming.rules == [.lockOrderInversion, .deadlock], "\(confirming.error)")
        let inversion = try #require(Self.inversion(confirming))
        #expect(inversion.confirmation?.status == .confirmed)
        #expect(inversion.verdict == .acrossProcesses)
        let said = try #require(confirming.error.range(of: "ERROR: lock-order-inversion"), "\(confirming.error)")
        let ended = try #require(confirming.error.range(of: "ERROR: deadlock"))
        #expect(said.lowerBound < ended.lowerBound)
        #expect(confirming.error[ended.lowerBound...].contains("confirmed: the cycle formed for real"))
    }

    @Test func aBadSettingIsOneLineAndLeavesTheModeOff() throws {
        let run = try PthreadInterpositionTests.run(
            "confirm-abba-twice", environment: ["LOCKVALIDATOR_CONFIRM": "yes", "LOCKVALIDATOR_CONFIRM_MS": "0"])
        #expect(run.error.contains("LOCKVALIDATOR_CONFIRM=\"yes\" is not valid: expected on or off (it stays off)"))
        #expect(run.error.contains("LOCKVALIDATOR_CONFIRM_MS=\"0\" is not valid"))
        #expect(run.rules == [.lockOrderInversion])
        #expect(Self.inversion(run)?.confirmation == nil)
    }
}
