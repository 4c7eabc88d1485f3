import LockValidator

extension ValidationReport {
    /// The widest line the table prints: a terminal's or a CI log's, with room to spare.
    public static let statisticsTableWidth = 120

    /// lockdep's lock_stat as a table, one row per lock class, the longest hold first, within
    /// ``statisticsTableWidth`` columns.
    ///
    /// A class name too long for its column (an ICU or Foundation init site's: `NSLock created at
    /// icu::UnifiedCache::getInstance(…)+0x4f in …`) gets a line of its own, wrapped if it must be, and its
    /// numbers go on the next line, as `df` prints a long file-system name. The whole name is kept, not
    /// elided: site-keyed classes differ in the middle (`Cache.swift:37` and `Cache.swift:41` in the same
    /// function), and the name is what a suppression or `withLockClass` is written against.
    public func statisticsTable() -> String {
        guard !lockStatistics.isEmpty else { return "No lock statistics in this report.\n" }
        let header = [
            "class", "acquisitions", "contentions", "wait total", "wait max", "holds", "hold mean", "hold max",
            "hold p99 ≤",
        ]
        let rows = lockStatistics.map { row in
            [
                row.name, "\(row.acquisitions)", "\(row.contentions)", Self.time(row.waitTotalNanoseconds),
                Self.time(row.waitMaxNanoseconds), "\(row.holds)", Self.time(row.holdMeanNanoseconds),
                Self.time(row.holdMaxNanoseconds), Self.time(row.holdP99Nanoseconds),
            ]
        }
        let separator = "  "
        var widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let numbers = widths.dropFirst().reduce(0, +) + separator.count * (widths.count - 1)
        // The name column takes what the numbers leave, at least the header's width.
        widths[0] = min(widths[0], max(header[0].count, Self.statisticsTableWidth - numbers))
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: max(0, widths[column] - cell.count))
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: separator)
        }
        var lines = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: separator)]
        for row in rows {
            if row[0].count <= widths[0] {
                lines.append(line(row))
            } else {
                lines += Self.wrapped(row[0], width: Self.statisticsTableWidth)
                lines.append(line([""] + row.dropFirst()))
            }
        }
        // No trailing blanks: the name column is padded only where numbers follow it.
        return lines.map { Self.withoutTrailingBlanks(Substring($0)) }.joined(separator: "\n") + "\n"
    }

    /// `text` in lines of at most `width` characters, broken after spaces where it has them (within a word
    /// longer than a line, anywhere); continuation lines are indented by two spaces.
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var rest = Substring(text)
        var limit = width
        while rest.count > limit {
            let head = rest.prefix(limit)
            let cut = head.lastIndex(of: " ").map { rest.index(after: $0) } ?? head.endIndex
            lines.append((lines.isEmpty ? "" : "  ") + withoutTrailingBlanks(rest[..<cut]))
            rest = rest[cut...]
            limit = width - 2
        }
        lines.append((lines.isEmpty ? "" : "  ") + rest)
        return lines
    }

    private static func withoutTrailingBlanks(_ text: Substring) -> String {
        var text = text
        while text.last == " " { text.removeLast() }
        return String(text)
    }

    /// A duration from nanoseconds, in the unit that reads best.
    static func time(_ nanoseconds: Double) -> String {
        if nanoseconds < 1_000 { return "\(Int(nanoseconds.rounded())) ns" }
        if nanoseconds < 1_000_000 { return "\((nanoseconds / 100).rounded() / 10) µs" }
        return "\((nanoseconds / 100_000).rounded() / 10) ms"
    }
}
