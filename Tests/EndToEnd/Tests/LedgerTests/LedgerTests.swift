// Swift Testing, as a user writes it. Each test's name says how it must end; EndToEndTests (in the
// repository's own suite) checks that it does, and what the failures say.
import CLedger
import Foundation
import Ledger
import LockValidator
import LockValidatorPthreads
import LockValidatorTesting
import Testing

@Suite(.lockValidation) struct LedgerTests {
    // MARK: NSLock, on the test's own task

    @Test func failsTransferThenAudit() {
        let ledger = Ledger()
        ledger.transfer(5, from: "a", to: "b")
        _ = ledger.audit()
    }

    @Test func passesTransfersAndBalances() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(5, from: "a", to: "b")
        _ = ledger.balance(of: "a")
    }

    // MARK: Work the test starts

    @Test func failsAuditOnAThread() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(1, from: "a", to: "b")
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = ledger.audit()
            done.signal()
        }.start()
        done.wait()
    }

    @Test func failsAuditOnDispatch() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(1, from: "a", to: "b")
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { _ = ledger.audit() }
        group.wait()
    }

    @Test func failsAuditOnADetachedTask() async {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(1, from: "a", to: "b")
        await Task.detached { _ = ledger.audit() }.value
    }

    // MARK: Nesting

    @Test func failsNestedAccountsOfOneClass() {
        let parent = Account()
        let child = Account()
        parent.fund(child, with: 3)
    }

    @Test func passesNestedAccountsWithTheChildNested() {
        let parent = Account()
        let child = Account(childOf: parent, lock: LockValidator.withLockClass("Account.child", nesting: 1) { NSLock() })
        parent.fund(child, with: 3)
    }

    @Test func passesAnInversionItExpects() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        expectLockViolation(.lockOrderInversion) {
            ledger.transfer(1, from: "a", to: "b")
            _ = ledger.audit()
        }
    }

    // MARK: Calls that block, where a thread must not

    @Test func failsSleepingAtDispatchLevel() {
        let old = IRQL.raise(to: .dispatch)
        usleep(1)
        IRQL.lower(to: old)
    }

    @Test func passesASleepItExpects() {
        expectLockViolation(.blockingWhileHeld) {
            let old = IRQL.raise(to: .dispatch)
            usleep(1)
            IRQL.lower(to: old)
        }
    }

    // MARK: A C library's locks

    @Test func passesStaticMutexesThroughOneHelper() {
        cledger_post_twice()
    }

    @Test func failsCMutexesInBothOrders() {
        cledger_open_and_reconcile()
    }

    @Test func failsRwlockWritersInBothOrders() {
        cledger_reindex()
    }

    @Test func failsUnlockOfAMutexNeverLocked() {
        #expect(cledger_close_period() == 0)
    }
}
