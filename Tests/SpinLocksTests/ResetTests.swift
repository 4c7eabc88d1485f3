import TestSupport
import Testing
import _LockValidatorShims

@testable import LockValidator
@testable import SpinLocks

/// `LockValidator.reset()` forgets what was learned, statistics included, and reuses its tables.
@Suite struct ResetTests {
    /// `reset()` forgets process-wide state that parallel tests rely on, so this runs in a child process.
    @Test func resetForgetsStatisticsAndKeepsTheChainTable() async {
        await #expect(processExitsWith: .success) {
            let a = SpinLock("Reset.A")
            let b = SpinLock("Reset.B")
            let mutex = LockID("Reset.mutex")
            for _ in 0..<10 {
                a.withLock { b.withLock {} }
                LockValidator.acquire(mutex)
                LockValidator.acquired(mutex)
                LockValidator.release(mutex)
            }
            let before = LockValidator.currentReport
            precondition(before.lockStatistics.count == 3, "statistics before: \(before.lockStatistics.map(\.name))")
            precondition(before.statistics.chains == 1 && LockValidator.lockOrderEdges.count == 1)
            let table = ChainCache.tableAddress

            LockValidator.reset()
            let after = LockValidator.currentReport
            precondition(after.lockStatistics.isEmpty, "reset kept statistics: \(after.lockStatistics)")
            precondition(after.statistics.chains == 0 && LockValidator.lockOrderEdges.isEmpty)
            precondition(ChainCache.tableAddress == table, "reset replaced the chain table (and leaked the old one)")

            // What it learns next, it learns from scratch.
            a.withLock { b.withLock {} }
            let again = LockValidator.currentReport
            precondition(again.lockStatistics.map(\.acquisitions) == [1, 1], "\(again.lockStatistics)")
            precondition(again.statistics.chains == 1 && LockValidator.lockOrderEdges.count == 1)
        }
    }

    /// A lock's first hold since a reset is its first again (the one-shot hold-time rule reports only a
    /// first hold alone), as when each lock's counters were its own; its later holds are not. Two locks of
    /// a class: the second's first hold after the reset finds its class known again, where a spin lock's
    /// fast path would take it unmarked.
    @Test func resetMakesALocksNextHoldItsFirst() async {
        await #expect(processExitsWith: .success) {
            let locks = [SpinLock("Reset.first"), SpinLock("Reset.first")]
            let old = IRQL.raise(to: .dispatch)
            func holdIsMarkedFirst(_ lock: SpinLock) -> Bool {
                lock.acquireAtDpcLevel()
                let thread = ThreadState.current
                let marked = thread.held(thread.depth - 1).pointee.nesting & UInt8(LV_NESTING_FIRST_HOLD) != 0
                lock.releaseFromDpcLevel()
                return marked
            }
            for round in ["before", "after"] {
                if round == "after" { LockValidator.reset() }
                let marks = locks.flatMap { lock in (0..<3).map { _ in holdIsMarkedFirst(lock) } }
                precondition(marks == [true, false, false, true, false, false], "\(round) the reset: \(marks)")
            }
            IRQL.lower(to: old)
        }
    }
}
