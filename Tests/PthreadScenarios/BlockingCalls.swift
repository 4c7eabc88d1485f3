// Scenarios for the C library's calls that block, made where a thread must not block (a SpinLock held,
// or above APC_LEVEL): `blocking-call <call> <where>`. Each call returns at once (a zero or past
// timeout, data already in the pipe), so that the scenario controls how long the spin lock is held.
import Foundation
import LockValidator
import PthreadScenariosC
import SpinLocks

enum BlockingCalls {
    /// Four threads, each making the call 25 times in the context `where` names.
    static let threads = 4
    static let rounds = 25

    /// A call to make, with what it needs made once per thread (outside any spin lock).
    struct Call: Sendable {
        /// Makes what the call needs, on the thread that makes it; returns its steps.
        let prepare: @Sendable () -> Steps
    }

    /// What one round does: `before` and `after` outside the context, `call` inside it.
    struct Steps {
        var before: () -> Void = {}
        let call: () -> Void
        var after: () -> Void = {}
    }

    static let calls: [String: Call] = [
        "usleep": Call { Steps(call: { _ = usleep(1) }) },
        "nanosleep": Call {
            Steps(call: {
                var duration = timespec(tv_sec: 0, tv_nsec: 1_000)
                _ = nanosleep(&duration, nil)
            })
        },
        "cond-timedwait": Call {
            // The condition's mutex is taken inside the context, as a waiter does; a deadline already past
            // returns ETIMEDOUT at once.
            let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
            return Steps(call: {
                var past = timespec(tv_sec: 1, tv_nsec: 0)
                pthread_mutex_lock(mutex)
                _ = pthread_cond_timedwait(condition, mutex, &past)
                pthread_mutex_unlock(mutex)
            })
        },
        "poll": Call {
            let pipe = ScenarioPipe(nonBlocking: false)
            return Steps(call: {
                var descriptor = pollfd(fd: pipe.reading, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 1)  // nothing to read: waits 1 ms
            })
        },
        "poll-zero-timeout": Call {
            let pipe = ScenarioPipe(nonBlocking: false)
            return Steps(call: {
                var descriptor = pollfd(fd: pipe.reading, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 0)  // only looks
            })
        },
        "pipe-read": Call { pipeRead(nonBlocking: false) },
        "nonblocking-pipe-read": Call { pipeRead(nonBlocking: true) },
        "file-write": Call {
            let path = NSTemporaryDirectory() + "blocking-calls-\(getpid())-\(UUID().uuidString)"
            let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
            unlink(path)
            return Steps(call: {
                var byte: UInt8 = 1
                _ = write(descriptor, &byte, 1)
            })
        },
        // Dispatch's waits (a semaphore with a count to take, a group with nothing in it) return at once.
        "semaphore-wait": Call {
            let semaphore = DispatchSemaphore(value: 0)
            return Steps(call: {
                semaphore.signal()
                semaphore.wait()
            })
        },
        "semaphore-wait-now": Call {
            let semaphore = DispatchSemaphore(value: 0)
            return Steps(call: { _ = semaphore.wait(timeout: .now()) })  // only looks
        },
        "group-wait": Call {
            let group = DispatchGroup()
            return Steps(call: { group.wait() })
        },
        "futex-wait": Call {
            let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
            word.pointee = 0
            return Steps(call: {
                // Expects 1, finds 0: returns EAGAIN at once, as a futex wait whose word changed does.
                _ = scenario_c_futex_wait_changed(word)
            })
        },
    ]

    /// A pipe read of a byte written before the context is entered: it never waits.
    static func pipeRead(nonBlocking: Bool) -> Steps {
        let pipe = ScenarioPipe(nonBlocking: nonBlocking)
        return Steps(
            before: {
                var byte: UInt8 = 1
                _ = write(pipe.writing, &byte, 1)
            },
            call: {
                var byte: UInt8 = 0
                _ = read(pipe.reading, &byte, 1)
            })
    }

    /// `blocking-call <call> <where>`: `where` is `spin-lock` (inside one SpinLock the threads contend
    /// for), `pthread-spin-lock` (inside one pthread spin lock), `dispatch-level` (at DISPATCH_LEVEL,
    /// holding nothing) or `nothing-held`. Returns 0 when every
    /// call was made.
    static func blockingCall() -> Int32 {
        guard scenarioArguments.count == 2, let call = calls[scenarioArguments[0]] else { return 2 }
        let context = scenarioArguments[1]
        let lock = SpinLock("BlockingCalls.lock")
        nonisolated(unsafe) let spin = UnsafeMutablePointer<pthread_spinlock_t>.allocate(capacity: 1)
        pthread_spin_init(spin, 0)
        let made = Box(0)
        concurrently(threads) { _ in
            let steps = call.prepare()
            for _ in 0..<rounds {
                steps.before()
                switch context {
                case "spin-lock":
                    lock.withLock {
                        steps.call()
                        made.value += 1
                    }
                case "pthread-spin-lock":
                    pthread_spin_lock(spin)
                    steps.call()
                    made.value += 1
                    pthread_spin_unlock(spin)
                case "dispatch-level":
                    let old = IRQL.raise(to: .dispatch)
                    steps.call()
                    IRQL.lower(to: old)
                    lock.withLock { made.value += 1 }
                default:
                    steps.call()
                    lock.withLock { made.value += 1 }
                }
                steps.after()
            }
        }
        return made.value == threads * rounds ? 0 : 1
    }

    /// `blocking-call-in-scope`: a usleep under a spin lock inside a scope (as the `.lockValidation`
    /// trait and `expectLockViolation` make one), on the scope's thread and on a thread it starts: the
    /// scope collects both, the process log has none.
    static func blockingCallInScope() -> Int32 {
        let lock = SpinLock("BlockingCalls.scoped")
        let collected = LockValidator.violations(
            during: {
                lock.withLock { _ = usleep(1) }
                onThread { lock.withLock { _ = usleep(1) } }
            }, scopeName: "scope")
        for violation in collected { print("collected: \(violation.rule.rawValue) in scope: \(violation.summary)") }
        return 0
    }
}

/// A pipe whose read end is O_NONBLOCK or not (the write end never is); it lives as long as the process.
struct ScenarioPipe {
    let reading: Int32
    let writing: Int32

    init(nonBlocking: Bool) {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0)
        (reading, writing) = (ends[0], ends[1])
        if nonBlocking { _ = fcntl(reading, F_SETFL, fcntl(reading, F_GETFL) | O_NONBLOCK) }
    }
}
