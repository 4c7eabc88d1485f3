// Threads contending for locks, for FrontEndTests and FrontEndXCTests: each test makes its own locks (one
// class per test: a class's inversion is reported once per process).
import Foundation
import SpinLocks
import Synchronization

/// Runs `body` on `count` threads at once and waits for all.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}

/// Takes a lock and runs `body` holding it.
typealias Locking = @Sendable (_ body: () -> Void) -> Void

/// Four threads take `first` then `second`, 100 times each; then one thread the other way, when `invert`.
func contend(_ first: @escaping Locking, _ second: @escaping Locking, invert: Bool) {
    concurrently(4) { _ in
        for _ in 0..<100 { first { second {} } }
    }
    if invert { concurrently(1) { _ in second { first {} } } }
}

/// Two Mutexes per test, made in place: one class each, named where its vault is made.
final class FailingVault: Sendable {
    let gold = Mutex(0)
    let silver = Mutex(0)
}

final class PassingVault: Sendable {
    let gold = Mutex(0)
    let silver = Mutex(0)
}

final class ExpectingVault: Sendable {
    let gold = Mutex(0)
    let silver = Mutex(0)
}

extension DispatchSemaphore {
    /// A semaphore whose first `count` waits do not wait. Made at 0 and signalled: Dispatch traps when a
    /// semaphore is freed below the value it was made with.
    static func tickets(_ count: Int) -> DispatchSemaphore {
        let semaphore = DispatchSemaphore(value: 0)
        for _ in 0..<count { semaphore.signal() }
        return semaphore
    }
}

/// Counted under a spin lock, which orders its accesses.
final class Counter: @unchecked Sendable {
    var value = 0
}

/// Four threads sync onto `first` then `second`, 100 times each; then one thread the other way, when `invert`.
func contend(_ first: DispatchQueue, _ second: DispatchQueue, invert: Bool) {
    contend({ body in first.sync { body() } }, { body in second.sync { body() } }, invert: invert)
}

/// Four threads take `lock` 25 times each, calling `inside` while they hold it.
func contend(_ lock: SpinLock, inside: @escaping @Sendable () -> Void) {
    concurrently(4) { _ in
        for _ in 0..<25 { lock.withLock { inside() } }
    }
}

final class XCTestVault: Sendable {
    let gold = Mutex(0)
    let silver = Mutex(0)
}

final class XCTestOrderedVault: Sendable {
    let gold = Mutex(0)
    let silver = Mutex(0)
}
