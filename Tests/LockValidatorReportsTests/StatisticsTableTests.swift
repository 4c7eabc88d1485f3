import LockValidator
import LockValidatorReports
import Testing

/// `lockval show --stats`: lock_stat's table within 120 columns whatever the class names, with every name
/// whole.
@Suite struct StatisticsTableTests {
    static func row(_ name: String, holdMax: Double = 2_800) -> LockClassStatistics {
        LockClassStatistics(
            name: name, acquisitions: 10, contentions: 0, waitTotalNanoseconds: 0, waitMaxNanoseconds: 0, holds: 10,
            holdMeanNanoseconds: 291, holdMaxNanoseconds: holdMax, holdP99Nanoseconds: holdMax)
    }

    static func table(_ rows: [LockClassStatistics]) -> [Substring] {
        var report = LockValidator.currentReport
        report.lockStatistics = rows
        return report.statisticsTable().split(separator: "\n")
    }

    static let icu =
        "NSLock created at icu::UnifiedCache::getInstance(UErrorCode&)+0x4f in icu::UnifiedCache::_putNew("
        + "icu::CacheKeyBase const&, icu::SharedObject const*, UErrorCode, UErrorCode&) const"

    @Test func aLongClassNameGetsItsOwnLinesAndTheTableStaysWithin120Columns() throws {
        let lines = Self.table([Self.row(Self.icu), Self.row("Cache.lock", holdMax: 431)])
        #expect(lines.allSatisfy { $0.count <= 120 }, "\(lines.map(\.count))")
        // The name whole, over two lines broken at a space, then its numbers under the columns.
        #expect(lines[2].hasPrefix("NSLock created at icu::UnifiedCache::getInstance"))
        #expect(lines[3].hasPrefix("  const&"))
        #expect(lines[2] + " " + lines[3].dropFirst(2) == Self.icu)
        let numbers = lines[4].split(separator: " ")
        #expect(lines[4].hasPrefix("   ") && numbers.first == "10" && numbers.last == "µs", "\(lines[4])")
        // A name that fits keeps its numbers on its own line, under the same columns.
        #expect(lines[5].hasPrefix("Cache.lock ") && lines[5].hasSuffix("431 ns"))
        #expect(lines[4].count == lines[5].count && lines[0].count == lines[1].count)
        #expect(lines.count == 6)
    }

    /// Short names: one line per class, the name column as wide as the longest name, as before.
    @Test func shortNamesKeepOneLineEach() {
        let lines = Self.table([Self.row("Cache.lock"), Self.row("Ledger.accounts.lock")])
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("class                 acquisitions"))
        #expect(lines[2].hasPrefix("Cache.lock            "))
        #expect(lines.allSatisfy { $0.count < 120 })
    }

    /// A name with no space to break at (a mangled symbol) is cut at the width.
    @Test func aNameWithoutSpacesIsCutAtTheWidth() {
        let name = String(repeating: "x", count: 250)
        let lines = Self.table([Self.row(name)])
        #expect(lines.allSatisfy { $0.count <= 120 })
        #expect(lines[2].count == 120 && lines[3].count == 120 && lines[4] == "  " + String(repeating: "x", count: 12))
    }
}
