import Synchronization
import TestSupport
import Testing
import _LockValidatorShims

@testable import SpinLocks

/// Mutual exclusion under contention, for both acquisition styles, and FIFO handoff of the queue.
///
/// Two spinning threads match the two cores of the CI machine; the oversubscribed case runs four to
/// show the bounded spin (pause, then yield) keeps the lock live when waiters outnumber cores.
@Suite struct SpinLockStressTests {
    static let iterations = 50_000

    /// Runs `body(threadIndex)` on `threads` new processors at once and waits for all of them.
    func hammer(threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> [Violation] {
        violationsOnProcessors(threads, named: "hammer", body)
    }

    /// The ways to take a lock for a critical section.
    enum Style: CaseIterable, Sendable {
        case ordinary, scopedOrdinary, queuedOnStack, queuedWithHandle

        func increment(_ count: Guarded<Int>, under lock: SpinLock) {
            switch self {
            case .ordinary:
                let old = lock.acquire()
                count.value += 1
                lock.release(old)
            case .scopedOrdinary:
                lock.withLock { count.value += 1 }
            case .queuedOnStack:
                lock.withQueuedLock { count.value += 1 }
            case .queuedWithHandle:
                var handle = LockQueueHandle()
                lock.acquireInStackQueued(&handle)
                count.value += 1
                lock.releaseInStackQueued(&handle)
            }
        }
    }

    /// Two threads, one per core, `iterations` critical sections each: the count must be exact.
    @Test(arguments: Style.allCases, [2])
    func acquiresExcludeEachOther(style: Style, threads: Int) {
        let lock = SpinLock("Stress.\(style)")
        let count = Guarded(0)
        let found = hammer(threads: threads) { _ in
            for _ in 0..<Self.iterations { style.increment(count, under: lock) }
        }
        #expect(count.value == threads * Self.iterations)
        #expect(found.isEmpty)
    }

    /// More spinners than cores: the bounded spin must hand the processor to the holder or to the
    /// next waiter in line, or this never finishes.
    @Test(arguments: [Style.ordinary, .queuedOnStack], [4])
    func lockStaysLiveWithMoreSpinnersThanCores(style: Style, threads: Int) {
        let lock = SpinLock("Oversubscribed.\(style)")
        let count = Guarded(0)
        let iterations = Self.iterations / 5
        let found = hammer(threads: threads) { _ in
            for _ in 0..<iterations { style.increment(count, under: lock) }
        }
        #expect(count.value == threads * iterations)
        #expect(found.isEmpty)
    }

    @Test func queuedWaitersAreServedInArrivalOrder() {
        // The holder starts the waiters while it holds the lock: a long hold, on purpose.
        let lock = SpinLock("FIFOHandoff", holdBudget: .seconds(1))
        let order = Guarded([Int]())
        let waiterCount = 3
        let found = violationsOnFreshProcessor {
            var handle = LockQueueHandle()
            lock.acquireInStackQueued(&handle)
            var waiters: [ProcessorThread] = []
            for index in 1...waiterCount {
                let tailBefore = lock.raw.queueTail
                waiters.append(
                    ProcessorThread(name: "waiter-\(index)") { lock.withQueuedLock { order.value.append(index) } })
                // The next waiter starts only once this one has joined the queue.
                while lock.raw.queueTail == tailBefore { yieldProcessor() }
            }
            lock.releaseInStackQueued(&handle)
            waiters.forEach { $0.join() }
        }
        #expect(order.value == Array(1...waiterCount))
        #expect(found.isEmpty)
    }

    @Test func theThreadNodePoolMatchesTheQueueNodeLayout() {
        #expect(MemoryLayout<QueueNode>.size <= MemoryLayout<lv_queue_node>.size)
        #expect(MemoryLayout<QueueNode>.alignment <= MemoryLayout<lv_queue_node>.alignment)
    }

    @Test func handlesBeyondThePoolStillWork() {
        // Seventy nested holds take about 100 µs: long holds, but not what this test is about.
        let locks = (0..<70).map { SpinLock("ManyHandles\($0)", holdBudget: .seconds(1)) }
        let found = violationsOnFreshProcessor {
            var handles = [LockQueueHandle](repeating: LockQueueHandle(), count: locks.count)
            let old = IRQL.raise(to: .dispatch)
            for index in locks.indices { locks[index].acquireInStackQueuedAtDpcLevel(&handles[index]) }
            // Checked after the releases: an expectation inside would hold 48 spin locks for 100 µs.
            let allLocked = locks.allSatisfy { $0.isLocked }
            for index in locks.indices.reversed() { locks[index].releaseInStackQueuedFromDpcLevel(&handles[index]) }
            #expect(allLocked)
            #expect(!locks.contains { $0.isLocked })
            IRQL.lower(to: old)
        }
        // 70 locks exceed the 48-entry held stack: reported once, and the locks still work.
        #expect(found.map(\.rule) == (LockValidator.isCompiledIn ? [.capacityExhausted] : []))
    }
}
