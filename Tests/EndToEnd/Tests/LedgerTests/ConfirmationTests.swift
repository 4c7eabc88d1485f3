// Confirmation mode (LOCKVALIDATOR_CONFIRM=on) inside each test integration: an inversion whose second
// round the mode steers into a real deadlock, which ends the test process; the test's run-end line says the
// cycle was confirmed. Run only with the mode on (EndToEndTests runs each alone); without it they pass.
import Foundation
import LockValidator
import LockValidatorTesting
import Synchronization
import Testing
import XCTest

let confirming = ProcessInfo.processInfo.environment["LOCKVALIDATOR_CONFIRM"] == "on"

/// Two NSLocks per test, made at their own lines in an init (a property's initial value is placed at the
/// caller; a type named for locks would be taken for lock-wrapper code): one class each.
final class TraitConfirmPair: Sendable {
    let first: NSLock
    let second: NSLock

    init() {
        first = NSLock()
        second = NSLock()
    }
}

final class ExpectingConfirmPair: Sendable {
    let first: NSLock
    let second: NSLock

    init() {
        first = NSLock()
        second = NSLock()
    }
}

final class XCTestConfirmPair: Sendable {
    let first: NSLock
    let second: NSLock

    init() {
        first = NSLock()
        second = NSLock()
    }
}

/// Two Synchronization.Mutexes, made at their own lines (one class each, through the Mutex overlay).
final class MutexConfirmPair: Sendable {
    let first: Mutex<Int>
    let second: Mutex<Int>

    init() {
        first = Mutex(0)
        second = Mutex(0)
    }
}

/// Two threads take `first` then `second` and `second` then `first`, thread 1 200 ms after thread 0, in
/// two rounds, both threads finishing a round before either starts the next: a plain run never has them
/// meet. Round 0 predicts the cycle; in round 1 the mode holds thread 0 back holding `first` until
/// thread 1 takes `second`, and the cycle forms.
func abbaTwice(_ first: NSLock, _ second: NSLock) {
    abbaTwice { index in
        let (outer, inner) = index == 0 ? (first, second) : (second, first)
        outer.lock()
        inner.lock()
        inner.unlock()
        outer.unlock()
    }
}

/// The same with Mutexes: `withLock` inlines the overlay's `_lock`, whose compare-and-swap takes a free
/// Mutex before any hook runs; the mode gives it back and holds the thread back before its wait.
func abbaTwice(_ locks: MutexConfirmPair) {
    abbaTwice { index in
        if index == 0 {
            locks.first.withLock { _ in locks.second.withLock { $0 += 1 } }
        } else {
            locks.second.withLock { _ in locks.first.withLock { $0 += 1 } }
        }
    }
}

/// The rounds of `abbaTwice`: thread `index` takes its pair's two locks in its order (`takeBoth`).
func abbaTwice(_ takeBoth: @escaping @Sendable (_ index: Int) -> Void) {
    let finished = Atomic<Int>(0)
    concurrently(2) { index in
        for round in 0..<2 {
            while finished.load(ordering: .acquiring) < 2 * round { usleep(1_000) }
            if index == 1 { usleep(200_000) }
            takeBoth(index)
            finished.add(1, ordering: .releasing)
        }
    }
}

/// Two threads that each hold one Mutex of the pair, then take the other: a real deadlock, every run. The
/// kernel's priority-inheritance lock refuses the second wait (EDEADLK), on which the standard library
/// traps with "Recursive call to lock Mutex"; the validator's wait goes on, and its watchdog reports it.
/// Run only when asked (EndToEndTests does): it ends the test process.
func mutexesDeadlock(_ locks: MutexConfirmPair) {
    let holding = Atomic<Int>(0)
    // Each lock taken at lines of its own: a Mutex's class is named where it is first locked.
    let bothHeld: @Sendable () -> Void = {
        holding.add(1, ordering: .releasing)
        while holding.load(ordering: .acquiring) < 2 { usleep(1_000) }
    }
    concurrently(2) { index in
        if index == 0 {
            locks.first.withLock { _ in
                bothHeld()
                locks.second.withLock { $0 += 1 }
            }
        } else {
            locks.second.withLock { _ in
                bothHeld()
                locks.first.withLock { $0 += 1 }
            }
        }
    }
}

@Suite(.lockValidation) struct ConfirmationTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LEDGER_REAL_DEADLOCK"] == "on"))
    func reportsARealMutexDeadlock() {
        mutexesDeadlock(MutexConfirmPair())
    }

    @Test(.enabled(if: confirming)) func confirmsADeadlockUnderTheTrait() {
        let locks = TraitConfirmPair()
        abbaTwice(locks.first, locks.second)
    }

    @Test(.enabled(if: confirming)) func confirmsAMutexDeadlockUnderTheTrait() {
        abbaTwice(MutexConfirmPair())
    }

    @Test(.enabled(if: confirming)) func confirmsADeadlockItExpectsAsAnInversion() {
        let locks = ExpectingConfirmPair()
        expectLockViolation(.lockOrderInversion) { abbaTwice(locks.first, locks.second) }
    }
}

final class ConfirmationXCTests: LockValidatedTestCase {
    func testConfirmsADeadlock() {
        guard confirming else { return }
        let locks = XCTestConfirmPair()
        abbaTwice(locks.first, locks.second)
    }
}
