import _LockValidatorShims

/// The calling thread's state where a checked scope begins, to find what the scope leaves behind.
package struct ScopeEntry: Sendable {
    let serial: UInt32
    let depth: Int
    let irql: IRQL

    /// Notes the calling thread's held locks and IRQL.
    package init() {
        let thread = ThreadState.current
        serial = thread.serial
        depth = thread.depth
        irql = thread.irql
    }

    /// Checks the end of the current scope, named `scope`: reports the long holds it began that no later
    /// hold could confirm, and a `scope-leak` if the calling thread holds more, or runs higher, than at
    /// the start; the IRQL is then put back, so that whatever runs next on this thread starts where the
    /// scope did. Call it inside the scope.
    ///
    /// A scope that ends on another thread (an async test that moved) is checked against a clean
    /// thread: nothing held, PASSIVE_LEVEL.
    package func checkEnd(scope: String, site: Site?) {
        if let current = ViolationScope.current { HoldEvidence.scopeEnded(current) }
        let thread = ThreadState.current
        let (baseDepth, baseIRQL) = thread.serial == serial ? (depth, irql) : (0, IRQL.passive)
        let infos = thread.heldLockInfos
        let leaked = (min(baseDepth, infos.count)..<infos.count)
            .filter { thread.held($0).pointee.flags & UInt8(LV_HELD_RECURSIVE) == 0 }
            .map { infos[$0] }
        guard !leaked.isEmpty || thread.irql != baseIRQL else { return }
        var what: [String] = []
        if !leaked.isEmpty {
            what.append("holding " + leaked.map { "\($0.lock) (acquired at \($0.acquiredAt))" }.joined(separator: ", "))
        }
        if thread.irql != baseIRQL { what.append("at \(thread.irql) (it began at \(baseIRQL))") }
        LockValidator.record(
            .scopeLeak, summary: "scope \"\(scope)\" ends " + what.joined(separator: " and "),
            locks: leaked.map(\.lock), site: leaked.first?.acquiredAt ?? site)
        if thread.irql > baseIRQL { thread.lowerIRQL(to: baseIRQL) }
    }
}
