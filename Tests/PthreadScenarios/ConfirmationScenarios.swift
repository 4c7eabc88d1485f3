import Foundation

/// Scenarios for confirmation mode (`LOCKVALIDATOR_CONFIRM`): two threads take two NSLocks in opposite
/// orders, each order at a fixed time after a common start, far enough apart that a plain run never has
/// them meet; only a schedule that holds a thread back with its first lock held deadlocks.
enum ConfirmationScenarios {
    static let scenarios: [String: @Sendable () -> Int32] = [
        // Round 0 teaches the cycle (thread 0 at 0 ms, thread 1 at 200 ms); round 1 (400 and 600 ms) is
        // where confirmation mode holds thread 0 back holding `first`.
        "confirm-abba-twice": { abba(rounds: 2, gated: false) },
        // The same under one gate lock around both orders: the cycle can never form.
        "confirm-abba-gated": { abba(rounds: 2, gated: true) },
        // One round: the first run of two learns the cycle into a store, the second confirms it.
        "confirm-abba-once": { abba(rounds: 1, gated: false) },
    ]

    /// Three NSLocks made at fixed init sites: every run of this binary puts them in the same classes,
    /// which a learned-order store matches by name.
    static func locks() -> (first: NSLock, second: NSLock, gate: NSLock) {
        let first = NSLock()
        let second = NSLock()
        let gate = NSLock()
        return (first, second, gate)
    }

    static func abba(rounds: Int, gated: Bool) -> Int32 {
        let (first, second, gate) = locks()
        let start = monotonicMilliseconds()
        concurrently(2) { index in
            for round in 0..<rounds {
                sleep(until: start + round * 400 + index * 200)
                if gated { gate.lock() }
                let (outer, inner) = index == 0 ? (first, second) : (second, first)
                outer.lock()
                inner.lock()
                inner.unlock()
                outer.unlock()
                if gated { gate.unlock() }
            }
        }
        return 0
    }

    static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    static func sleep(until milliseconds: Int) {
        let left = milliseconds - monotonicMilliseconds()
        if left > 0 { usleep(UInt32(left * 1000)) }
    }
}
