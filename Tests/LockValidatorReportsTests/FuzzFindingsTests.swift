import Foundation
import LockValidator
import LockValidatorReports
import Testing

/// Every input the fuzzers (Fuzz/fuzz.sh) found to crash a parser or what renders its result: each must now
/// be read (or refused in one line) and shown every way lockval shows a report, without a crash.
@Suite struct FuzzFindingsTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "FuzzFindings")

    static var reports: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasPrefix("report-") }.sorted()
    }

    static var stores: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasPrefix("store-") }.sorted()
    }

    static var suppressions: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasPrefix("suppressions-") }.sorted()
    }

    @Test func thereAreFindings() {
        #expect(!Self.reports.isEmpty && !Self.stores.isEmpty && !Self.suppressions.isEmpty)
    }

    /// Each valid line of a suppressions file writes out (`description`) as a line that reads back the same
    /// (FuzzSuppressions' check). suppressions-combining-mark-after-the-colon.txt: `*:` then a pattern
    /// starting with a combining mark, which joined the colon into one Character, so that the written line
    /// read as having no colon.
    @Test(arguments: suppressions)
    func aSuppressionsFindingRoundTrips(file: String) throws {
        let text = String(decoding: try Data(contentsOf: Self.directory.appendingPathComponent(file)), as: UTF8.self)
        let (suppressions, _) = Suppression.parse(text: text)
        #expect(!suppressions.isEmpty)
        for suppression in suppressions {
            #expect(try Suppression.parse(line: suppression.description) == suppression, "\(suppression)")
        }
    }

    /// A store is kept as read, and what is kept writes out whole: read back, nothing is dropped and it
    /// writes the same text again (FuzzStore's checks, on what it found).
    @Test(arguments: stores)
    func aStoreFindingRoundTrips(file: String) throws {
        let text = String(decoding: try Data(contentsOf: Self.directory.appendingPathComponent(file)), as: UTF8.self)
        guard let store = try? LearnedOrderStore(parsing: text, from: file) else { return }
        let written = store.text()
        let again = try LearnedOrderStore(parsing: written, from: "again")
        #expect(again.droppedLines.isEmpty, "\(again.droppedLines)")
        #expect(again.orders.count == store.orders.count)
        let twice = again.text()
        let difference = zip(written.split(separator: "\n"), twice.split(separator: "\n")).first { $0 != $1 }
        #expect(twice == written, "first difference: \(String(describing: difference))")
    }

    /// report-cycle-names-a-class-twice.json: a report whose inversion's cycle names one class twice (a
    /// hand-edited or garbled file) crashed `lockval html` (a dictionary built with unique keys).
    @Test(arguments: reports)
    func aReportFindingIsReadAndShownEveryWay(file: String) throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(file))
        guard let report = try? ValidationReport.decode(data, from: file) else { return }
        _ = report.renderedText()
        _ = report.sarif(sourceRoot: "/src/")
        _ = report.dot(cyclesOnly: false)
        _ = report.html()
        _ = ValidationReport.merged([report, report]).html()
    }
}
