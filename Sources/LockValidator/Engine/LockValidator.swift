import _LockValidatorShims

/// The validator: the violations found so far, reports, and scoped collection for tests.
public enum LockValidator {
    /// Every violation found outside a `ViolationScope`, in the order found (a snapshot);
    /// suppressed ones are in ``suppressedViolations``.
    public static var violations: [Violation] { globalLog.snapshot }

    /// Violations a suppression covers, in the order found: counted in reports, failing nothing.
    public static var suppressedViolations: [Violation] { suppressedLog.snapshot }

    /// The configuration in force: read from the environment on first use (a bad value is a one-line
    /// error on standard error naming the variable, and its default is kept); set it to override.
    ///
    /// - Warning: set it before locks are used; switching checks on or off while locks are held
    ///   leaves their bookkeeping unbalanced.
    public static var configuration: Configuration {
        get { ConfigurationStore.loaded.configuration }
        set { ConfigurationStore.replace(with: newValue) }
    }

    /// The environment errors met reading the configuration, one line each.
    public static var configurationErrors: [ConfigurationError] { ConfigurationStore.loaded.errors }

    /// Forgets the violations found so far, the lock-order graph, the validated chains and the IRQL
    /// usage of every class (between tests).
    ///
    /// - Warning: other threads' checks in flight lose what they learned; call it when the process is
    ///   quiet.
    public static func reset() {
        globalLog.removeAll()
        suppressedLog.removeAll()
        LockOrder.reset()
        HoldEvidence.reset()
    }

    /// The lock-order graph: every edge taken so far, with the sites and stack that first created it.
    public static var lockOrderEdges: [DependencyEdge] { LockOrder.edges }

    /// Checks the lock-order graph's invariants (for tests): empty when sound.
    package static func graphInvariantViolations() -> [String] {
        LockOrder.invariantViolations()
    }

    /// Whether the `Validation` trait compiled the checks into the locks.
    public static var isCompiledIn: Bool {
        #if Validation
            return true
        #else
            return false
        #endif
    }

    /// Runs `body` in a new `ViolationScope` and returns the violations it caused.
    ///
    /// Violations caused on this task, or on a ``ProcessorThread`` started inside `body` (with
    /// LockValidatorPthreads, on any thread, dispatched work item or task started inside it), are
    /// collected here and not added to ``violations``; the innermost scope collects. Those that arrive
    /// after `body` returned go to the scope around it, or to ``violations``.
    public static func violations(
        during body: () throws -> Void, scopeName: String = "violations(during:)"
    ) rethrows -> [Violation] {
        try violations(during: body, scopeName: scopeName, holdBudget: nil)
    }

    /// ``violations(during:scopeName:)`` with holds released in the scope allowed `holdBudget` when it is
    /// larger than their lock's: for tests of other rules, whose short holds may run cold code on a loaded
    /// host.
    package static func violations(
        during body: () throws -> Void, scopeName: String = "violations(during:)", holdBudget: Duration?
    ) rethrows -> [Violation] {
        let scope = ViolationScope(name: scopeName, disposition: .collect, holdBudget: holdBudget)
        defer {  // when body throws
            HoldEvidence.scopeEnded(scope)
            scope.end()
        }
        try scope.run(body)
        HoldEvidence.scopeEnded(scope)
        return scope.end()
    }

    /// Async form of ``violations(during:scopeName:)``.
    public static func violations(
        during body: () async throws -> Void, scopeName: String = "violations(during:)"
    ) async rethrows -> [Violation] {
        let scope = ViolationScope(name: scopeName, disposition: .collect)
        defer {  // when body throws
            HoldEvidence.scopeEnded(scope)
            scope.end()
        }
        try await scope.run(body)
        HoldEvidence.scopeEnded(scope)
        return scope.end()
    }

    /// Runs `body` as a checked scope, as Static Driver Verifier checks a dispatch routine: it must
    /// end at the IRQL it began at, holding no lock it did not hold at the start, or it is a
    /// `scope-leak`. Violations inside are collected in the scope and passed on to the enclosing one.
    @discardableResult
    public static func withScope<Result>(
        _ name: String, fileID: StaticString = #fileID, line: UInt = #line, _ body: () throws -> Result
    ) rethrows -> Result {
        let scope = ViolationScope(name: name, disposition: .collectAndForward)
        let entry = ScopeEntry()
        defer {
            scope.run { entry.checkEnd(scope: name, site: .source(SourceSite(fileID, line))) }
            scope.end()
        }
        return try scope.run(body)
    }

    /// Renders what was found so far: the violations as text, or the whole report (schema
    /// `lockvalidator-report/1`) as JSON.
    public static func report(_ format: ReportFormat = .text) -> String {
        switch format {
        case .text: return TextReport.render(violations)
        case .json: return ReportWriter.json(ReportWriter.currentReport())
        }
    }

    /// The whole report as a value.
    public static var currentReport: ValidationReport { ReportWriter.currentReport() }

    /// Writes the JSON report to `path` atomically (a temporary file, then a rename).
    public static func writeReport(to path: String) throws(FileWriteError) {
        try TextFile.writeAtomically(report(.json), to: path)
    }

