import LockValidator
import Testing

/// Runs `body`, which is meant to break `rule`: passes only if it does, and that violation then does
/// not count against the test. Fails, listing the rules actually seen, otherwise; violations of other
/// rules still count.
///
/// ```swift
/// expectLockViolation(.lockOrderInversion) {
///     a.withLock { b.withLock {} }
///     b.withLock { a.withLock {} }
/// }
/// ```
@discardableResult
public func expectLockViolation<Result>(
    _ rule: Rule, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Result
) rethrows -> Result {
    let scope = ViolationScope(name: "expectLockViolation(.\(rule))", disposition: .collect, allowedRules: [rule])
    defer { settle(scope, expecting: rule, comment, sourceLocation) }
    return try scope.run(body)
}

/// Runs `body`, which is meant to break `rule` (async form).
@discardableResult
public func expectLockViolation<Result>(
    _ rule: Rule, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Result
) async rethrows -> Result {
    let scope = ViolationScope(name: "expectLockViolation(.\(rule))", disposition: .collect, allowedRules: [rule])
    defer { settle(scope, expecting: rule, comment, sourceLocation) }
    return try await scope.run(body)
}

private func settle(_ scope: ViolationScope, expecting rule: Rule, _ comment: Comment?, _ location: SourceLocation) {
    scope.reportUnconfirmedHolds()
    let seen = scope.end()
    if !seen.contains(where: { $0.rule == rule }) {
        let rules = seen.isEmpty ? "none" : seen.map(\.rule.rawValue).joined(separator: ", ")
        let text = "expected a \(rule.rawValue) violation; saw \(rules)" + (comment.map { ": \($0.rawValue)" } ?? "")
        Issue.record(Comment(rawValue: text), sourceLocation: location)
    }
    // Other rules still count: the enclosing scope (a validated test) fails for them, or they fail here.
    for other in seen where other.rule != rule {
        if scope.parent != nil {
            scope.forward(other)
        } else {
            Issue.record(
                Comment(rawValue: other.issueText), sourceLocation: other.sourceLocation(fallback: location))
            ViolationScope.logHandled(other)
        }
    }
}
