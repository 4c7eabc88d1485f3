import Synchronization

/// A region of code whose violations are collected apart: a test, a routine, an expectation.
///
/// A scope follows the task (and the synchronous code it calls) that entered it, threads started with
/// ``ProcessorThread`` inside it and, with LockValidatorPthreads, every thread, dispatched work item and
/// task started inside it (``effective``). The innermost scope receives each violation; a forwarding
/// scope also passes it on to the scope around it, or to the process log. Once a scope has ended
/// (``end()``), what work it started still finds goes on to the scope around it, or to the process
/// log, named `"<name> (after it ended)"`.
package final class ViolationScope: Sendable {
    /// What a scope does with the violations it receives.
    package enum Disposition: Sendable {
        /// Keep them here only: they were expected (``LockValidator/violations(during:scopeName:)``).
        case collect
        /// Keep them here and pass them on (a test, a routine): reports and exit codes see them too.
        case collectAndForward
    }

    /// A name for reports: a test's name, a routine's name.
    package let name: String
    package let disposition: Disposition
    /// The scope this one was entered in.
    package let parent: ViolationScope?
    /// A budget that holds released in this scope may use instead, when larger than the lock's.
    package let holdBudget: Duration?
    /// A test framework's words for a run that ends inside this scope (a deadlock): lines in its own
    /// failure format, for a CI log reader, since the test itself never gets to report.
    package let runEndLines: RunEndLines?
    /// Rules whose violations the scope's owner lets pass (a test's allowed rules, an expectation's rule):
    /// not reported for it when the run ends inside it.
    package let allowedRules: Set<Rule>
    let log = ViolationLog()
    /// The orders of cycles reported before (`from << 32 | to` of their classes) that this scope's threads
    /// took again, each with the threads that did; and the cycles (their orders, sorted) it was told of.
    private let cycleOrders = InternalLock<(taken: [UInt64: Set<UInt32>], told: Set<[UInt64]>)>(([:], []))
    /// Set by ``end()``; taken with each violation received, so that none is added after the last read.
    private let ended = InternalLock(false)

    /// The lines a test framework prints for `violations` (each an issue of its test) when a violation
    /// ends the run: `ending` (a `deadlock`, a `spin-timeout`) when it was found in this scope, else nil.
    package typealias RunEndLines = @Sendable (_ violations: [Violation], _ ending: Violation?) -> [String]

    /// A scope inside the current one (if any).
    package init(
        name: String, disposition: Disposition, holdBudget: Duration? = nil, allowedRules: Set<Rule> = [],
        runEndLines: RunEndLines? = nil
    ) {
        self.name = name
        self.allowedRules = allowedRules
        self.disposition = disposition
        self.holdBudget = holdBudget
        self.runEndLines = runEndLines
        parent = ViolationScope.effective
        // A forwarding scope (a routine's, entered often) passes its violations on at once: not kept.
        if disposition == .collect { Self.open.withLock { $0.append(self) } }
    }

    /// Collecting scopes not ended yet, oldest first: what they collected is still unreported, and a
    /// deadlock that ends the process reports it (`LockValidator.reportCollectedBeforeRunEnds`).
    private static let open = InternalLock<[ViolationScope]>([])

    /// The collecting scopes not ended yet, oldest first.
    static var openScopes: [ViolationScope] { open.withLock { $0 } }

    /// The violations received so far, in the order found.
    package var violations: [Violation] { log.snapshot }

    /// Ends the scope: returns the violations it received. Violations that arrive later, from threads,
    /// work items or tasks it started that still run, go on to the scope around it or the process log.
    @discardableResult
    package func end() -> [Violation] {
        ended.withLock { $0 = true }
        if disposition == .collect { Self.open.withLock { $0.removeAll { $0 === self } } }
        return log.snapshot
    }

    /// Runs `body` in this scope.
    package func run<Result>(_ body: () throws -> Result) rethrows -> Result {
        try ViolationScope.$current.withValue(self) { try body() }
    }

    /// Runs `body` in this scope.
    package func run<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        try await ViolationScope.$current.withValue(self) { try await body() }
    }

    /// Puts a violation that was already reported (as a test failure) in the process log, for the
    /// report file and the exit status, without failing anything again.
    package static func logHandled(_ violation: Violation) {
        LockValidator.globalLog.add(violation)
    }

    /// Passes `violation` on as if found outside this scope: to the enclosing scope, or the process log.
    package func forward(_ violation: Violation) {
        if let parent {
            if let late = parent.receive(violation) { LockValidator.globalLog.add(late) }
        } else {
            LockValidator.globalLog.add(violation)
        }
    }

    /// Takes `violation` here (and passes it on, when forwarding), or, once this scope has ended, on to
    /// the scope around it. Returns it, named for the scope that ended, when every scope it could go to
    /// has ended: it belongs in the process log.
    func receive(_ violation: Violation) -> Violation? {
        let taken = ended.withLock { ended in
            if !ended { log.add(violation) }
            return !ended
        }
        guard taken else {
            let late = ViolationScope.isLate(violation) ? violation : violation.inScope(name + Self.lateSuffix)
            return parent.map { $0.receive(late) } ?? late
        }
        if disposition == .collectAndForward { forward(violation) }
        return nil
    }

    /// Notes that thread `serial` took `order` (of a cycle reported before) in this scope; returns every
    /// such order taken here, with the threads that took it.
    func noteSighting(ofCycleOrder order: UInt64, by serial: UInt32) -> [UInt64: Set<UInt32>] {
        cycleOrders.withLock { orders in
            orders.taken[order, default: []].insert(serial)
            return orders.taken
        }
    }

    /// Notes that thread `serial` took `order` of the reported cycle of `orders`; returns true once, when
    /// this scope's threads have now taken every order of it: the scope may be told of it then. Checked
    /// under the graph lock, so that the report is built once, not at every acquire of the cycle's chains
    /// (never cached).
    func tookEveryOrder(of orders: [UInt64], taking order: UInt64, by serial: UInt32) -> Bool {
        cycleOrders.withLock { state in
            state.taken[order, default: []].insert(serial)
            guard orders.allSatisfy({ state.taken[$0] != nil }) else { return false }
            return state.told.insert(orders.sorted()).inserted
        }
    }

    /// What ends the scope name of a violation that arrived after its scope ended.
    package static let lateSuffix = " (after it ended)"

    /// Whether `violation` arrived after the scope it was found in had ended.
    package static func isLate(_ violation: Violation) -> Bool {
        violation.scope?.hasSuffix(lateSuffix) == true
    }

    /// The largest hold budget this scope or an enclosing one allows, if any.
    var effectiveHoldBudget: Duration? {
        [holdBudget, parent?.effectiveHoldBudget].compactMap { $0 }.max()
    }

    /// The scope the calling task or thread entered with ``run(_:)``, if any.
    @TaskLocal public static var current: ViolationScope?

    /// The scope the running code is in, which receives its violations: the one its task or thread
    /// entered (``current``), else the one its task inherited from the code that created it, else the one
    /// its thread inherited from the code that started it or the work item it runs (``InheritedScope``).
    package static var effective: ViolationScope? {
        current ?? InheritedScope.ofTask ?? InheritedScope.ofThread
    }
}

extension Violation {
    /// The same violation, in the scope named `scope`.
    fileprivate func inScope(_ scope: String) -> Violation {
        var copy = Violation(
            rule: rule, summary: summary, severity: severity, locks: locks, site: site, thread: thread, irql: irql,
            heldLocks: heldLocks, stack: stack, occurrences: occurrences, edges: edges, usages: usages, scope: scope,
            hold: hold, waits: waits, verdict: verdict, confirmation: confirmation, failOn: failOn)
        // Still a cycle told again, with its scope's verdict: the process log counts it with the first report.
        copy.verdictIsTheScopes = verdictIsTheScopes
        copy.retold = retold
        return copy
    }
}
