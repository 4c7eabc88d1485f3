/// The plain text report, modelled on lockdep's: a headline, the thread and what it was doing, the
/// locks it holds, and the stack.
enum TextReport {
    static func render(_ violations: [Violation]) -> String {
        if violations.isEmpty { return "LockValidator: no violations.\n" }
        let counts = "LockValidator: \(violations.count) violation\(violations.count == 1 ? "" : "s").\n"
        return counts + violations.map(render).joined()
    }

    static func render(_ violation: Violation) -> String {
        let rule = violation.rule
        let rulerWidth = 66
        var lines: [String] = []
        lines.append("")
        lines.append(String(repeating: "=", count: rulerWidth))
        lines.append("\(violation.severity == .error ? "ERROR" : "WARNING"): \(rule.rawValue): \(rule.headline)")
        lines.append(String(repeating: "-", count: rulerWidth))
        var context = "\(violation.thread) at \(violation.irql)"
        if violation.occurrences > 1 { context += ", seen \(violation.occurrences) times" }
        lines.append(context)
        lines.append(violation.summary)
        if let site = violation.site { lines.append("  at \(site)") }
        if !violation.locks.isEmpty {
            lines.append("")
            lines.append("locks involved:")
            for lock in violation.locks {
                lines.append("  \(lock), created at \(lock.site)")
            }
        }
        lines.append("")
        if violation.heldLocks.isEmpty {
            lines.append("no locks held by \(violation.thread).")
        } else {
            lines.append(
                "\(violation.heldLocks.count) lock\(violation.heldLocks.count == 1 ? "" : "s") held by \(violation.thread):"
            )
            for (index, held) in violation.heldLocks.enumerated() {
                lines.append(
                    "  #\(index): \(held.lock) (\(held.kind), at \(held.irql)), acquired at \(held.acquiredAt)")
            }
        }
        lines.append("")
        lines.append("stack:")
        lines.append(contentsOf: violation.stack.symbolicated().enumerated().map { "  #\($0.offset) \($0.element)" })
        lines.append("anchor: \(rule.anchor)")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Violation {
    /// This violation alone, rendered in `format`.
    public func rendered(_ format: ReportFormat = .text) -> String {
        switch format {
        case .text: return TextReport.render(self)
        }
    }
}
