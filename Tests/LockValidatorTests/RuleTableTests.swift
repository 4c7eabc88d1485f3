import Foundation
import Testing

@testable import LockValidator

/// The rule table lives in `Rule`; the README's copy must match it row for row.
@Suite struct RuleTableTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeTableIsTheRuleTable() throws {
        let readme = try String(contentsOf: Self.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let header = "| rule id | severity | what | anchor |"
        let start = try #require(readme.range(of: header), "the README has no rule table")
        let table =
            readme[start.lowerBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { $0.hasPrefix("|") }.joined(separator: "\n") + "\n"
        #expect(table == Rule.markdownTable, "regenerate it with `swift run lockval rules`")
    }

    /// The documentation's table (rule, headline, anchor) says what `Rule` says, for every rule.
    @Test func theDocumentationTableIsTheRuleTable() throws {
        let article = try String(
            contentsOf: Self.packageRoot.appendingPathComponent("Sources/LockValidator/LockValidator.docc/Rules.md"),
            encoding: .utf8)
        let rows = article.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { row in
            row.dropFirst(2).dropLast(2).components(separatedBy: " | ")
        }
        let documented = Dictionary(
            rows.map { cells in (String(cells[0].split(separator: "`")[0]), Array(cells.dropFirst())) },
            uniquingKeysWith: { first, _ in first })
        for rule in Rule.allCases {
            #expect(documented[rule.rawValue] == [rule.headline, rule.anchor], "\(rule)")
        }
        #expect(documented.count == Rule.allCases.count)
    }

    @Test func everyRuleHasItsWords() {
        for rule in Rule.allCases {
            #expect(!rule.headline.isEmpty && !rule.anchor.isEmpty && !rule.explanation.isEmpty, "\(rule)")
        }
        #expect(Rule.allCases.filter { $0.severity == .warning } == [.holdTimeExceeded, .capacityExhausted])
    }
}

/// The routine families `mixed-acquire-kinds` compares, looked up without a branch.
@Suite struct KindFamilyTests {
    @Test func everyKindIsInItsFamily() {
        #expect(KindFamily.of(.ordinary) == KindFamily.ordinary)
        #expect(KindFamily.of(.tryAcquire) == KindFamily.ordinary)
        #expect(KindFamily.of(.queued) == KindFamily.queued)
        #expect(KindFamily.of(.interrupt) == KindFamily.interrupt)
        #expect(KindFamily.of(.annotated) == KindFamily.annotated)
        for raw in [0, 6, 7, 8, 200] as [UInt8] { #expect(KindFamily.of(rawKind: raw) == KindFamily.annotated) }
    }
}
