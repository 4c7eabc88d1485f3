// The README's "In a test suite" snippets, compiled and run here so that they stay true.
import LockValidatorTesting
import SpinLocks
import Testing
import XCTest

// 1. Swift Testing: a trait on a test or a suite.
@Suite(.lockValidation)
struct DeviceQueueTests {
    let queueLock = SpinLock("DeviceQueue.lock")

    @Test func startsARequest() {
        queueLock.withLock { /* touch the queue */  }
    }

    @Test(.lockValidation(holdBudget: .microseconds(200)))
    func drainsTheQueue() {
        queueLock.withLock { /* a longer, but bounded, critical section */  }
    }

    // Only lock-order cycles that can deadlock fail; one that cannot (one thread took every order, a
    // gate lock, threads ordered by start or join) is a warning, for the whole run's exit status too.
    @Test(.lockValidation(failOn: .canDeadlock))
    func retriesARequest() {
        queueLock.withLock {}
    }
}

// 2. Swift Testing: a test that provokes a violation on purpose.
@Test func recursionIsReportedNotDeadlocked() {
    let lock = SpinLock("Recursion.lock")
    expectLockViolation(.recursiveAcquire) {
        lock.withLock { lock.withLock {} }
    }
}

// 3. XCTest: a base class, and an assertion for any block.
final class DeviceQueueXCTests: LockValidatedTestCase {
    // As `failOn:` above (nil: LOCKVALIDATOR_FAIL_ON's); `import LockValidatorTesting` brings the type.
    override var lockFailOn: Configuration.FailOn? { .canDeadlock }

    func testStartsARequest() {
        let lock = SpinLock("DeviceQueueXC.lock")
        lock.withLock {}
    }

    func testAnyBlock() {
        let a = SpinLock("XCBlock.A")
        let b = SpinLock("XCBlock.B")
        XCTAssertNoLockViolations {
            a.withLock { b.withLock {} }
        }
    }
}
