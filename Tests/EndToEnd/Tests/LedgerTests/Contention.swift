// Threads contending for locks, for FrontEndTests and FrontEndXCTests: each test makes its own locks (one
// class per test, named where the test makes it: a class's inversion is reported once per process).
// `concurrently` is in Concurrently.swift.
import Foundation
import SpinLocks

/// Takes a lock and runs `body` holding it.
typealias Locking = @Sendable (_ body: () -> Void) -> Void

/// Four threads take `first` then `second`, 100 times each; then one thread the other way, when `invert`.
/// The lockings do not escape, so that a test may lock Mutexes it made in place (one class per test, named
/// there): a closure that escapes cannot capture a Mutex.
func contend(_ first: Locking, _ second: Locking, invert: Bool) {
    withoutActuallyEscaping(first) { first in
        withoutActuallyEscaping(second) { second in
            let lent = Lent(first, second)
            defer { lent.takeBack() }
            concurrently(4) { _ in
                for _ in 0..<100 { lent.first! { lent.second! {} } }
            }
            if invert { concurrently(1) { _ in lent.second! { lent.first! {} } } }
        }
    }
}

/// The lockings `contend` lends its threads, taken back before it returns: a thread lets go of what its
/// block captured only as it exits, a moment after `concurrently` saw its work end, and a closure that
/// must not escape still held then traps.
private final class Lent: @unchecked Sendable {
    // Written before the threads start and after they are done (`concurrently` waits): no race.
    private(set) var first: Locking?
    private(set) var second: Locking?

    init(_ first: @escaping Locking, _ second: @escaping Locking) {
        self.first = first
        self.second = second
    }

    func takeBack() {
        first = nil
        second = nil
    }
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
