// Scenarios for scopes carried to the work a scope starts: threads, dispatched work items, detached
// tasks. Each runs an ABBA inversion whose closing order is taken on the started work, and prints what
// each scope collected (`collected: <rule> in <scope>`); the process log is the report.
import Foundation
import LockValidator
import SpinLocks

enum ScopedWork {
    /// The ways to start work, by the name the scenario takes as its argument.
    static let starts: [String: @Sendable (@escaping @Sendable () -> Void) -> Void] = [
        "thread": { body in onThread(body) },
        "global-queue": { body in
            let group = DispatchGroup()
            DispatchQueue.global().async(group: group, execute: body)
            group.wait()
        },
        "serial-queue": { body in
            let done = DispatchSemaphore(value: 0)
            DispatchQueue(label: "scoped-work").async {
                body()
                done.signal()
            }
            done.wait()
        },
        "work-item": { body in
            // A work item with a QoS: Dispatch reads its flags from the block dispatch_block_create made.
            let item = DispatchWorkItem(qos: .userInitiated, flags: .barrier, block: body)
            DispatchQueue(label: "scoped-work-item", attributes: .concurrent).async(execute: item)
            item.wait()
        },
        "async-after": { body in
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().asyncAfter(deadline: .now()) {
                body()
                done.signal()
            }
            done.wait()
        },
        "concurrent-perform": { body in
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                if index == 1 { body() }
            }
        },
        "detached-task": { body in
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                body()
                done.signal()
            }
            done.wait()
        },
        "task-in-detached-task": { body in
            // A task made by a detached task: it copies no scope from task-locals, and inherits its creator's.
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                await Task { body() }.value
                done.signal()
            }
            done.wait()
        },
        "immediate-task-in-detached-task": { body in
            // Task.immediate runs on its creator's thread until it suspends: made inside swift_task_create?
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                await Task.immediate { body() }.value
                done.signal()
            }
            done.wait()
        },
        "child-tasks-in-detached-task": { body in
            // Child tasks (async let, a task group) of a detached task: they inherit its scope.
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                async let first: Void = body()
                await first
                await withTaskGroup(of: Void.self) { group in group.addTask { body() } }
                done.signal()
            }
            done.wait()
        },
        "pthread": { body in runOnPthread(body) },
    ]

    /// `scoped-inversion <start>`: inside a scope, A -> B on this thread, then B -> A on work started
    /// with `start`.
    static func inversionInScope() -> Int32 {
        guard let name = scenarioArguments.first, let start = starts[name] else { return 2 }
        let (first, second) = (NSLock(), NSLock())
        let collected = LockValidator.violations(
            during: {
                first.withLock { second.withLock {} }
                start { second.withLock { first.withLock {} } }
            }, scopeName: "scope")
        printCollected(collected)
        return 0
    }

    /// `scoped-spin-inversion`: the same with spin locks, which are validated without the interposer,
    /// on a Foundation thread: with LOCKVALIDATOR_PTHREADS=off the thread carries no scope.
    static func spinInversionInScope() -> Int32 {
        let (first, second) = (SpinLock("Scoped.first"), SpinLock("Scoped.second"))
        let collected = LockValidator.violations(
            during: {
                first.withLock { second.withLock {} }
                onThread { second.withLock { first.withLock {} } }
            }, scopeName: "scope")
        printCollected(collected)
        return 0
    }

    /// `scoped-thread-exit`: a thread started in a scope (and joined) ends holding a mutex.
    static func threadEndingHoldingALock() -> Int32 {
        let lock = NSLock()
        _ = Unmanaged.passRetained(lock)  // never freed: it stays locked
        let collected = LockValidator.violations(during: { runOnPthread { lock.lock() } }, scopeName: "scope")
        printCollected(collected)
        return 0
    }

    /// `unscoped-inversion`: the same outside any scope: the process log has it.
    static func inversionOutsideScopes() -> Int32 {
        let (first, second) = (NSLock(), NSLock())
        first.withLock { second.withLock {} }
        onThread { second.withLock { first.withLock {} } }
        return 0
    }

    /// `late-inversion`: a thread started in a scope takes the closing order after the scope ended.
    static func inversionAfterTheScopeEnded() -> Int32 {
        let (first, second) = (NSLock(), NSLock())
        let go = DispatchSemaphore(value: 0)
        let thread = Box<Thread?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let collected = LockValidator.violations(
            during: {
                first.withLock { second.withLock {} }
                thread.value = Thread {
                    go.wait()
                    second.withLock { first.withLock {} }
                    finished.signal()
                }
                thread.value?.start()
            }, scopeName: "test A")
        go.signal()
        finished.wait()
        printCollected(collected)
        return 0
    }

    /// `two-scopes`: work that scope A started runs while scope B (on another thread) is open: A gets it.
    static func workOfOneScopeWhileAnotherRuns() -> Int32 {
        let (first, second) = (NSLock(), NSLock())
        first.withLock { second.withLock {} }
        let go = DispatchSemaphore(value: 0)
        let workDone = DispatchSemaphore(value: 0)
        let bDone = DispatchSemaphore(value: 0)
        let collectedByB = Box<[Violation]>([])
        let collectedByA = LockValidator.violations(
            during: {
                DispatchQueue.global().async {
                    go.wait()
                    second.withLock { first.withLock {} }
                    workDone.signal()
                }
                onThread {
                    collectedByB.value = LockValidator.violations(
                        during: {
                            go.signal()
                            workDone.wait()
                        }, scopeName: "test B")
                    bDone.signal()
                }
                bDone.wait()
            }, scopeName: "test A")
        print("test A:")
        printCollected(collectedByA)
        print("test B:")
        printCollected(collectedByB.value)
        return 0
    }

    static func printCollected(_ violations: [Violation]) {
        for violation in violations { print("collected: \(violation.rule.rawValue) in \(violation.scope ?? "-")") }
    }

    /// Runs `body` on a thread made with pthread_create, and joins it.
    static func runOnPthread(_ body: @escaping @Sendable () -> Void) {
        let argument = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<Box<@Sendable () -> Void>>.fromOpaque(argument!).takeRetainedValue().value()
                return nil
            }, argument)
        precondition(result == 0, "pthread_create failed with error \(result)")
        pthread_join(thread, nil)
    }
}
