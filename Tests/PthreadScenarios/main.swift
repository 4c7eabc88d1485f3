// Scenarios for LockValidatorPthreads, one per run: `pthread-scenarios <name>`. This executable links
// the product, so every pthread lock in it is validated; the tests run it as a child process and read
// its report (LOCKVALIDATOR_REPORT) and exit status.
import Foundation
import LockValidator
import LockValidatorPthreads
import PthreadScenariosC
import SpinLocks
import _LockValidatorShims

/// Runs `body` on a new thread and waits for it: orders taken one after the other on two threads, so
/// a bad order is found without the threads deadlocking.
func onThread(_ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    let done = DispatchSemaphore(value: 0)
    let finishing = Thread {
        body()
        done.signal()
    }
    _ = thread
    finishing.start()
    done.wait()
}

final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// The arguments after the scenario's name.
let scenarioArguments = Array(CommandLine.arguments.dropFirst(2))

/// Two locks made at two fixed init sites, so that every process running this binary puts them in the
/// same two classes (named for those sites).
func bankLocks() -> (accounts: NSLock, ledger: NSLock) {
    let accounts = NSLock()
    let ledger = NSLock()
    return (accounts, ledger)
}

let scenarios: [String: () -> Int32] = [
    "nslock-abba": {
        let accounts = NSLock()
        let ledger = NSLock()
        onThread {
            accounts.lock()
            ledger.lock()
            ledger.unlock()
            accounts.unlock()
        }
        onThread {
            ledger.lock()
            accounts.lock()  // closes the cycle: reported, not deadlocked (the first thread is done)
            accounts.unlock()
            ledger.unlock()
        }
        return 0
    },
    "nslock-deadlock": {
        // A real ABBA deadlock: each thread holds its first NSLock before it takes the second. The second
        // to wait closes the cycle (lock-order-inversion, reported before it waits); the deadlock watchdog
        // then ends the process with the `deadlock` report.
        let accounts = NSLock()
        let ledger = NSLock()
        let accountsHeld = DispatchSemaphore(value: 0)
        let ledgerHeld = DispatchSemaphore(value: 0)
        concurrently(2) { index in
            let transfer = index == 0
            // The OS name, set here: Foundation applies `Thread.current.name` only once `start()` has recorded
            // the thread, which a thread that runs at once can beat.
            _ = lv_set_thread_name(transfer ? "transfer" : "audit")
            let (first, second) = transfer ? (accounts, ledger) : (ledger, accounts)
            first.lock()
            (transfer ? accountsHeld : ledgerHeld).signal()
            (transfer ? ledgerHeld : accountsHeld).wait()
            second.lock()
            second.unlock()
            first.unlock()
        }
        return 1  // not reached
    },
    "wrapper-abba": {
        // An ABBA through a lock wrapper of the program's own: sites and classes at the wrapper's callers.
        let books = LedgerLock()
        let vault = LedgerLock()
        onThread { books.withLock { vault.withLock {} } }
        onThread {
            vault.lock()
            books.lock()
            books.unlock()
            vault.unlock()
        }
        return 0
    },
    "c-abba-joined": {
        scenario_c_abba_joined()
        return 0
    },
    "c-abba-thread-start": {
        // Taken before the Thread that takes the other order starts (Foundation's pthread_create).
        scenario_c_first_then_second()
        onThread { scenario_c_second_then_first() }
        return 0
    },
    "c-gate-race": {
        // `c-gate-race static` or `c-gate-race heap`: a gate raced for by 8 threads (scenario_c_gate_race).
        scenario_c_gate_race(8, scenarioArguments.first == "heap" ? 1 : 0)
        return 0
    },
    "c-abba": {
        onThread { scenario_c_first_then_second() }
        onThread { scenario_c_second_then_first() }
        return 0
    },
    "table-growth": {
        TableGrowth.run(consistent: scenarioArguments.contains("consistent"))
    },
    "c-consistent": {
        scenario_c_consistent(4, 20_000)
    },
    "c-statics-through-one-helper": {
        onThread { scenario_c_statics_through_one_helper() }
        onThread { scenario_c_statics_through_one_helper() }
        return 0
    },
    "c-lock-words": {
        scenario_c_open_reader_and_cache()
        return 0
    },
    "c-unlock-never-locked": {
        // glibc unlocks a normal mutex nobody holds without complaint: the validator reports it.
        scenario_c_release_what_nobody_holds()
    },
    "recursive-lock": {
        let lock = NSRecursiveLock()
        let counter = Box(0)
        concurrently(2) { _ in
            for _ in 0..<1_000 {
                lock.lock()
                lock.lock()
                counter.value += 1
                lock.unlock()
                lock.unlock()
            }
        }
        return counter.value == 2_000 ? 0 : 1
    },
    "rwlock-readers": {
        let first = RWLock()
        let second = RWLock()
        onThread { first.read { second.read {} } }
        onThread { second.read { first.read {} } }
        return 0
    },
    "rwlock-writer": {
        let first = RWLock()
        let second = RWLock()
        onThread { first.read { second.write {} } }
        onThread { second.read { first.write {} } }
        return 0
    },
    "condition-ping-pong": {
        let condition = NSCondition()
        let turn = Box(0)
        let rounds = 2_000
        concurrently(2) { player in
            for _ in 0..<rounds {
                condition.lock()
                while turn.value % 2 != player { condition.wait() }
                turn.value += 1
                condition.broadcast()
                condition.unlock()
            }
        }
        return turn.value == 2 * rounds ? 0 : 1
    },
    "consistent": {
        let outer = NSLock()
        let middle = NSLock()
        let inner = NSLock()
        let counter = Box(0)
        concurrently(4) { _ in
            for _ in 0..<20_000 {
                outer.lock()
                middle.lock()
                inner.lock()
                counter.value += 1
                inner.unlock()
                middle.unlock()
                outer.unlock()
            }
        }
        return counter.value == 80_000 ? 0 : 1
    },
    "mutex-under-spin-lock": {
        let spinLock = SpinLock("DeviceExtension.lock")
        let mutex = NSLock()
        spinLock.withLock {
            mutex.lock()
            mutex.unlock()
        }
        return 0
    },
    "relock-normal-mutex": {
        var mutex = pthread_mutex_t()
        pthread_mutex_init(&mutex, nil)
        pthread_mutex_lock(&mutex)
        let second = pthread_mutex_lock(&mutex)  // would hang: reported, not taken
        pthread_mutex_unlock(&mutex)  // the reported acquire's release: not made either
        pthread_mutex_unlock(&mutex)
        let free = pthread_mutex_trylock(&mutex)  // the mutex is free again
        if free == 0 { pthread_mutex_unlock(&mutex) }
        pthread_mutex_destroy(&mutex)
        return second == 0 && free == 0 ? 0 : 1
    },
    "relock-error-checking-mutex": {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK))
        var mutex = pthread_mutex_t()
        pthread_mutex_init(&mutex, &attributes)
        pthread_mutex_lock(&mutex)
        let second = pthread_mutex_lock(&mutex)  // EDEADLK, as without the validator
        pthread_mutex_unlock(&mutex)
        pthread_mutex_destroy(&mutex)
        return second == EDEADLK ? 0 : 1
    },
    "relock-named-error-checking-mutex": {
        // An error-checking mutex never initialised through the interposer (as
        // PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP makes one), named before its first lock: it keeps its kind.
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        mutex.pointee.__data.__kind = Int32(PTHREAD_MUTEX_ERRORCHECK)
        LockValidator.setClassName("Named.errorChecking", for: mutex)
        pthread_mutex_lock(mutex)
        let second = pthread_mutex_lock(mutex)  // EDEADLK, as without the validator
        pthread_mutex_unlock(mutex)
        return second == EDEADLK ? 0 : 1
    },
    "unlock-not-held": {
        var mutex = pthread_mutex_t()
        pthread_mutex_init(&mutex, nil)
        pthread_mutex_lock(&mutex)
        pthread_mutex_unlock(&mutex)
        pthread_mutex_unlock(&mutex)  // reported, and still forwarded
        let free = pthread_mutex_trylock(&mutex)
        if free == 0 { pthread_mutex_unlock(&mutex) }
        pthread_mutex_destroy(&mutex)
        return free == 0 ? 0 : 1
    },
    "destroy-held": {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_mutex_lock(mutex)
        pthread_mutex_destroy(mutex)  // held: reported
        pthread_mutex_unlock(mutex)
        mutex.deallocate()
        return 0
    },
    "destroy-held-elsewhere": {
        // A mutex another thread holds (taken on the interposer's fast path, which writes its owner word) is
        // destroyed: reported with its holder.
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        nonisolated(unsafe) let shared = mutex
        let held = DispatchSemaphore(value: 0)
        let destroyed = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            pthread_mutex_lock(shared)
            held.signal()
            destroyed.wait()
            pthread_mutex_unlock(shared)
            done.signal()
        }.start()
        held.wait()
        pthread_mutex_destroy(mutex)  // held by the other thread: reported
        destroyed.signal()
        done.wait()
        mutex.deallocate()
        return 0
    },
    "timed-out": {
        var mutex = pthread_mutex_t()
        pthread_mutex_init(&mutex, nil)
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let pointer = withUnsafeMutablePointer(to: &mutex) { $0 }
        nonisolated(unsafe) let shared = pointer
        Thread {
            pthread_mutex_lock(shared)
            held.signal()
            release.wait()
            pthread_mutex_unlock(shared)
        }.start()
        held.wait()
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_nsec += 1_000_000
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        let result = pthread_mutex_timedlock(pointer, &deadline)  // times out: not held afterwards
        release.signal()
        pthread_mutex_lock(pointer)
        pthread_mutex_unlock(pointer)
        return result == ETIMEDOUT ? 0 : 1
    },
    "named-classes": {
        // Two classes named in code, taken in both orders: the report names them.
        let accounts = LockValidator.withLockClass("Bank.accounts") { NSLock() }
        let ledger = LockValidator.withLockClass("Bank.ledger") { NSLock() }
        onThread { accounts.withLock { ledger.withLock {} } }
        onThread { ledger.withLock { accounts.withLock {} } }
        return 0
    },
    "same-class-nested": {
        // Two locks of one class (one init site), one taken inside the other.
        let parent = makeNodeLock()
        let child = makeNodeLock()
        parent.withLock { child.withLock {} }
        return 0
    },
    "same-class-nested-declared": {
        // The same, with the inner lock in nesting subclass 1, as a parent-then-child order is meant.
        let parent = makeNodeLock()
        let child = LockValidator.withLockClass("Node.lock", nesting: 1) { NSLock() }
        let sameParent = LockValidator.withLockClass("Node.lock") { NSLock() }
        parent.withLock { child.withLock {} }
        sameParent.withLock { child.withLock {} }
        return 0
    },
    "spin-lock-contended": {
        // pthread spin locks, contended by 4 threads: a spin lock has the hold budget, kept short here.
        var spinLock = pthread_spinlock_t()
        pthread_spin_init(&spinLock, 0)
        let lock = withUnsafeMutablePointer(to: &spinLock) { $0 }
        nonisolated(unsafe) let shared = lock
        let counter = Box(0)
        concurrently(4) { _ in
            for _ in 0..<20_000 {
                pthread_spin_lock(shared)
                counter.value += 1
                pthread_spin_unlock(shared)
            }
        }
        pthread_spin_destroy(lock)
        return counter.value == 80_000 ? 0 : 1
    },
    "rwlock-contended": {
        // Readers and writers of one reader–writer lock, under a mutex taken first by all: consistent.
        let outer = NSLock()
        let table = RWLock()
        let counter = Box(0)
        concurrently(4) { index in
            for round in 0..<10_000 {
                outer.withLock {
                    if (index + round) % 4 == 0 {
                        table.write { counter.value += 1 }
                    } else {
                        table.read { _ = counter.value }
                    }
                }
                table.read { _ = counter.value }  // and alone, shared with the other readers
            }
        }
        return counter.value == 10_000 ? 0 : 1
    },
    "set-class-name": {
        // C mutexes named in code, taken in both orders: the report names them.
        let first = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        let second = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(first, nil)
        pthread_mutex_init(second, nil)
        LockValidator.setClassName("Cache.index", for: first)
        LockValidator.setClassName("Cache.entries", for: second)
        nonisolated(unsafe) let (a, b) = (first, second)
        onThread {
            pthread_mutex_lock(a)
            pthread_mutex_lock(b)
            pthread_mutex_unlock(b)
            pthread_mutex_unlock(a)
        }
        onThread {
            pthread_mutex_lock(b)
            pthread_mutex_lock(a)
            pthread_mutex_unlock(a)
            pthread_mutex_unlock(b)
        }
        return 0
    },
    "mutex-contended": {
        // lock_stat: 4 threads take one mutex, the first of them certainly while the main thread holds it
        // (it lets go only once a waiter sleeps on it); another mutex is only ever taken by one thread.
        let contended = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        let alone = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(contended, nil)
        pthread_mutex_init(alone, nil)
        LockValidator.setClassName("Scenario.contended", for: contended)
        LockValidator.setClassName("Scenario.alone", for: alone)
        nonisolated(unsafe) let shared = contended
        let counter = Box(0)
        let group = DispatchGroup()
        pthread_mutex_lock(contended)
        for _ in 0..<4 {
            group.enter()
            Thread {
                for _ in 0..<2_000 {
                    pthread_mutex_lock(shared)
                    counter.value += 1
                    pthread_mutex_unlock(shared)
                }
                group.leave()
            }.start()
        }
        while scenario_c_mutex_has_waiters(contended) == 0 { sched_yield() }
        pthread_mutex_unlock(contended)
        for _ in 0..<1_000 {
            pthread_mutex_lock(alone)
            pthread_mutex_unlock(alone)
        }
        group.wait()
        return counter.value == 8_000 ? 0 : 1
    },
    "mutex-pairs": {
        // For instruction counts (callgrind): PAIRS uncontended lock+unlock pairs of one mutex.
        let pairs = ProcessInfo.processInfo.environment["PAIRS"].flatMap { Int($0) } ?? 100_000
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        for _ in 0..<pairs {
            pthread_mutex_lock(mutex)
            pthread_mutex_unlock(mutex)
        }
        return 0
    },
    "spin-lock-pairs": {
        // The same for the package's own SpinLock at DISPATCH_LEVEL, the pair the SPEC budget is set on.
        let pairs = ProcessInfo.processInfo.environment["PAIRS"].flatMap { Int($0) } ?? 100_000
        let lock = SpinLock("Scenario.pairs")
        let old = IRQL.raise(to: .dispatch)
        for _ in 0..<pairs {
            lock.acquireAtDpcLevel()
            lock.releaseFromDpcLevel()
        }
        IRQL.lower(to: old)
        return 0
    },
    "fork": {
        let mutex = NSLock()
        let stop = Box(false)
        let hammer = Thread {
            while !stop.value {
                mutex.lock()
                mutex.unlock()
            }
        }
        hammer.start()
        var statuses: [Int32] = []
        for _ in 0..<20 {
            let child = fork()
            if child == 0 {
                // One thread in the child: every lock it takes still works.
                let fresh = NSLock()
                fresh.lock()
                fresh.unlock()
                _exit(0)
            }
            var status: Int32 = 0
            waitpid(child, &status, 0)
            statuses.append(status)
        }
        stop.value = true
        return statuses.allSatisfy { $0 == 0 } ? 0 : 1
    },
    "queue-abba": {
        // Two serial queues taken in both orders by `sync`, one thread after the other: an ABBA.
        let accounts = DispatchQueue(label: "bank.accounts")
        let ledger = DispatchQueue(label: "bank.ledger")
        onThread { accounts.sync { ledger.sync {} } }
        onThread {
            ledger.sync {  // the held queue
                accounts.sync {}  // the one it waits for
            }
        }
        return 0
    },
    "queue-consistent": {
        // Four threads contend for two serial queues, always in one order, and for an NSLock inside: clean.
        let accounts = DispatchQueue(label: "bank.accounts")
        let ledger = DispatchQueue(label: "bank.ledger")
        let totals = NSLock()
        let count = Box(0)
        concurrently(4) { _ in
            for _ in 0..<200 { accounts.sync { ledger.sync { totals.withLock { count.value += 1 } } } }
        }
        // A concurrent queue's sync is no lock, nor is an async block's queue taken by its submitter.
        let workers = DispatchQueue(label: "bank.workers", attributes: .concurrent)
        workers.sync { ledger.sync {} }
        ledger.sync { workers.sync {} }
        return count.value == 800 ? 0 : 1
    },
    "queue-recursion": {
        // `sync` onto the queue whose block is running: a recursive acquire (Dispatch would crash or hang);
        // reported, and the inner block runs, so the program goes on.
        let queue = DispatchQueue(label: "bank.audit")
        let ran = Box(0)
        queue.sync {
            ran.value += 1
            queue.sync { ran.value += 1 }
        }
        print("ran \(ran.value) blocks")
        return ran.value == 2 ? 0 : 1
    },
    "queue-async-recursion": {
        // A block that `async` put on the queue runs holding it: `sync` onto the same queue from there is
        // recursion (Dispatch would deadlock).
        let queue = DispatchQueue(label: "bank.audit")
        let done = DispatchSemaphore(value: 0)
        let ran = Box(0)
        queue.async {
            queue.sync { ran.value += 1 }
            done.signal()
        }
        done.wait()
        print("ran \(ran.value) blocks")
        return ran.value == 1 ? 0 : 1
    },
    "queue-async-lock": {
        // Blocks `async` puts on the queue take the lock inside the queue; code holding the lock waits for
        // the queue with `sync` (the argument "consistent" takes the queue first there too).
        let queue = DispatchQueue(label: "bank.settlement")
        let lock = NSLock()
        let group = DispatchGroup()
        for _ in 0..<4 { queue.async(group: group) { lock.withLock {} } }
        group.wait()
        if scenarioArguments == ["consistent"] {
            concurrently(4) { _ in for _ in 0..<100 { queue.sync { lock.withLock {} } } }
        } else {
            onThread { lock.withLock { queue.sync {} } }
        }
        return 0
    },
    "queue-deadlock": {
        // Two threads take two serial queues in opposite orders at once, and meet: a real deadlock, which
        // the queue monitor ends with a report.
        let accounts = DispatchQueue(label: "bank.accounts")
        let ledger = DispatchQueue(label: "bank.ledger")
        let bothIn = DispatchGroup()
        bothIn.enter()
        bothIn.enter()
        concurrently(2) { index in
            // The OS name, set here (see nslock-deadlock).
            _ = lv_set_thread_name(index == 0 ? "teller" : "auditor")
            let (first, second) = index == 0 ? (accounts, ledger) : (ledger, accounts)
            first.sync {
                bothIn.leave()
                bothIn.wait()
                second.sync {}
            }
        }
        return 1  // not reached
    },
    "queue-address-reused": {
        // Serial queues freed, concurrent ones made in their memory: a concurrent queue's nested `sync` is
        // fine, and must not be taken for the serial queue that had its address.
        for _ in 0..<200 {
            do {
                let serial = DispatchQueue(label: "reuse.serial")
                serial.sync {}
            }
            let concurrent = DispatchQueue(label: "reuse.concurrent", attributes: .concurrent)
            concurrent.sync { concurrent.sync {} }
        }
        return 0
    },
    "queue-contended": {
        // One thread holds the queue (its block sleeps 50 ms) while another waits in `sync`: a contention,
        // with its wait, in the queue's lock_stat row; an uncontended `sync` counts none.
        let queue = DispatchQueue(label: "bank.audit")
        let idle = DispatchQueue(label: "bank.idle")
        idle.sync {}
        let holding = DispatchSemaphore(value: 0)
        concurrently(2) { index in
            if index == 0 {
                queue.sync {
                    holding.signal()
                    usleep(50_000)
                }
            } else {
                holding.wait()
                queue.sync {}
            }
        }
        return 0
    },
    "queue-under-spin-lock": {
        // `sync` waits for the queue: no routine holding a spin lock may wait.
        let spinLock = SpinLock("DeviceExtension.lock")
        let queue = DispatchQueue(label: "device.requests")
        spinLock.withLock { queue.sync {} }
        return 0
    },
    "queue-and-lock": {
        // A serial queue and an NSLock taken in both orders: an inversion between a queue and a lock.
        let queue = DispatchQueue(label: "bank.journal")
        let lock = NSLock()
        onThread { lock.withLock { queue.sync {} } }
        onThread { queue.sync { lock.withLock {} } }
        return 0
    },
    "bank-order": {
        // One half of an ABBA, for tests that split it across processes: `accounts-ledger` or
        // `ledger-accounts`.
        let (accounts, ledger) = bankLocks()
        let (outer, inner) = scenarioArguments == ["ledger-accounts"] ? (ledger, accounts) : (accounts, ledger)
        outer.withLock { inner.withLock {} }
        return 0
    },
    "blocking-call": BlockingCalls.blockingCall,
    "queue-owner-deinit": QueueOwners.ownerDeinit,
    "queue-owner-init": QueueOwners.ownerInit,
    "queue-temporary": QueueOwners.temporary,
    "queue-work-item": QueueOwners.workItem,
    "main-queue": QueueOwners.mainQueue,
    "blocking-call-in-scope": BlockingCalls.blockingCallInScope,
    "crash-while-holding": CrashWhileHolding.run,
    "scoped-inversion": ScopedWork.inversionInScope,
    "scoped-spin-inversion": ScopedWork.spinInversionInScope,
    "scoped-thread-exit": ScopedWork.threadEndingHoldingALock,
    "unscoped-inversion": ScopedWork.inversionOutsideScopes,
    "late-inversion": ScopedWork.inversionAfterTheScopeEnded,
    "two-scopes": ScopedWork.workOfOneScopeWhileAnotherRuns,
    "named-order": {
        // `named-order [--reset] A B C`: NSLocks of the classes named A, B and C, each taken inside the one
        // before; after `LockValidator.reset()` with `--reset`.
        let reset = scenarioArguments.first == "--reset"
        if reset { LockValidator.reset() }
        let locks = scenarioArguments.dropFirst(reset ? 1 : 0).map { name in
            LockValidator.withLockClass(name) { NSLock() }
        }
        func take(_ rest: ArraySlice<NSLock>) {
            guard let first = rest.first else { return }
            first.withLock { take(rest.dropFirst()) }
        }
        take(locks[...])
        return 0
    },
    "named-rw-order": {
        // `named-rw-order r:A w:B`: pthread reader–writer locks of the classes named A and B, A read-locked
        // and B write-locked inside it; each argument `r:` (read) or `w:` (write) and a class name.
        let locks = scenarioArguments.map { argument in
            (
                read: argument.hasPrefix("r:"),
                lock: LockValidator.withLockClass(String(argument.dropFirst(2))) { RWLock() }
            )
        }
        func take(_ rest: ArraySlice<(read: Bool, lock: RWLock)>) {
            guard let first = rest.first else { return }
            if first.read {
                first.lock.read { take(rest.dropFirst()) }
            } else {
                first.lock.write { take(rest.dropFirst()) }
            }
        }
        take(locks[...])
        return 0
    },
]

