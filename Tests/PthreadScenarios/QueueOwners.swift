// Scenarios for serial queues in the shapes real code gives them: a queue's owner flushing it from its
// deinit (GRDB's SerializedDatabase), blocks made by DispatchWorkItem or `async` with a QoS or flags, and
// the main queue.
import Foundation
import LockValidator

enum QueueOwners {
    /// GRDB's SerializedDatabase: a private serial queue; every block submitted through the owner holds the
    /// owner; its deinit flushes the queue with `sync`.
    final class Connection: @unchecked Sendable {
        let queue = DispatchQueue(label: "db.connection")

        func async(_ body: @escaping @Sendable () -> Void) {
            queue.async {
                withExtendedLifetime(self) { body() }
            }
        }

        deinit { queue.sync {} }
    }

    /// `queue-owner-deinit`: four threads each make connections whose blocks take a shared observers' lock,
    /// then drop the last reference with that lock held, so that the deinit's `sync` runs under it: the
    /// queue can run or hold no block then (each would hold the connection), so no deadlock and no report.
    /// `queue-owner-deinit busy`: a block that does not hold its connection (it captures only a semaphore)
    /// runs when the deinit syncs under the lock: the deinit waits for it, and a block that takes the lock
    /// in its place deadlocks: reported, before the wait.
    static func ownerDeinit() -> Int32 {
        let observers = NSLock()
        if scenarioArguments == ["busy"] {
            var connection: Connection? = Connection()
            let queue = connection!.queue
            let ordered = DispatchSemaphore(value: 0)
            connection!.async {
                observers.withLock {}
                ordered.signal()
            }
            ordered.wait()
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            queue.async {
                started.signal()
                release.wait()
            }
            started.wait()
            // Lets the block finish once the deinit's `sync` was reported (the report comes before its wait).
            Thread {
                while LockValidator.violations.isEmpty { usleep(1000) }
                release.signal()
            }.start()
            observers.withLock { connection = nil }
            return 0
        }
        let dropped = Box(0)
        let count = NSLock()
        concurrently(4) { _ in
            for _ in 0..<25 {
                var connection: Connection? = Connection()
                let done = DispatchGroup()
                for _ in 0..<4 {
                    done.enter()
                    connection!.async {
                        observers.withLock {}
                        done.leave()
                    }
                }
                done.wait()
                // The blocks have run and been released: this reference is the last.
                connection!.queue.sync {}
                observers.withLock { connection = nil }
                count.withLock { dropped.value += 1 }
            }
        }
        print("dropped \(dropped.value) connections")
        return dropped.value == 100 ? 0 : 1
    }

    /// GRDB's SerializedDatabase again: its init makes its queue and syncs onto it at once.
    final class Store: @unchecked Sendable {
        let queue: DispatchQueue

        init() {
            queue = DispatchQueue(label: "db.store")
            queue.sync {}
        }

        init(sharing queue: DispatchQueue) {
            self.queue = queue
            queue.sync {}
        }
    }

    /// `queue-owner-init`: four threads each make stores inside a registry queue's block (registry -> the
    /// store's new queue, in the store's init), then sync onto the store's queue and the registry inside it
    /// (store -> registry). The store's queue was new, known to no other thread: its first `sync` could not
    /// wait, and orders nothing. `queue-owner-init shared`: the init syncs onto a queue used before, which
    /// any thread may hold: an inversion.
    static func ownerInit() -> Int32 {
        let registry = DispatchQueue(label: "db.registry")
        let shared = DispatchQueue(label: "db.shared")
        shared.sync {}
        if scenarioArguments == ["shared"] {
            // One thread after the other: four at once deadlock for real (the queue monitor ends the run).
            let store = Box<Store?>(nil)
            onThread { store.value = registry.sync { Store(sharing: shared) } }
            onThread { store.value!.queue.sync { registry.sync {} } }
            return 0
        }
        concurrently(4) { _ in
            for _ in 0..<25 {
                let store = registry.sync { Store() }
                store.queue.sync { registry.sync {} }
            }
        }
        return 0
    }

    /// A queue of one class, made wherever it is needed.
    static func temporaryQueue() -> DispatchQueue { DispatchQueue(label: "db.temporary") }

