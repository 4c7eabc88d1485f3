import TestSupport
import Testing

@testable import SpinLocks

/// Misuse of the in-stack queued lock is reported and corrupts nothing: the lock stays mutually
/// exclusive and live afterwards, no queue node is reused while a lock still points at it, and the
/// IRQL never drops while a lock is held.
@Suite struct QueuedLockMisuseTests {
    static let iterations = 20_000

    /// `threads` processors each take `lock` `iterations` times (with `withQueuedLock`, or `withLock`
    /// when `queued` is false); the count must be exact and nothing reported.
    func expectLiveAndExclusive(_ lock: SpinLock, queued: Bool = true, threads: Int = 2) {
        let count = Guarded(0)
        let found = violationsOnProcessors(threads, named: "after-misuse") { _ in
            for _ in 0..<Self.iterations {
                if queued { lock.withQueuedLock { count.value += 1 } } else { lock.withLock { count.value += 1 } }
            }
        }
        #expect(count.value == threads * Self.iterations)
        #expect(found.map(\.rule) == [])
    }

    /// A recursive in-stack queued acquire, its handles released outer-first, with a waiter queued
    /// behind the outer node and another queued acquire in between that takes a node from the pool.
    @Test func aRecursiveQueuedAcquireReleasedOuterFirstCorruptsNothing() {
        // Held while a waiter thread starts and queues: a long hold, on purpose.
        let lock = SpinLock(uniqueClassPrefix("Queued.recursive"), holdBudget: .seconds(1))
        let other = SpinLock(uniqueClassPrefix("Queued.other"))
        let waited = Guarded(false)
        let irqls = Guarded([IRQL]())
        let found = violationsOnFreshProcessor {
            var outer = LockQueueHandle()
            var inner = LockQueueHandle()
            lock.acquireInStackQueued(&outer)
            lock.acquireInStackQueued(&inner)  // recursive: reported, not spun on
            let tail = lock.raw.queueTail
            let waiter = ProcessorThread(name: "queued-waiter") { lock.withQueuedLock { waited.value = true } }
            while lock.raw.queueTail == tail { yieldProcessor() }  // the waiter is linked behind the outer node
            lock.releaseInStackQueued(&outer)  // out of order: the lock passes to the waiter
            irqls.value.append(IRQL.current)
            var third = LockQueueHandle()
            other.acquireInStackQueued(&third)  // takes a pool node while the inner handle is out
            other.releaseInStackQueued(&third)
            lock.releaseInStackQueued(&inner)
            irqls.value.append(IRQL.current)
            waiter.join()
        }
        #expect(found.map(\.rule) == [.recursiveAcquire, .releaseOutOfOrder])
        #expect(waited.value)
        // Still at DISPATCH_LEVEL while the inner acquire stood, back to PASSIVE_LEVEL at its release.
        #expect(irqls.value == [.dispatch, .passive])
        #expect(!lock.isLocked && !other.isLocked)
        expectLiveAndExclusive(lock)
    }

    @Test func handlesOfTwoLocksReleasedOutOfOrderEndAtTheFirstIRQL() {
        let a = SpinLock(uniqueClassPrefix("Queued.A"))
        let b = SpinLock(uniqueClassPrefix("Queued.B"))
        let irqls = Guarded([IRQL]())
        let found = violationsOnFreshProcessor {
            var first = LockQueueHandle()
            var second = LockQueueHandle()
            a.acquireInStackQueued(&first)
            b.acquireInStackQueued(&second)
            a.releaseInStackQueued(&first)
            irqls.value.append(IRQL.current)  // B still held: not below DISPATCH_LEVEL
            b.releaseInStackQueued(&second)
            irqls.value.append(IRQL.current)  // where releases in order would have ended
        }
        #expect(found.map(\.rule) == [.releaseOutOfOrder])
        #expect(irqls.value == [.dispatch, .passive])
        expectLiveAndExclusive(a)
        expectLiveAndExclusive(b)
    }

    /// A thread that exits holding a queued lock through a handle: its node lives in the thread's own
    /// storage, freed with it. The lock is released for it after the report.
    @Test func aThreadThatExitsHoldingAQueuedLockLeavesItUsable() {
        let lock = SpinLock(uniqueClassPrefix("Queued.abandoned"))
        let found = violationsOnFreshProcessor {
            var handle = LockQueueHandle()
            lock.acquireInStackQueued(&handle)
        }
        #expect(found.map(\.rule) == [.threadExitHoldingLock])
        #expect(!lock.isLocked)
        expectLiveAndExclusive(lock, threads: 4)
    }

    @Test func aThreadThatExitsHoldingAnOrdinaryLockLeavesItUsable() {
        let lock = SpinLock(uniqueClassPrefix("Ordinary.abandoned"))
        let found = violationsOnFreshProcessor { _ = lock.acquire() }
        #expect(found.map(\.rule) == [.threadExitHoldingLock])
        #expect(!lock.isLocked)
        expectLiveAndExclusive(lock, queued: false)
    }
}
