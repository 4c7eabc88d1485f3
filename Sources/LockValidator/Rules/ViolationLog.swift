import Synchronization

/// Violations in the order found, one entry per (rule, lock classes, site) with an occurrence count.
final class ViolationLog: Sendable {
    private struct Entries {
        var list: [Violation] = []
        var index: [Violation.Key: Int] = [:]
    }

    private let entries = InternalLock(Entries())

    /// Adds `violation`, or counts one more occurrence of an equal entry; returns true when it is new.
    @discardableResult
    func add(_ violation: Violation) -> Bool {
        entries.withLock { entries in
            if let existing = entries.index[violation.key] {
                entries.list[existing].occurrences += violation.occurrences
                // The first keeps its stacks; a hold report gains the acquire stack once one is known.
                if entries.list[existing].hold?.acquireStack == nil, violation.hold?.acquireStack != nil {
                    entries.list[existing].hold = violation.hold
                }
                // Seen again by a test that fails on it (its own failOn, or none): the entry fails too.
                if entries.list[existing].failOn != violation.failOn, violation.severity == .error {
                    entries.list[existing].failOn = violation.failOn
                    entries.list[existing].severity = violation.severity
                }
                return false
            }
            entries.index[violation.key] = entries.list.count
            entries.list.append(violation)
            return true
        }
    }

    /// Whether some violation logged so far (as found) satisfies `predicate`.
    func contains(where predicate: (Violation) -> Bool) -> Bool {
        entries.withLock { $0.list.contains(where: predicate) }
    }

    /// The violations, each cycle's verdict decided again from the evidence gathered until now.
    var snapshot: [Violation] { entries.withLock { $0.list }.map(LockOrder.reVerdicted) }

    func removeAll() { entries.withLock { $0 = Entries() } }
}
