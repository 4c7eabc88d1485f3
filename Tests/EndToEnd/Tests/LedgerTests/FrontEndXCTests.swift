// The front ends beyond pthread locks under XCTest's base class: several threads contending, a violation
// fails the test that caused it.
import Foundation
import LockValidatorTesting
import SpinLocks
import Synchronization
import XCTest

final class FrontEndXCTests: LockValidatedTestCase {
    func testFailsMutexesInBothOrders() {
        let gold = Mutex(0)
        let silver = Mutex(0)
        contend({ body in gold.withLock { _ in body() } }, { body in silver.withLock { _ in body() } }, invert: true)
    }

    func testFailsQueuesSyncedInBothOrders() {
        contend(DispatchQueue(label: "xctest.gold"), DispatchQueue(label: "xctest.silver"), invert: true)
    }

    func testFailsSleepingUnderASpinLock() {
        let tickets = DispatchSemaphore.tickets(100)
        contend(SpinLock("XCTestVault.spin"), inside: { tickets.wait() })
    }

    func testPassesAllThreeInOneOrder() {
        let gold = Mutex(0)
        let silver = Mutex(0)
        contend({ body in gold.withLock { _ in body() } }, { body in silver.withLock { _ in body() } }, invert: false)
        contend(DispatchQueue(label: "xctest.first"), DispatchQueue(label: "xctest.second"), invert: false)
        let counter = Counter()
        contend(SpinLock("XCTestVault.ordered"), inside: { counter.value += 1 })
        XCTAssertEqual(counter.value, 100)
    }
}