func makeNodeLock() -> NSLock { NSLock() }

/// A pthread reader–writer lock, as a Swift program would wrap one.
final class RWLock: @unchecked Sendable {
    private let rwlock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() { pthread_rwlock_init(rwlock, nil) }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    func read(_ body: () -> Void) {
        pthread_rwlock_rdlock(rwlock)
        body()
        pthread_rwlock_unlock(rwlock)
    }

    func write(_ body: () -> Void) {
        pthread_rwlock_wrlock(rwlock)
        body()
        pthread_rwlock_unlock(rwlock)
    }
}

let arguments = CommandLine.arguments
let allScenarios = scenarios.merging(OneShotHold.scenarios.mapValues { run in { run() } }) { first, _ in first }
    .merging(ConfirmationScenarios.scenarios.mapValues { run in { run() } }) { first, _ in first }
guard arguments.count >= 2, let scenario = allScenarios[arguments[1]] else {
    FileHandle.standardError.write(
        "usage: pthread-scenarios <scenario> [argument...]\nscenarios: \(allScenarios.keys.sorted().joined(separator: ", "))\n"
            .data(using: .utf8)!)
    exit(2)
}
// The exit status is the validator's (66 on violations); what the scenario itself found goes to stdout.
// PTHREAD_SCENARIO_TEST=<name> runs it as a test framework's test would run: in a collecting scope of that
// name, whose violations are reported only when it ends, with lines of its own for a run that ends inside it;
// PTHREAD_SCENARIO_ALLOW=<rule> is a rule the test allows.
let result: Int32
if let test = ProcessInfo.processInfo.environment["PTHREAD_SCENARIO_TEST"] {
    let allowed = ProcessInfo.processInfo.environment["PTHREAD_SCENARIO_ALLOW"].flatMap(Rule.init(rawValue:))
    let scope = ViolationScope(
        name: test, disposition: .collect, allowedRules: Set(allowed.map { [$0] } ?? []),
        runEndLines: { violations, ending in
            violations.map { "TEST \(test) issue: \($0.rule.rawValue)" }
                + [ending.map { "TEST \(test) ended by \($0.rule.rawValue)" } ?? "TEST \(test) did not finish"]
        })
    result = scope.run(scenario)
    for violation in scope.end() { print("collected: \(violation.rule.rawValue) in \(test)") }
} else {
    result = scenario()
}
print("pthread-scenarios: \(arguments[1]) returned \(result)")
exit(result)
