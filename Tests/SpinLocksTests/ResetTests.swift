import TestSupport
import Testing

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
}
