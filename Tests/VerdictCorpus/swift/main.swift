// The main shapes of the C corpus with Foundation's NSLock, in one program: `verdict-corpus-swift
// <program>`, the program named as in ground-truth.tsv without its "swift/" prefix. Built by
// scripts/verdict-corpus.sh with swiftc; no LockValidator in it.
//
// As in the C programs (see c/corpus.h), deadlock-prone programs start their threads together and
// space the orders out in 200 ms steps, so that only a schedule the plain run does not take deadlocks;
// the -realdeadlock one makes its threads meet, and deadlocks every time.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

// MARK: Threads, started and joined as in C (Thread has no join)

final class Body {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

func spawn(_ body: @escaping () -> Void) -> pthread_t {
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Body(body)).toOpaque()
    let created = pthread_create(&thread, nil, { raw in
        Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, box)
    precondition(created == 0, "pthread_create failed")
    return thread
}

func join(_ thread: pthread_t) { pthread_join(thread, nil) }

func makeBarrier(_ count: Int) -> UnsafeMutablePointer<pthread_barrier_t> {
    let barrier = UnsafeMutablePointer<pthread_barrier_t>.allocate(capacity: 1)
    pthread_barrier_init(barrier, nil, UInt32(count))
    return barrier
}

func waitSteps(_ steps: Int) { usleep(UInt32(steps * 200_000)) }

/// Runs `body(0)` ... `body(count - 1)` on threads that all start before any takes a lock, and joins them.
func runTogether(_ count: Int, _ body: @escaping (Int) -> Void) {
    let startLine = makeBarrier(count)
    let threads = (0..<count).map { index in
        spawn {
            pthread_barrier_wait(startLine)
            body(index)
        }
    }
    threads.forEach(join)
}

func nest(_ first: NSLock, _ second: NSLock) {
    first.lock()
    second.lock()
    second.unlock()
    first.unlock()
}

// Each NSLock is a class of its own: the validator keys a pthread lock by the line that created it.
let a = NSLock()
let b = NSLock()
let c = NSLock()
let gate = NSLock()

// MARK: The programs

/// A cache that counts hits under its lock, and statistics that read the cache's size under theirs.
final class Cache {
    let lock = NSLock()
    var keys: Set<Int> = []
    let stats: Stats
    init(stats: Stats) { self.stats = stats }

    func lookup(_ key: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let hit = !keys.insert(key).inserted
        stats.count(hit: hit)   // the statistics lock under the cache lock
        return hit
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return keys.count
    }
}

final class Stats {
    let lock = NSLock()
    var hits = 0, misses = 0
    weak var cache: Cache?

    func count(hit: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if hit { hits += 1 } else { misses += 1 }
    }

    func report() -> String {
        lock.lock()
        defer { lock.unlock() }
        return "hits \(hits), misses \(misses), \(cache?.count ?? 0) keys cached"   // and the reverse
    }
}

let programs: [String: () -> Void] = [
    "abba-2t": {
        runTogether(2) { index in
            waitSteps(index)
            if index == 0 { nest(a, b) } else { nest(b, a) }
        }
    },
    "abba-2t-realdeadlock": {
        let allHoldFirst = makeBarrier(2)
        runTogether(2) { index in
            let (first, second) = index == 0 ? (a, b) : (b, a)
            first.lock()
            pthread_barrier_wait(allHoldFirst)
            second.lock()   // never returns: the other thread holds it and waits for ours
            second.unlock()
            first.unlock()
        }
    },
    "abba-ordered-by-join": {
        join(spawn { nest(a, b) })
        join(spawn { nest(b, a) })
    },
    "abba-ordered-by-create": {
        nest(a, b)
        join(spawn { nest(b, a) })
    },
    "abba-one-thread": {
        nest(a, b)
        nest(b, a)
    },
    "abba-gate": {
        runTogether(2) { index in
            for _ in 0..<100 {
                gate.lock()
                if index == 0 { nest(a, b) } else { nest(b, a) }
                gate.unlock()
            }
        }
    },
    "cycle-3t": {
        let ring = [a, b, c]
        runTogether(3) { index in
            waitSteps(index)
            nest(ring[index], ring[(index + 1) % 3])
        }
    },
    "cache-stats": {
        let stats = Stats()
        let cache = Cache(stats: stats)
        stats.cache = cache
        runTogether(2) { index in
            waitSteps(index)
            if index == 0 {
                for key in 0..<20 { _ = cache.lookup(key % 7) }
            } else {
                print(stats.report())
            }
        }
    },
]

let arguments = CommandLine.arguments
guard arguments.count == 2, let program = programs[arguments[1]] else {
    print("usage: verdict-corpus-swift <\(programs.keys.sorted().joined(separator: "|"))>")
    exit(2)
}
program()
print("\(arguments[1]): done")
