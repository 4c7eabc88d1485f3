import SpinLocks
import TestSupport
import Testing

/// Correct programs stay silent: several locks, several instances, one order, many threads.
@Suite struct ConsistentOrderTests {
    @Test(arguments: [2])
    func threadsTakingLocksInOneOrderRecordNothing(threads: Int) {
        let outer = SpinLock("Order.Outer")
        let middle = (0..<4).map { _ in SpinLock("Order.Middle") }
        let inner = SpinLock("Order.Inner")
        let innerQueued = SpinLock("Order.InnerQueued")
        let count = Guarded(0)
        let iterations = 5_000
        let found = LockValidator.violations(during: {
            let workers = (0..<threads).map { index in
                ProcessorThread(name: "order-\(index)") {
                    for step in 0..<iterations {
                        let old = outer.acquire()
                        let chosen = middle[(step + index) % middle.count]
                        chosen.acquireAtDpcLevel()
                        if step % 2 == 0 {
                            inner.withLock { count.value += 1 }
                        } else {
                            innerQueued.withQueuedLock { count.value += 1 }
                        }
                        chosen.releaseFromDpcLevel()
                        outer.release(old)
                        #expect(IRQL.current == .passive)
                    }
                }
            }
            workers.forEach { $0.join() }
        })
        #expect(count.value == threads * iterations)
        #expect(found.isEmpty)
    }
}
