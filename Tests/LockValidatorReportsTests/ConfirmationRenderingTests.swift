import Foundation
import LockValidator
import LockValidatorReports
import TestSupport
import Testing

/// Confirmation mode's finding on a cycle (`Violation.confirmation`) in every output: text, JSON, SARIF
/// (`properties`, still valid against the schema) and HTML; a violation without one shows none.
@Suite struct ConfirmationRenderingTests {
    static let interleaving = [
        "thread 1 (tid 100) held back 198 ms holding \"A\" before taking \"B\"; meanwhile thread 2 took \"B\"",
        "thread 1 (tid 100) holding \"A\" waits for \"B\" held by thread 2",
    ]

    static func inversion(_ confirmation: CycleConfirmation?) -> Violation {
        let a = LockInfo(name: "A", site: nil, instance: 1)
        let b = LockInfo(name: "B", site: nil, instance: 2)
        let thread = ThreadInfo(serial: 1, osThreadID: 100, name: nil)
        let site = Site.source(fileID: "App/Cache.swift", line: 12)
        let edges = [
            DependencyEdge(
                from: b, to: a, fromAcquiredAt: site, toAcquiredAt: site, irql: .passive, thread: thread, stack: StackTrace(addresses: [])),
            DependencyEdge(
                from: a, to: b, fromAcquiredAt: site, toAcquiredAt: site, irql: .passive, thread: thread, stack: StackTrace(addresses: [])),
        ]
        return Violation(
            rule: .lockOrderInversion, summary: "A and B in a cycle", severity: .error, locks: [a, b], site: site,
            thread: thread, irql: .passive, heldLocks: [], stack: StackTrace(addresses: []), occurrences: 1,
            edges: edges, confirmation: confirmation)
    }

    static func report(_ violations: [Violation]) -> ValidationReport {
        var report = LockValidator.currentReport
        report.violations = violations
        return report
    }

    @Test func aConfirmedCycleSaysHowItFormedInEveryOutput() throws {
        let violation = Self.inversion(CycleConfirmation(status: .confirmed, interleaving: Self.interleaving))
        let text = violation.rendered(.text)
        #expect(text.contains("confirmed: the cycle formed for real (LOCKVALIDATOR_CONFIRM); how:"))
        #expect(text.contains("  1. \(Self.interleaving[0])"))
        let decoded = try JSONDecoder().decode(Violation.self, from: JSONEncoder().encode(violation))
        #expect(decoded.confirmation == violation.confirmation)
        let sarif = Self.report([violation]).sarif(sourceRoot: nil)
        #expect(try SarifSchema.errors(in: sarif) == [])
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
        let result = try #require(((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])?.first)
        let properties = try #require(result["properties"] as? [String: Any])
        #expect(properties["confirmation"] as? String == "confirmed")
        #expect(properties["interleaving"] as? [String] == Self.interleaving)
        let html = Self.report([violation]).html()
        #expect(html.contains("<b>confirmed</b>") && html.contains("<li>thread 1 (tid 100) held back 198 ms"))
    }

    @Test func aPredictedCycleSaysSoAndACycleOutsideTheModeSaysNothing() throws {
        let predicted = Self.inversion(CycleConfirmation(status: .predicted))
        #expect(predicted.rendered(.text).contains("predicted: steered for (LOCKVALIDATOR_CONFIRM)"))
        #expect(Self.report([predicted]).html().contains("<b>predicted</b>"))
        let plain = Self.inversion(nil)
        #expect(!plain.rendered(.text).contains("LOCKVALIDATOR_CONFIRM"))
        #expect(!String(decoding: try JSONEncoder().encode(plain), as: UTF8.self).contains("confirmation"))
        let sarif = Self.report([plain]).sarif(sourceRoot: nil)
        #expect(!sarif.contains("\"properties\""))
        #expect(!Self.report([plain]).html().contains("class=\"confirmation\""))
    }
}
