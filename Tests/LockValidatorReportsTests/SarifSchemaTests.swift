import Foundation
import LockValidator
import LockValidatorReports
import SpinLocks
import TestSupport
import Testing

/// Every SARIF log the tool writes validates against the official SARIF 2.1.0 schema: for every rule,
/// every kind of site (source, code placed by debug information, code without a line, none), with and
/// without a source root, from `lockval sarif` and `lockval check --sarif`.
@Suite struct SarifSchemaTests {
    /// The check can fail: a log with the mistakes sites once made (a symbol for a file, line 0, a path
    /// with a space as a URI) is refused.
    @Test func theSchemaRefusesWhatSitesOnceProduced() throws {
        let bad = """
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "LockValidator"}}, "results": [
              {"ruleId": "lock-order-inversion", "message": {"text": "x"}, "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "file:///a b/Cache.swift"}, "region": {"startLine": 0}}}]}]}]}
            """
        let errors = try SarifSchema.errors(in: bad)
        #expect(errors.contains { $0.contains("startLine") && $0.contains("less than the minimum of 1") })
        #expect(errors.contains { $0.contains("is not a 'uri-reference'") })
    }

    /// One violation of every rule at every kind of site.
    static func everyRuleAtEverySite() -> ValidationReport {
        let placed = CodeSite(
            module: "AppPackageTests.xctest", moduleAddress: 0x1a2b,
            location: .init(
                function: "Cache.init", functionOffset: 47, file: "/work/app dir/Sources/Cache/Ç.swift", line: 37,
                column: 21))
        let unplaced = CodeSite(
            module: "libsqlite3.so.0", moduleAddress: 0x3ffc, location: .init(function: nil, functionOffset: nil))
        let named = CodeSite(
            module: "libc.so.6", moduleAddress: 0x891f5, location: .init(function: "start_thread", functionOffset: 773))
        let sites: [Site?] = [
            .source(fileID: "App/Queue.swift", line: 12), .code(placed), .code(unplaced), .code(named), nil,
        ]
        let thread = ThreadInfo(serial: 1, osThreadID: 100, name: "worker")
        let stack = StackTrace(frames: [
            .init(address: 0x1000, symbol: "App.Queue.run() -> ()", offset: 12, file: "/work/app dir/Sources/App/Queue.swift", line: 12)
        ])
        var violations: [Violation] = []
        for rule in Rule.allCases {
            for (index, site) in sites.enumerated() {
                let lock = LockInfo(name: "\(rule.rawValue)-lock-\(index)", site: site, instance: UInt64(index + 1))
                let other = LockInfo(name: "\(rule.rawValue)-other-\(index)", site: sites[(index + 1) % sites.count], instance: 9)
                let edges = rule == .lockOrderInversion
                    ? [
                        DependencyEdge(
                            from: other, to: lock, fromAcquiredAt: sites[(index + 1) % 4]!, toAcquiredAt: site ?? sites[0]!,
                            irql: .passive, thread: thread, stack: stack),
                        DependencyEdge(
                            from: lock, to: other, fromAcquiredAt: sites[(index + 2) % 4]!, toAcquiredAt: sites[(index + 3) % 4]!,
                            irql: .passive, thread: thread, stack: stack),
                    ] : []
                violations.append(
                    Violation(
                        rule: rule, summary: "\(rule.rawValue) at site kind \(index)", severity: rule.severity,
                        locks: [lock, other], site: site, thread: thread, irql: .passive, heldLocks: [], stack: stack,
                        occurrences: 1 + index, edges: edges))
            }
        }
        var report = LockValidator.currentReport
        report.violations = violations
        return report
    }

    @Test(arguments: [nil, "/work/app dir/"])
    func everyRuleAtEveryKindOfSiteIsValid(sourceRoot: String?) throws {
        let report = Self.everyRuleAtEverySite()
        let sarif = report.sarif(sourceRoot: sourceRoot)
        #expect(try SarifSchema.errors(in: sarif) == [])
        // Each result is placed where it can be: a line for a source site or placed code, a function's name
        // for code without a line.
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
        let results = try #require((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])
        #expect(results.count == Rule.allCases.count * 5)
        let placements = results.prefix(5).map { result -> String in
            guard let location = (result["locations"] as? [[String: Any]])?.first else { return "none" }
            if let physical = location["physicalLocation"] as? [String: Any] {
                return ((physical["artifactLocation"] as? [String: Any])?["uri"] as? String) ?? "?"
            }
            return ((location["logicalLocations"] as? [[String: Any]])?.first?["name"] as? String) ?? "?"
        }
        // A source site's file is found through the stack frame in it; paths are percent-encoded.
        let base = sourceRoot == nil ? "file:///work/app%20dir/" : ""
        #expect(
            placements == [
                base + "Sources/App/Queue.swift", base + "Sources/Cache/%C3%87.swift", "libsqlite3.so.0+0x3ffc",
                "start_thread+0x305", "none",
            ])
    }

    @Test func aRealReportAndCheckAcrossProcessesAreValid() throws {
        let prefix = uniqueClassPrefix("sarif-real")
        let a = SpinLock("\(prefix).A")
        let b = SpinLock("\(prefix).B")
        let found = LockValidator.violations(during: {
            ProcessorThread { a.withLock { b.withLock {} } }.join()
            ProcessorThread { b.withLock { a.withLock {} } }.join()
        })
        var report = LockValidator.currentReport
        report.violations = found
        #expect(try SarifSchema.errors(in: report.sarif(sourceRoot: nil)) == [])
        // Two processes' halves of an inversion, found by `lockval check`, written as SARIF.
        var first = report
        var second = report
        first.violations = []
        second.violations = []
        let orders = report.graph.edges.filter { $0.from.hasPrefix(prefix) && $0.to.hasPrefix(prefix) }
        first.graph.edges = orders.filter { $0.from.hasSuffix(".A") }
        second.graph.edges = orders.filter { $0.from.hasSuffix(".B") }
        second.process.pid += 1
        let firstPath = try LockValCommandTests.temporaryFile("sarif-first.json", first.jsonText())
        let secondPath = try LockValCommandTests.temporaryFile("sarif-second.json", second.jsonText())
        let output = LockValCommandTests.scratchPath("check.sarif")
        let check = try LockValCommandTests.lockval(["check", firstPath, secondPath, "--sarif", output])
        #expect(check.status == 1, "\(check.error)")
        let sarif = try String(contentsOfFile: output, encoding: .utf8)
        #expect(sarif.contains("lock-order-inversion"))
        #expect(try SarifSchema.errors(in: sarif) == [])
    }
}
