// The seed's one long hold, for the hold-time detection table (scripts/one-shot-hold.sh): a process that
// takes a spin lock once and holds it for 200 µs of its own time, with its code cold (the hold is its first
// run), warm (run once before on another lock) or touching fresh pages; and a process of 2 µs holds that
// touch fresh pages or report a recursive acquire, where any hold-time report is a false one. What is
// reported is in the process's exit report (LOCKVALIDATOR_REPORT): the locks are held outside any scope, so
// their evidence ends with the process.
import Foundation
import SpinLocks

enum OneShotHold {
    /// Busy work measured in the thread's own CPU time.
    static func burn(microseconds: Double) {
        func cpu() -> UInt64 {
            var now = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
            return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        }
        let start = cpu()
        while Double(cpu() - start) < microseconds * 1_000 {}
    }

    /// Pages of a fresh private mapping, handed out one at a time; each faults on its first touch.
    final class FreshPages: @unchecked Sendable {
        private let base: UnsafeMutableRawPointer
        private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        private var next = 0

        init(_ count: Int) {
            base = mmap(nil, count * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        }

        func touchNext() {
            base.storeBytes(of: 1, toByteOffset: next * pageSize, as: UInt8.self)
            next += 1
        }
    }

    /// One hold of `lock`: touches `pages` fresh pages, then burns `microseconds` of own time.
    @inline(never)
    static func hold(_ lock: SpinLock, touching pages: Int = 0, of fresh: FreshPages? = nil, microseconds: Double) {
        let old = lock.acquire()
        for _ in 0..<pages { fresh?.touchNext() }
        burn(microseconds: microseconds)
        lock.release(old)
    }

    static let scenarios: [String: @Sendable () -> Int32] = [
        // The hold is the first run of its code in the process.
        "one-shot-hold-cold": {
            hold(SpinLock("OneShotHold.lock"), microseconds: 200)
            return 0
        },
        // The same code ran once before, briefly, on a lock of another class.
        "one-shot-hold-warm": {
            hold(SpinLock("OneShotHold.rehearsal"), microseconds: 1)
            hold(SpinLock("OneShotHold.lock"), microseconds: 200)
            return 0
        },
        // Cold, and the hold touches 4 fresh pages besides.
        "one-shot-hold-fresh-pages": {
            hold(SpinLock("OneShotHold.lock"), touching: 4, of: FreshPages(4), microseconds: 200)
            return 0
        },
        // The control for the next: the same holds without touching a page.
        "short-holds": {
            for index in 0..<1_000 { hold(SpinLock("OneShotHold.short-\(index)"), microseconds: 2) }
            let lock = SpinLock("OneShotHold.short")
            for _ in 0..<100_000 { hold(lock, microseconds: 2) }
            return 0
        },
        // Issue 31's false report: 1,000 locks of their own classes, each held once with a reported
        // recursive acquire in the hold (`lock.withLock { lock.withLock {} }`; the report is the
        // validator's time, not the hold's) and 2 µs of own time.
        "short-holds-recursive": {
            for index in 0..<1_000 {
                let lock = SpinLock("OneShotHold.recursive-\(index)")
                lock.withLock {
                    lock.withLock {}
                    burn(microseconds: 2)
                }
            }
            return 0
        },
        // 1,000 locks of their own classes, each held once for 2 µs touching a fresh page (first holds: the
        // only ones reported alone), then 100,000 holds of 2 µs on one lock, every tenth touching one.
        "short-holds-faulting": {
            let fresh = FreshPages(11_000)
            for index in 0..<1_000 {
                hold(SpinLock("OneShotHold.short-\(index)"), touching: 1, of: fresh, microseconds: 2)
            }
            let lock = SpinLock("OneShotHold.short")
            for index in 0..<100_000 { hold(lock, touching: index % 10 == 0 ? 1 : 0, of: fresh, microseconds: 2) }
            return 0
        },
    ]
}
