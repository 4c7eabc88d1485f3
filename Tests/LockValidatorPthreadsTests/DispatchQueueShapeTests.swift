import Foundation
import LockValidator
import Testing

/// Serial queues in the shapes real code gives them (Tests/PthreadScenarios/QueueOwners.swift): an owner
/// flushing its queue from its deinit (GRDB's SerializedDatabase), blocks Dispatch makes itself
/// (DispatchWorkItem, `async` with a QoS or flags), and the main queue.
@Suite(.serialized) struct DispatchQueueShapeTests {
    typealias Run = PthreadInterpositionTests.Run

    /// GRDB 7.10.0's false positive: a deinit's `sync` onto the owner's idle queue with a lock held, while
    /// the owner's blocks take that lock; four threads contending for the lock. No block can run then.
    @Test func anOwnerFlushingItsIdleQueueFromItsDeinitIsClean() throws {
        let run = try PthreadInterpositionTests.run("queue-owner-deinit")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0 && run.output.contains("dropped 100 connections"), "\(run.output)")
    }

    /// The same deinit while a block that does not hold the owner runs: it waits under the lock, so a
    /// block taking the lock in its place deadlocks. Reported before the wait.
    @Test func aDeinitSyncOntoABusyQueueUnderTheLockItsBlocksTakeIsAnInversion() throws {
        let run = try PthreadInterpositionTests.run("queue-owner-deinit", ["busy"])
        #expect(run.rules == [.lockOrderInversion], "\(run.error)")
        let cycle = try #require(run.report?.violations.first).cycle
        #expect(cycle.contains { $0.hasPrefix("serial queue db.connection created at") }, "\(cycle)")
    }

    /// GRDB 7.10.0's other false positives: an init syncing onto the queue it has just made, inside another
    /// queue's block (a database made while another is written); four threads. Nobody else knows that
    /// queue yet. An init syncing onto a queue used before is an acquire as any other.
    @Test(arguments: [[], ["shared"]])
    func anOwnerSettingUpItsNewQueueInItsInitOrdersNothingIntoIt(arguments: [String]) throws {
        let run = try PthreadInterpositionTests.run("queue-owner-init", arguments)
        #expect(run.rules == (arguments.isEmpty ? [] : [.lockOrderInversion]), "\(run.error)")
        #expect(run.status == (arguments.isEmpty ? 0 : 66))
    }

    /// GRDB's Database.erase(): a queue made inside another queue's block and synced onto there by its
    /// maker alone (four threads) orders nothing into it; once another thread has used it, it does.
    @Test(arguments: [[], ["shared"]])
    func aTemporaryQueueOnlyItsMakerUsesOrdersNothingIntoIt(arguments: [String]) throws {
        let run = try PthreadInterpositionTests.run("queue-temporary", arguments)
        #expect(run.rules == (arguments.isEmpty ? [] : [.lockOrderInversion]), "\(run.error)")
    }

    /// Blocks made by dispatch_block_create hold their queue as plain `async` blocks do.
    @Test(arguments: ["item", "qos", "flags"])
    func aBlockDispatchMakesHoldsItsQueue(how: String) throws {
        let run = try PthreadInterpositionTests.run("queue-work-item", [how])
        #expect(run.rules == [.lockOrderInversion], "\(how): \(run.error)")
        let cycle = try #require(run.report?.violations.first).cycle
        #expect(cycle.contains { $0.hasPrefix("serial queue bank.postings created at") }, "\(cycle)")
        let consistent = try PthreadInterpositionTests.run("queue-work-item", [how, "consistent"])
        #expect(consistent.rules == [], "\(how) consistent: \(consistent.error)")
    }

    /// The main queue is a serial queue: `sync` onto it from the main thread is recursion (it would hang),
    /// and the block runs there so that the program goes on.
    @Test func syncOntoTheMainQueueFromTheMainThreadIsRecursion() throws {
        let run = try PthreadInterpositionTests.run("main-queue", ["recursion"])
        #expect(run.rules == [.recursiveAcquire], "\(run.error)")
        #expect(run.output.contains("ran 1 blocks"))
        let locks = try #require(run.report?.violations.first).locks.map(\.name)
        #expect(locks.contains("serial queue main"), "\(locks)")
    }

    /// A block the main thread runs holds the main queue: a thread holding a lock those blocks take, then
    /// syncing onto the main queue, is an inversion; the one order alone is clean.
    @Test(arguments: ["inversion", "consistent"])
    func theMainQueuesBlocksHoldIt(how: String) throws {
        let run = try PthreadInterpositionTests.run("main-queue", [how])
        #expect(run.rules == (how == "inversion" ? [.lockOrderInversion] : []), "\(run.error)")
        if how == "inversion" {
            let cycle = try #require(run.report?.violations.first).cycle
            #expect(cycle.contains("serial queue main"), "\(cycle)")
        }
    }
}
