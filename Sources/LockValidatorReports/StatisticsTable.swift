import LockValidator

extension ValidationReport {
    /// lockdep's lock_stat as a table, one row per lock class, the longest hold first.
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
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// A duration from nanoseconds, in the unit that reads best.
    static func time(_ nanoseconds: Double) -> String {
        if nanoseconds < 1_000 { return "\(Int(nanoseconds.rounded())) ns" }
        if nanoseconds < 1_000_000 { return "\((nanoseconds / 100).rounded() / 10) µs" }
        return "\((nanoseconds / 100_000).rounded() / 10) ms"
    }
}
