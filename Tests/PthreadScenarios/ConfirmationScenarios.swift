import Foundation
import Synchronization

/// Scenarios for confirmation mode (`LOCKVALIDATOR_CONFIRM`): two threads take two NSLocks in opposite
/// orders, in each round thread 1 200 ms after thread 0, so that a plain run never has them meet; only a
/// schedule that holds thread 0 back with its first lock held deadlocks. Both threads finish a round
/// before either starts the next (a barrier of their own, no lock): the report of round 0's cycle, printed
/// while its thread holds both locks, may take seconds on a loaded machine.
enum ConfirmationScenarios {
    static let scenarios: [String: @Sendable () -> Int32] = [
        // Round 0 teaches the cycle; round 1 is where confirmation mode holds thread 0 back holding `first`.
        "confirm-abba-twice": { abba(rounds: 2, gated: false) },
        // The same under one gate lock around both orders: the cycle can never form.
        "confirm-abba-gated": { abba(rounds: 2, gated: true) },
        // One round: the first run of two learns the cycle into a store, the second confirms it.
        "confirm-abba-once": { abba(rounds: 1, gated: false) },
        // The corpus's abba-gate-sometimes: both orders under the gate, then thread 1's once more without
        // it, 200 ms later. Prone: thread 0's gated order meets thread 1's ungated one. Learned into a
        // store by a first run, confirmed by a second.
        "confirm-abba-gate-sometimes": { abba(rounds: 1, gated: true, ungatedAgain: true) },
    ]

    /// Three NSLocks made at fixed init sites: every run of this binary puts them in the same classes,
    /// which a learned-order store matches by name.
    static func locks() -> (first: NSLock, second: NSLock, gate: NSLock) {
        let first = NSLock()
        let second = NSLock()
        let gate = NSLock()
        return (first, second, gate)
    }

    static func abba(rounds: Int, gated: Bool, ungatedAgain: Bool = false) -> Int32 {
        let (first, second, gate) = locks()
        let finished = Atomic<Int>(0)
        let arrived = Atomic<Int>(0)
        concurrently(2) { index in
            for round in 0..<rounds {
                // Both threads finished the rounds before this one (a spin on a counter: no lock order).
                while finished.load(ordering: .acquiring) < 2 * round { usleep(1_000) }
                // Thread 1 comes 200 ms after thread 0 has arrived, not after it was started: on a loaded
                // host a thread's start can take longer than that.
                if index == 0 { arrived.add(1, ordering: .releasing) }
                if index == 1 {
                    while arrived.load(ordering: .acquiring) <= round { usleep(1_000) }
                    usleep(200_000)
                }
                if gated { gate.lock() }
                let (outer, inner) = index == 0 ? (first, second) : (second, first)
                outer.lock()
                inner.lock()
                inner.unlock()
                outer.unlock()
                if gated { gate.unlock() }
                if ungatedAgain && index == 1 {
                    usleep(200_000)
                    second.lock()
                    first.lock()
                    first.unlock()
                    second.unlock()
                }
                finished.add(1, ordering: .releasing)
            }
        }
        return 0
    }
}