    /// `queue-temporary`: GRDB's Database.erase(): four threads each make a queue inside an outer queue's
    /// block and sync onto it there, twice (outer -> temporary); elsewhere a temporary's block syncs onto
    /// the outer queue (temporary -> outer). No other thread has the temporaries: clean.
    /// `queue-temporary shared`: another thread syncs onto the temporary while its maker still holds the
    /// outer queue; the maker's `sync` onto it then orders outer -> temporary, and the other order is an
    /// inversion.
    static func temporary() -> Int32 {
        let outer = DispatchQueue(label: "db.outer")
        if scenarioArguments == ["shared"] {
            let made = Box<DispatchQueue?>(nil)
            onThread {
                outer.sync {
                    let temporary = temporaryQueue()
                    made.value = temporary
                    onThread { temporary.sync {} }
                    temporary.sync {}
                }
            }
            onThread { made.value!.sync { outer.sync {} } }
            return 0
        }
        concurrently(4) { _ in
            for _ in 0..<25 {
                outer.sync {
                    let temporary = temporaryQueue()
                    temporary.sync {}
                    temporary.sync {}
                }
            }
        }
        onThread { temporaryQueue().sync { outer.sync {} } }
        return 0
    }

    /// `queue-work-item <how>`: blocks Dispatch makes itself (dispatch_block_create) hold their serial queue
    /// as plain `async` blocks do: a DispatchWorkItem (`item`) or an `async` with a QoS (`qos`) or flags
    /// (`flags`) takes a lock inside the queue, and code holding the lock then syncs onto the queue: an
    /// inversion. With `consistent` after it, the queue is taken first there too: clean, and a work item
    /// run by `sync` does not take its queue a second time.
    static func workItem() -> Int32 {
        guard let how = scenarioArguments.first else { return 2 }
        let queue = DispatchQueue(label: "bank.postings")
        let lock = NSLock()
        let group = DispatchGroup()
        for _ in 0..<4 {
            let body: @Sendable () -> Void = { lock.withLock {} }
            switch how {
            case "item":
                let item = DispatchWorkItem(block: body)
                queue.async(group: group, execute: item)
            case "qos": queue.async(group: group, qos: .userInitiated, execute: body)
            case "flags": queue.async(group: group, flags: .barrier, execute: body)
            default: return 2
            }
        }
        group.wait()
        if scenarioArguments.dropFirst() == ["consistent"] {
            concurrently(4) { _ in
                for _ in 0..<25 {
                    queue.sync(execute: DispatchWorkItem { lock.withLock {} })
                    queue.sync { lock.withLock {} }
                }
            }
        } else {
            onThread { lock.withLock { queue.sync {} } }
        }
        return 0
    }

    /// `main-queue <how>`: the main queue is a serial queue. `sync` from the main thread never starts
    /// (`recursion`: reported, the block run there); a block the main thread runs holds the queue, so a lock
    /// taken there and a thread that syncs onto the main queue holding that lock are an inversion
    /// (`inversion`); taking them the other way round only is clean (`consistent`).
    static func mainQueue() -> Int32 {
        guard let how = scenarioArguments.first else { return 2 }
        let lock = NSLock()
        switch how {
        case "recursion":
            let ran = Box(0)
            DispatchQueue.main.sync { ran.value += 1 }
            print("ran \(ran.value) blocks")
            return ran.value == 1 ? 0 : 1
        case "inversion", "consistent":
            // The main thread runs the main queue's blocks while it waits for the workers.
            let finished = DispatchSemaphore(value: 0)
            Thread {
                for _ in 0..<4 {
                    if how == "inversion" {
                        lock.withLock { DispatchQueue.main.sync {} }
                    }
                    DispatchQueue.main.sync { lock.withLock {} }
                }
                let group = DispatchGroup()
                group.enter()
                DispatchQueue.main.async {
                    lock.withLock {}
                    group.leave()
                }
                group.wait()
                finished.signal()
            }.start()
            while finished.wait(timeout: .now()) == .timedOut {
                RunLoop.main.run(until: Date(timeIntervalSinceNow: 0.01))
            }
            return 0
        default: return 2
        }
    }
}
