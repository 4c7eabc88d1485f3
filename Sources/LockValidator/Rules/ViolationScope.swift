import Synchronization

/// A region of code whose violations are collected apart: a test, a routine, an expectation.
///
/// A scope follows the task (and the synchronous code it calls) that entered it, and threads
/// started with ``ProcessorThread`` inside it. The innermost scope receives each violation; a
/// forwarding scope also passes it on to the scope around it, or to the process log.
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
    let log = ViolationLog()

    /// A scope inside the current one (if any).
    package init(name: String, disposition: Disposition, holdBudget: Duration? = nil) {
        self.name = name
        self.disposition = disposition
        self.holdBudget = holdBudget
        parent = ViolationScope.current
    }

    /// The violations received so far, in the order found.
    package var violations: [Violation] { log.snapshot }

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
            parent.receive(violation)
        } else {
            LockValidator.globalLog.add(violation)
        }
    }

    func receive(_ violation: Violation) {
        log.add(violation)
        if disposition == .collectAndForward { forward(violation) }
    }

    /// The largest hold budget this scope or an enclosing one allows, if any.
    var effectiveHoldBudget: Duration? {
        [holdBudget, parent?.effectiveHoldBudget].compactMap { $0 }.max()
    }

    /// The scope the calling task or thread is in, if any.
    @TaskLocal public static var current: ViolationScope?
}
