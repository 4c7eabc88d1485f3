import SpinLocks
import TestSupport
import Testing

/// `capacity-exhausted`: a full table is said once, and the program and the other checks go on.
@Suite struct CapacityTests {
    @Test func lowCapsAreReportedOnceAndChecksGoOn() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            var configuration = LockValidator.configuration
            configuration.capacity.classes = LockClass.count + 4
            configuration.capacity.edges = 2
            configuration.capacity.chains = 2
            configuration.capacity.stacks = 1
            LockValidator.configuration = configuration

            let locks = (0..<8).map { SpinLock("Capped.\($0)") }
            // Past the class cap, later locks share one untracked class: no invented nesting or cycles.
            precondition(locks[7].name == "Capped.7")
            let thread = ProcessorThread {
                // Two edges fill the graph: 0→1, 1→2.
                locks[0].withLock { locks[1].withLock {} }
                locks[1].withLock { locks[2].withLock {} }
                // A third chain fills the chain cache (first: a cycle's report empties the cache), its order
                // not kept.
                locks[0].withLock { locks[2].withLock {} }
                // A fourth order is not kept, but the cycle it closes (2→0 over 0→1→2) is still found.
                locks[2].withLock { locks[0].withLock {} }
                // Untracked locks (past the class cap) nest without reports, and still exclude.
                locks[5].withLock { locks[6].withLock { locks[7].withLock {} } }
                // Recursion is still caught on any lock.
                locks[3].withLock { locks[3].withLock {} }
                locks[6].withLock { locks[6].withLock {} }
            }
            thread.join()
            let rules = LockValidator.violations.map(\.rule)
            let capacity = LockValidator.violations.filter { $0.rule == .capacityExhausted }.map(\.summary)
            precondition(capacity.count == 4, "\(capacity)")
            for table in ["lock classes", "lock-order edges", "validated chains", "kept stacks"] {
                precondition(capacity.contains { $0.contains("table of \(table) is full") }, "\(table): \(capacity)")
            }
            precondition(rules.filter { $0 == .lockOrderInversion }.count == 1, "\(rules)")
            precondition(rules.filter { $0 == .recursiveAcquire }.count == 2, "\(rules)")
            precondition(!rules.contains(.sameClassNesting), "\(rules)")
        }
        if result?.exitStatus != ExitStatus.exitCode(0) {
            Issue.record(
                "child said: \(String(decoding: result?.standardErrorContent ?? [], as: UTF8.self).suffix(1500))")
        }
    }
}
