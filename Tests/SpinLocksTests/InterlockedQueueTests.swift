import SpinLocks
import TestSupport
import Testing

@Suite struct InterlockedQueueTests {
    @Test func itemsInsertedAtDispatchLevelAreDrainedInOrderByAWorker() {
        let queue = InterlockedQueue<Int>("WorkQueue")
        let total = 10_000
        let drained = Guarded([Int]())
        let found = LockValidator.violations(during: {
            let producer = ProcessorThread(name: "producer") {
                for item in 0..<total {
                    let old = IRQL.raise(to: .dispatch)
                    queue.insertTail(item)
                    IRQL.lower(to: old)
                }
            }
            let worker = ProcessorThread(name: "worker") {
                while drained.value.count < total {
                    if let item = queue.removeHead() { drained.value.append(item) } else { yieldProcessor() }
                }
            }
            producer.join()
            worker.join()
        })
        #expect(drained.value == Array(0..<total))
        #expect(found.isEmpty)
    }

    @Test func headInsertsAndRemovalsKeepListOrder() {
        let queue = InterlockedQueue<String>("ListOrder")
        let found = violationsOnFreshProcessor {
            queue.insertTail("b")
            queue.insertTail("c")
            queue.insertHead("a")
            #expect(queue.count() == 3)
            #expect(queue.removeHead() == "a")
            queue.insertHead("a2")
            #expect(
                [queue.removeHead(), queue.removeHead(), queue.removeHead(), queue.removeHead()] == [
                    "a2", "b", "c", nil,
                ])
            // Interlocked routines may run at DIRQL: the IRQL is kept.
            let old = IRQL.raise(to: .device(5))
            queue.insertTail("isr")
            #expect(IRQL.current == .device(5))
            IRQL.lower(to: old)
            #expect(queue.removeHead() == "isr")
        }
        #expect(found.isEmpty)
    }
}
