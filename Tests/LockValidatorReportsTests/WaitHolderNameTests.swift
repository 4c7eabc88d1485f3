import Foundation
import LockValidator
import LockValidatorReports
import Testing

/// A deadlock's wait-for cycle names each lock's holder as reports name threads everywhere (`thread 2
/// "audit" (tid 101)`), in text, SARIF and HTML; a report written before holders were kept names them from
/// the cycle, and a holder nothing names is its number.
@Suite struct WaitHolderNameTests {
    static let transfer = ThreadInfo(serial: 1, osThreadID: 100, name: "transfer")
    static let audit = ThreadInfo(serial: 2, osThreadID: 101, name: "audit")

    static func wait(_ thread: ThreadInfo, for lock: String, heldBy holder: UInt32, holderThread: ThreadInfo?)
        -> ThreadWait
    {
        ThreadWait(
            thread: thread, waitingFor: LockInfo(name: lock, site: nil, instance: UInt64(holder)), waitingAt: nil,
            holder: holder, waitedNanoseconds: 2e9, heldLocks: [], stack: StackTrace(addresses: []),
            isBlocking: true, holderThread: holderThread)
    }

    static func deadlock(_ waits: [ThreadWait], summary: String = "2 threads blocked") -> Violation {
        Violation(
            rule: .deadlock, summary: summary, severity: .error, locks: waits.compactMap(\.waitingFor), site: nil,
            thread: waits[0].thread, irql: .passive, heldLocks: [], stack: StackTrace(addresses: []), occurrences: 1,
            waits: waits)
    }

    @Test func theWaitForCycleNamesEachHolder() throws {
        let waits = [
            Self.wait(Self.transfer, for: "Ledger", heldBy: 2, holderThread: Self.audit),
            Self.wait(Self.audit, for: "Accounts", heldBy: 1, holderThread: Self.transfer),
        ]
        let text = Self.deadlock(waits).rendered(.text)
        #expect(text.contains("\"Ledger\" #2 (asked at ?), held by thread 2 \"audit\" (tid 101)\n"), "\(text)")
        #expect(text.contains("\"Accounts\" #1 (asked at ?), held by thread 1 \"transfer\" (tid 100)\n"))
        #expect(!text.contains("held by thread 2\n") && !text.contains("held by thread 1\n"))
        // The holder's name survives the JSON report that lockval reads.
        let decoded = try JSONDecoder().decode(ThreadWait.self, from: JSONEncoder().encode(waits[0]))
        #expect(decoded.holderThread == Self.audit)
    }

    /// A report from before `holderThread` was kept: the holder is the cycle's member with its number.
    @Test func anOlderReportNamesTheHolderFromTheCycle() throws {
        var json = try #require(
            try JSONSerialization.jsonObject(
                with: JSONEncoder().encode(Self.wait(Self.transfer, for: "Ledger", heldBy: 2, holderThread: nil)))
                as? [String: Any])
        json["holderThread"] = nil
        let old = try JSONDecoder().decode(ThreadWait.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(old.holderThread == nil)
        let waits = [old, Self.wait(Self.audit, for: "Accounts", heldBy: 1, holderThread: nil)]
        #expect(old.holderDescription(among: waits) == "thread 2 \"audit\" (tid 101)")
        #expect(Self.deadlock(waits).rendered(.text).contains("held by thread 1 \"transfer\" (tid 100)\n"))
    }

    /// A holder that is neither kept nor in the chain (a spin-timeout chain ending at a thread that does not
    /// wait) is its number, as before: nothing is made up.
    @Test func aHolderNothingNamesIsItsNumber() {
        let waits = [Self.wait(Self.transfer, for: "Ledger", heldBy: 7, holderThread: nil)]
        #expect(waits[0].holderDescription(among: waits) == "thread 7")
        #expect(Self.deadlock(waits).rendered(.text).contains("held by thread 7\n"))
    }

    /// SARIF's message and the HTML page carry the summary, which names the holders.
    @Test func sarifAndHTMLShowTheSummaryWithTheNames() throws {
        let summary =
            "2 threads blocked on each other's locks: thread 1 \"transfer\" (tid 100) waits for"
            + " \"Ledger\" held by thread 2 \"audit\" (tid 101)"
        let waits = [
            Self.wait(Self.transfer, for: "Ledger", heldBy: 2, holderThread: Self.audit),
            Self.wait(Self.audit, for: "Accounts", heldBy: 1, holderThread: Self.transfer),
        ]
        var report = LockValidator.currentReport
        report.violations = [Self.deadlock(waits, summary: summary)]
        #expect(report.sarif(sourceRoot: nil).contains("held by thread 2 \\\"audit\\\" (tid 101)"))
        #expect(report.html().contains("held by thread 2 &quot;audit&quot; (tid 101)"))
    }
}
