import SpinLocks

/// Seed scenario 3: a file-system driver's work queue. A dispatch routine running at DISPATCH_LEVEL
/// posts IRPs with `ExInterlockedInsertTailList`; a worker thread at PASSIVE_LEVEL removes them with
/// `ExInterlockedRemoveHeadList` and does the work that may block. Clean.
enum WorkQueue {
    struct Irp: Sendable {
        let number: Int
        let bytes: Int
    }

    static var scenario: Scenario {
        Scenario(
            name: ExampleName.workQueue,
            summary: "IRPs queued at DISPATCH_LEVEL through an InterlockedQueue, drained by a worker",
            expected: []
        ) {
            let queue = InterlockedQueue<Irp>("FileSystem.workQueue")
            let posted = 500
            let done = Counter()
            let dispatch = ProcessorThread(name: "dispatch") {
                for number in 0..<posted {
                    let old = IRQL.raise(to: .dispatch)
                    queue.insertTail(Irp(number: number, bytes: 512 * (number % 8 + 1)))
                    IRQL.lower(to: old)
                }
            }
            let worker = ProcessorThread(name: "worker") {
                while done.value < posted {
                    guard let irp = queue.removeHead() else {
                        sched_yield()
                        continue
                    }
                    mightSleep()  // the worker may block on I/O: it runs at PASSIVE_LEVEL holding nothing
                    precondition(irp.number == done.value, "IRPs come out in order")
                    done.value += 1
                }
            }
            dispatch.join()
            worker.join()
        }
    }

    final class Counter: @unchecked Sendable { var value = 0 }
}

#if canImport(Glibc)
    import Glibc
#endif
