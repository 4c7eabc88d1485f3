import LockValidator

/// A report compared with a baseline: what is new, what is gone.
public struct ReportDiff {
    /// Violations in the report that the baseline does not have.
    public let new: [Violation]
    /// Violations in the baseline that the report no longer has.
    public let fixed: [Violation]

    /// Violations are compared by ``Violation/identity`` (no line numbers, so an edit above the code
    /// changes nothing). Several of one identity (classes made in one function) are matched first by their
    /// lines, then in order, so that a new one among them is still new.
    public init(baseline: ValidationReport, current: ValidationReport) {
        var unmatched = Dictionary(grouping: baseline.violations.indices, by: { baseline.violations[$0].identity })
        var pending: [Int] = []
        for (index, violation) in current.violations.enumerated() {
            let exact = unmatched[violation.identity]?.firstIndex {
                baseline.violations[$0].identityWithLines == violation.identityWithLines
            }
            if let exact { unmatched[violation.identity]!.remove(at: exact) } else { pending.append(index) }
        }
        var newIndices: [Int] = []
        for index in pending {
            let identity = current.violations[index].identity
            if unmatched[identity]?.isEmpty == false {
                unmatched[identity]!.removeFirst()
            } else {
                newIndices.append(index)
            }
        }
        let gone = Set(unmatched.values.joined())
        new = newIndices.map { current.violations[$0] }
        fixed = baseline.violations.indices.filter(gone.contains).map { baseline.violations[$0] }
    }

    /// One line per change, then a summary line.
    public var text: String {
        var lines = new.map { "new: \($0)" } + fixed.map { "fixed: \($0)" }
        lines.append("\(new.count) new, \(fixed.count) fixed")
        return lines.joined(separator: "\n") + "\n"
    }
}
