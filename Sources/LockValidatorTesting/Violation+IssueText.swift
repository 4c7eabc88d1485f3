import LockValidator

extension Violation {
    /// What a test issue says: one line first, which is what test summaries, JUnit's failure message and
    /// XCTest's failure line show (the rule and its summary, with the verdict for an inversion), then the
    /// full report.
    var issueText: String {
        var headline = "\(rule.rawValue): \(summary)"
        if let site { headline += " at \(site)" }
        if let verdict { headline += "; verdict: \(verdict)" }
        // The report starts with a blank line (to stand apart on standard error); here it follows the headline.
        return headline + "\n" + rendered(.text).drop { $0.isNewline }
    }
}
