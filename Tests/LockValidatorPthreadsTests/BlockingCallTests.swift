import Foundation
import LockValidator
import Testing

/// The C library's calls that block, made where a thread must not block (a SpinLock held, or above
/// APC_LEVEL), are `blocking-while-held` once LockValidatorPthreads is linked: each scenario
/// (`blocking-call <call> <where>` in Tests/PthreadScenarios/BlockingCalls.swift) makes its call 25 times
/// on each of 4 threads, in a SpinLock those threads contend for, at DISPATCH_LEVEL, or holding nothing.
/// The hold budget is raised so that a hold across a sleep is not also `hold-time-exceeded`.
@Suite(.serialized) struct BlockingCallTests {
    static func run(_ call: String, _ context: String) throws -> PthreadInterpositionTests.Run {
        let run = try PthreadInterpositionTests.run(
            "blocking-call", [call, context], environment: ["LOCKVALIDATOR_HOLD_BUDGET_US": "1000000"])
        // Every call was made: the program goes on after a report.
        #expect(run.scenarioResult == 0, "\(run.output)\n\(run.error)")
        return run
    }

    /// The report of `function`, called under the spin lock: once (4 threads × 25 calls, one entry), with
    /// the spin lock named, its acquire site, and the stack from the program's call (in `caller`).
    static func expectReported(
        _ function: String, in run: PthreadInterpositionTests.Run, calledFrom caller: String = "BlockingCalls"
    ) throws {
        #expect(run.status == 66)
        let violation = try #require(
            run.report?.violations.first { $0.rule == .blockingWhileHeld && $0.summary.contains("\(function)()") },
            "\(run.error)")
        #expect(violation.occurrences == 100)
        #expect(violation.summary.contains("with the spin lock \"BlockingCalls.lock\""))
        #expect(violation.locks.map(\.name) == ["BlockingCalls.lock"])
        let held = try #require(violation.heldLocks.first)
        #expect(held.lock.name == "BlockingCalls.lock")
        #expect(held.acquiredAt.source?.fileID.hasSuffix("BlockingCalls.swift") == true)
        // The stack starts at the program's call: the interposer's frames are not shown.
        let frames = violation.stack.symbolicated(locations: false).compactMap(\.symbol)
        #expect(frames.first?.contains(caller) == true, "\(frames)")
        #expect(!frames.contains { $0.contains("lv_blocking_call") || $0.hasPrefix(function) })
    }

    // MARK: True positives: under a SpinLock

    @Test(arguments: [("usleep", "usleep"), ("nanosleep", "nanosleep"), ("poll", "poll"), ("pipe-read", "read")])
    func aCallThatBlocksUnderASpinLockIsBlockingWhileHeld(call: String, function: String) throws {
        let run = try Self.run(call, "spin-lock")
        #expect(run.rules == [.blockingWhileHeld])
        try Self.expectReported(function, in: run)
    }

    @Test func aFutexWaitThroughSyscallUnderASpinLockIsBlockingWhileHeld() throws {
        let run = try Self.run("futex-wait", "spin-lock")
        #expect(run.rules == [.blockingWhileHeld])
        // From the C function that makes the system call.
        try Self.expectReported("futex", in: run, calledFrom: "scenario_c_futex_wait_changed")
    }

    @Test func aConditionWaitUnderASpinLockIsBlockingWhileHeld() throws {
        let run = try Self.run("cond-timedwait", "spin-lock")
        try Self.expectReported("pthread_cond_timedwait", in: run)
        // Its mutex, taken under the spin lock before the wait and again by the wait, is reported by those
        // acquires (a sleeping lock taken there): three entries of one rule.
        #expect(run.rules == [.blockingWhileHeld, .blockingWhileHeld, .blockingWhileHeld])
        #expect(
            run.report?.violations.filter { $0.summary.contains("takes the sleeping lock \"mutex created at") }
                .count == 2)
    }

    @Test func aSleepUnderAPthreadSpinLockIsBlockingWhileHeld() throws {
        let run = try Self.run("usleep", "pthread-spin-lock")
        #expect(run.rules == [.blockingWhileHeld])
        let violation = try #require(run.report?.violations.first)
        // A lock that spins is a spin lock, whatever its front end: the pthread spin lock, named by its init.
        #expect(
            violation.summary.contains("called usleep(), which may block, with the spin lock \"spin lock created at"))
        #expect(violation.occurrences == 100)
    }

    @Test func aSleepAtDispatchLevelHoldingNothingIsBlockingWhileHeld() throws {
        let run = try Self.run("nanosleep", "dispatch-level")
        #expect(run.rules == [.blockingWhileHeld])
        let violation = try #require(run.report?.violations.first)
        #expect(violation.summary.contains("called nanosleep(), which may block, at DISPATCH_LEVEL"))
        #expect(violation.locks.isEmpty && violation.heldLocks.isEmpty)
        #expect(violation.occurrences == 100)
    }

    /// `DispatchSemaphore.wait` and `DispatchGroup.wait` under a spin lock (issue 32, point 2).
    @Test(arguments: [("semaphore-wait", "dispatch_semaphore_wait"), ("group-wait", "dispatch_group_wait")])
    func aDispatchWaitUnderASpinLockIsBlockingWhileHeld(call: String, function: String) throws {
        let run = try Self.run(call, "spin-lock")
        #expect(run.rules == [.blockingWhileHeld], "\(run.error)")
        try Self.expectReported(function, in: run)
    }

    // MARK: True negatives

    @Test(arguments: [
        "usleep", "nanosleep", "cond-timedwait", "poll", "pipe-read", "futex-wait", "semaphore-wait", "group-wait",
    ])
    func theSameCallHoldingNoSpinLockIsSilent(call: String) throws {
        let run = try Self.run(call, "nothing-held")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0)
    }

    /// Calls that cannot wait for another party: a read of an O_NONBLOCK pipe, a write to a regular file,
    /// a poll with a zero timeout.
    @Test(arguments: ["nonblocking-pipe-read", "file-write", "poll-zero-timeout", "semaphore-wait-now"])
    func aCallThatCannotBlockUnderASpinLockIsSilent(call: String) throws {
        let run = try Self.run(call, "spin-lock")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0)
    }

    // MARK: Scopes

    @Test func aScopeCollectsTheBlockingCallsMadeInIt() throws {
        let run = try PthreadInterpositionTests.run(
            "blocking-call-in-scope", environment: ["LOCKVALIDATOR_HOLD_BUDGET_US": "1000000"])
        // On the scope's thread and on the thread it started; the process log has none.
        #expect(run.collected.count == 2)
        #expect(run.collected.allSatisfy { $0.hasPrefix("blocking-while-held in scope:") && $0.contains("usleep()") })
        #expect(run.rules == [])
        #expect(run.status == 0)
    }

    @Test func withInterpositionOffABlockingCallIsNotSeen() throws {
        let run = try PthreadInterpositionTests.run(
            "blocking-call", ["usleep", "spin-lock"],
            environment: ["LOCKVALIDATOR_HOLD_BUDGET_US": "1000000", "LOCKVALIDATOR_PTHREADS": "off"])
        #expect(run.rules == [])
        #expect(!run.error.contains("blocking-while-held"))
    }
}
