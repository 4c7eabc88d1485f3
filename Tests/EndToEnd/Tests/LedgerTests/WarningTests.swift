// A test's own failOn, written with `import LockValidatorTesting` alone (it re-exports LockValidator's
// types): one thread transfers, then audits, a cycle that cannot deadlock, so a warning, and the process
// (which links LockValidatorPthreads, exit status 66 on violations that fail) passes. EndToEndTests runs
// these alone.
import Foundation
import Ledger
import LockValidatorTesting
import Testing
import XCTest

@Suite struct WarningTests {
    @Test(.lockValidation(failOn: .canDeadlock)) func passesWithAWarningOnACycleOfOneThread() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(5, from: "a", to: "b")
        _ = ledger.audit()
    }
}

final class WarningXCTests: LockValidatedTestCase {
    override var lockFailOn: Configuration.FailOn? { .canDeadlock }

    func testPassesWithAWarningOnACycleOfOneThread() {
        let ledger = Ledger(accounts: NSLock(), entries: NSLock())
        ledger.transfer(5, from: "a", to: "b")
        _ = ledger.audit()
    }
}
