// XCTest, as a user writes it: the base class fails each test on the violations it caused.
import Foundation
import Ledger
import LockValidatorTesting
import XCTest

final class LedgerXCTests: LockValidatedTestCase {
    func testFailsTransferThenAudit() {
        let ledger = Ledger()
        ledger.transfer(5, from: "a", to: "b")
        _ = ledger.audit()
    }

    func testPassesTransfersAndBalances() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(5, from: "a", to: "b")
        _ = ledger.balance(of: "a")
    }

    func testFailsAuditOnAThread() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(1, from: "a", to: "b")
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = ledger.audit()
            done.signal()
        }.start()
        done.wait()
    }
}

final class AssertionXCTests: XCTestCase {
    func testFailsInsideTheAssertion() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        XCTAssertNoLockViolations {
            ledger.transfer(5, from: "a", to: "b")
            _ = ledger.audit()
        }
    }
}
