import Synchronization

/// Violations in the order found, one entry per (rule, lock classes, site) with an occurrence count; a
/// cycle a later scope was told of again counts as an occurrence of its first report.
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
            if violation.retold, let first = entries.list.firstIndex(where: { $0.isSameCycle(as: violation) }) {
                // A test told of a cycle another reported first: one entry, its scopes named.
                entries.list[first].occurrences += violation.occurrences
                if let scopes = entries.list[first].scope, let scope = violation.scope,
                    !scopes.split(separator: ", ").contains(Substring(scope))
                {
                    entries.list[first].scope = scopes + ", " + scope
                }
                if entries.list[first].severity != .error, violation.severity == .error {
                    entries.list[first].failOn = violation.failOn
                    entries.list[first].severity = violation.severity
                }
                return false
            }
            if !violation.retold, violation.rule == .lockOrderInversion,
                let told = entries.list.firstIndex(where: { $0.retold && $0.isSameCycle(as: violation) })
            {
                // The first report arrives after a test told of it again ended (tests run at once): it takes
                // that entry's place, with its occurrences and scopes.
                let retold = entries.list[told]
                var first = violation
                first.occurrences += retold.occurrences
                first.scope = [violation.scope, retold.scope].compactMap { $0 }.joined(separator: ", ")
                if first.severity != .error, retold.severity == .error {
                    first.failOn = retold.failOn
                    first.severity = retold.severity
                }
                entries.index[retold.key] = nil
                entries.index[first.key] = told
                entries.list[told] = first
                return true
            }
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

    /// The first violation logged so far (as found) that satisfies `predicate`.
    func first(where predicate: (Violation) -> Bool) -> Violation? {
        entries.withLock { $0.list.first(where: predicate) }
    }

    /// Whether some violation logged so far (as found) satisfies `predicate`.
    func contains(where predicate: (Violation) -> Bool) -> Bool {
        entries.withLock { $0.list.contains(where: predicate) }
    }

    /// The violations, each cycle's verdict decided again from the evidence gathered until now.
    var snapshot: [Violation] { entries.withLock { $0.list }.map(LockOrder.reVerdicted) }

    func removeAll() { entries.withLock { $0 = Entries() } }
}

extension Violation {
    /// Whether both are `lock-order-inversion`s of one cycle (the same classes).
    fileprivate func isSameCycle(as other: Violation) -> Bool {
        rule == .lockOrderInversion && other.rule == .lockOrderInversion
            && Set(locks.map(\.name)) == Set(other.locks.map(\.name))
    }
}
