import LockValidator

/// A report compared with a baseline: what is new, what is gone.
public struct ReportDiff {
    /// Violations in the report that the baseline does not have.
    public let new: [Violation]
    /// Violations in the baseline that the report no longer has.
    public let fixed: [Violation]

    public init(baseline: ValidationReport, current: ValidationReport) {
        let before = Set(baseline.violations.map(\.identity))
        let after = Set(current.violations.map(\.identity))
        new = current.violations.filter { !before.contains($0.identity) }
        fixed = baseline.violations.filter { !after.contains($0.identity) }
    }

    /// One line per change, then a summary line.
    public var text: String {
        var lines = new.map { "new: \($0)" } + fixed.map { "fixed: \($0)" }
        lines.append("\(new.count) new, \(fixed.count) fixed")
        return lines.joined(separator: "\n") + "\n"
    }
}