    /// Records a violation of `rule` found on the calling thread.
    ///
    /// Captures the stack and the thread's held locks, then adds it to the innermost scope or, outside
    /// any scope, to the process-wide log, printing it the first time it is seen.
    ///
    /// - Parameters:
    ///   - locks: the locks involved, the one being acquired or released first.
    ///   - site: the call that broke the rule.
    ///   - stack: the stack to show; nil for the caller's.
    ///
    /// The summary and locks are evaluated only when the check is on, and inside the time billed to the
    /// validator, so that building a report never counts against the hold of a lock.
    @inline(never)
    package static func record(
        _ rule: Rule, summary: @autoclosure () -> String, locks: @autoclosure () -> [LockInfo] = [],
        site: Site?, edges: [DependencyEdge] = [], usages: [LockUsage] = [],
        hold: HoldTime? = nil, waits: [ThreadWait] = [], stack: StackTrace? = nil, verdict: CycleVerdict? = nil,
        verdictIsTheScopes: Bool = false, retold: Bool = false, awaited: UInt64? = nil
    ) {
        guard lv_validation_enabled() != 0 else { return }
        ThreadState.current.billingValidator {
            SpinWatchdog.reporting {
                var violation = makeViolation(
                    rule, summary: summary(), locks: locks(), site: site, edges: edges,
                    usages: usages, hold: hold, waits: waits, stack: stack, verdict: verdict, awaited: awaited)
                violation.verdictIsTheScopes = verdictIsTheScopes
                violation.retold = retold
                deliver(violation)
            }
        }
    }

    /// - Parameters:
    ///   - awaited: the instance of the lock the thread is acquiring (its entry is pushed before the wait):
    ///     not shown as held.
    ///   - scope: the scope it belongs to; the calling code's by default.
    static func makeViolation(
        _ rule: Rule, summary: String, locks: [LockInfo] = [], site: Site?,
        edges: [DependencyEdge] = [], usages: [LockUsage] = [], hold: HoldTime? = nil, waits: [ThreadWait] = [],
        stack: StackTrace? = nil, verdict: CycleVerdict? = nil, awaited: UInt64? = nil,
        scope: ViolationScope? = ViolationScope.effective
    ) -> Violation {
        let thread = ThreadState.current
        let stack = stack ?? .capture()
        var violation = Violation(
            rule: rule, summary: summary, severity: rule.severity, locks: locks,
            site: LockWrapperCode.siteOutside(site, along: stack.addresses), thread: thread.info,
            irql: thread.irql,
            heldLocks: LockWrapperCode.sitesOutside(thread.heldLockInfos(awaiting: awaited), along: stack.addresses),
            stack: stack, occurrences: 1, edges: edges, usages: usages, scope: scope?.name, hold: hold,
            waits: waits, verdict: verdict)
        if !violation.fails(under: ConfigurationStore.loaded.configuration.failOn) { violation.severity = .warning }
        return violation
    }

    /// Routes a violation: suppressed, to the innermost scope, or to the process log (printed the first
    /// time, or trapping); one whose scopes have all ended goes to the process log.
    static func deliver(_ violation: Violation) {
        let configuration = ConfigurationStore.loaded.configuration
        var violation = violation
        if !configuration.suppressions.isEmpty, configuration.suppressions.contains(where: { $0.matches(violation) }) {
            suppressedLog.add(violation)
            return
        } else if let scope = ViolationScope.effective {
            guard let late = scope.receive(violation) else { return }
            violation = late
        }
        if configuration.onViolation == .trap {
            globalLog.add(violation)
            printToStandardError(TextReport.render(violation))
            printToStandardError(
                "LockValidator: LOCKVALIDATOR_ON_VIOLATION=trap: stopping at this \(violation.rule.rawValue) violation,"
                    + " like a bug check")
            ReportWriter.writeConfiguredReport()
            LearnedOrders.writeBack()
            abort()
        } else if globalLog.add(violation) {
            // As complete as `lockval show`: the same symbolizer, one long-running process.
            TextReport.prefetch([violation])
            printToStandardError(TextReport.render(violation))
            if ViolationScope.isLate(violation), let scope = violation.scope {
                let started = scope.dropLast(ViolationScope.lateSuffix.count)
                printToStandardError("LockValidator: found on work that \"\(started)\" started, after it ended")
            }
        }
    }

    /// For a violation that ends the process: logged (in the process log too, so the report file has
    /// it) and printed in full, whatever the scope.
    static func deliverFatal(_ violation: Violation) {
        ViolationScope.effective?.log.add(violation)
        globalLog.add(violation)
        printToStandardError(TextReport.render(violation))
    }

    static let globalLog = ViolationLog()
    static let suppressedLog = ViolationLog()
}

extension ThreadState {
    /// The held-lock stack as reports show it, oldest first.
    package var heldLockInfos: [HeldLockInfo] { heldLockInfos(awaiting: nil) }

    /// The held-lock stack as reports show it, oldest first, without the newest entry when it is the
    /// acquire of `awaited` (an instance) in progress: pushed before the wait, it is not held yet.
    package func heldLockInfos(awaiting awaited: UInt64?) -> [HeldLockInfo] {
        var depth = depth
        if let awaited, depth > 0, held(depth - 1).pointee.instance == awaited { depth -= 1 }
        return (0..<depth).map { index in
            let entry = held(index).pointee
            return HeldLockInfo(
                lock: entry.lockInfo, acquiredAt: entry.acquiredAt, irql: IRQL(unchecked: entry.irql),
                kind: AcquireKind(rawValue: entry.kind) ?? .ordinary)
        }
    }
}

/// Writes `text` (and a newline if it lacks one) to standard error, unbuffered.
package func printToStandardError(_ text: String) {
    var text = text
    if !text.hasSuffix("\n") { text += "\n" }
    var bytes = Array(text.utf8)[...]
    // The validator's write, not the program's: not a blocking call under the program's spin locks.
    lv_enter_validator()
    defer { lv_leave_validator() }
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
