extension LockValidator {
    /// Before a violation that ends the process (`deadlock`, `spin-timeout`): what the scopes still open
    /// (running tests) collected would be reported when they end, which never comes. The inversion the
    /// thread closing a deadlock's cycle recorded before it waited is among them. Each is put in the process
    /// log (the report file) and printed in full now, before the ending one, with its confirmation when
    /// confirmation mode formed its cycle. Returns them by scope, for ``printRunEndLines(ending:in:collected:)``.
    static func reportCollectedBeforeRunEnds() -> [(scope: ViolationScope, violations: [Violation])] {
        var collected: [(scope: ViolationScope, violations: [Violation])] = []
        // An expectation's or a test's scope (`.collect`): a forwarding scope passed its own on already.
        for scope in ViolationScope.openScopes where scope.disposition == .collect {
            let violations = DeadlockConfirmation.annotated(scope.violations).filter {
                !scope.allowedRules.contains($0.rule)
            }
            if !violations.isEmpty { collected.append((scope, violations)) }
        }
        let all = collected.flatMap(\.violations)
        guard !all.isEmpty else { return [] }
        let names = collected.map { "\"\($0.scope.name)\"" }.joined(separator: ", ")
        let one = collected.count == 1
        printToStandardError(
            "LockValidator: \(all.count) violation\(all.count == 1 ? "" : "s") found in \(names), printed now: the run"
                + " ends before \(one ? "its scope" : "their scopes") can report \(all.count == 1 ? "it" : "them"):")
        TextReport.prefetch(all)
        for violation in all where globalLog.add(violation) { printToStandardError(TextReport.render(violation)) }
        return collected
    }

    /// After the report of `ending`, which ends the process: each open scope with a test framework's words
    /// (``ViolationScope/runEndLines``) prints the issues its test would have recorded, in the framework's
    /// failure format, so that a CI log names the failed test. `ending` goes to the innermost such scope
    /// around `scope` (the scope it was found in).
    static func printRunEndLines(
        ending: Violation, in scope: ViolationScope?,
        collected: [(scope: ViolationScope, violations: [Violation])]
    ) {
        var owner = scope
        while let candidate = owner, candidate.runEndLines == nil { owner = candidate.parent }
        var reporters = ViolationScope.openScopes.filter { $0.runEndLines != nil }
        if let owner, !reporters.contains(where: { $0 === owner }) { reporters.append(owner) }
        for reporter in reporters {
            guard let lines = reporter.runEndLines else { continue }
            // Its own violations and those of the expectation scopes inside it.
            let violations = collected.filter { entry in
                var current: ViolationScope? = entry.scope
                while let scope = current, scope !== reporter {
                    if scope.runEndLines != nil { return false }
                    current = scope.parent
                }
                return current === reporter
            }.flatMap(\.violations)
            let ends = reporter === owner
            guard ends || !violations.isEmpty else { continue }
            for line in lines(violations, ends ? ending : nil) { printToStandardError(line) }
        }
    }
}
