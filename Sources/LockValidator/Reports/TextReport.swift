/// The plain text report, modelled on lockdep's: a headline, what the thread was doing, the
/// dependency chain or usages behind it with the stacks that created them, a "possible unsafe locking
/// scenario" table, the locks the thread holds, and its stack.
enum TextReport {
    static func render(_ violations: [Violation], locations: Bool = true) -> String {
        if violations.isEmpty { return "LockValidator: no violations.\n" }
        if locations { prefetch(violations) }
        let counts = "LockValidator: \(violations.count) violation\(violations.count == 1 ? "" : "s").\n"
        return counts + violations.map { render($0, locations: locations) }.joined()
    }

    /// Resolves every address the report will show in one batch (one request to the symbolizer).
    static func prefetch(_ violations: [Violation], alsoResolving more: [UInt] = []) {
        var addresses = more
        for violation in violations {
            addresses += violation.stack.addresses
            for edge in violation.edges { addresses += edge.stack.addresses }
            for usage in violation.usages { addresses += usage.stack.addresses }
            var sites = [violation.site] + violation.locks.map(\.site) + violation.heldLocks.map(\.acquiredAt)
            sites += violation.edges.flatMap { [$0.fromAcquiredAt, $0.toAcquiredAt, $0.from.site, $0.to.site] }
            for case .code(let code)? in sites { addresses += code.address.map { [$0] } ?? [] }
        }
        _ = Symbolizer.resolve(addresses, locations: true)
    }

    /// Frames shown for a dependency edge's or a usage's stack.
    static let shortStackDepth = 6

    /// - Parameter locations: look up file:line (with llvm-symbolizer); names alone are cheaper.
    static func render(_ violation: Violation, locations: Bool = true) -> String {
        let frames = { (stack: StackTrace, limit: Int, indent: String) in
            frameLines(stack, limit: limit, indent: indent, locations: locations)
        }
        var lines = headline(violation)
        switch violation.rule {
        case .lockOrderInversion: lines += dependencyChain(violation, frames) + inversionScenario(violation)
        case .irqlInconsistentUsage: lines += usages(violation, frames) + interruptScenario(violation)
        case .sameClassNesting, .recursiveAcquire: lines += recursionScenario(violation)
        case .holdTimeExceeded: lines += holdTime(violation, frames)
        case .spinTimeout, .deadlock: lines += waitForChain(violation, frames)
        default: break
        }
        lines += confirmation(violation)
        lines += heldLocks(violation)
        lines.append("")
        lines.append(violation.rule == .holdTimeExceeded ? "release stack:" : "stack:")
        lines += frames(violation.stack, StackTrace.maximumDepth, "  ")
        lines.append("anchor: \(violation.rule.anchor)")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Sections

    /// Confirmation mode's finding on a cycle: confirmed (with how it formed) or still predicted.
    private static func confirmation(_ violation: Violation) -> [String] {
        guard let confirmation = violation.confirmation else { return [] }
        switch confirmation.status {
        case .confirmed:
            return ["", "confirmed: the cycle formed for real (LOCKVALIDATOR_CONFIRM); how:"]
                + confirmation.interleaving.enumerated().map { "  \($0.offset + 1). \($0.element)" }
        case .predicted:
            return ["", "predicted: steered for (LOCKVALIDATOR_CONFIRM), it did not form in this run"]
        }
    }

    private static func headline(_ violation: Violation) -> [String] {
        let ruler = 66
        var context = "\(violation.thread) at \(violation.irql)"
        if violation.occurrences > 1 { context += ", seen \(violation.occurrences) times" }
        var lines = [
            "", String(repeating: "=", count: ruler),
            "\(violation.severity == .error ? "ERROR" : "WARNING"): \(violation.rule.rawValue): \(violation.rule.headline)",
            String(repeating: "-", count: ruler), context, violation.summary,
        ]
        if let site = violation.site { lines.append("  at \(site)") }
        if let verdict = violation.verdict {
            lines.append(
                "verdict: \(verdict)"
                    + (violation.severity == .warning ? " (a warning: only cycles that can deadlock fail)" : ""))
        }
        if !violation.locks.isEmpty {
            lines.append("")
            lines.append("locks involved:")
            lines += violation.locks.map { lock in
                if LockInfo.nameSaysCreationUnseen(lock.name) {
                    // Its site is a lock, not its creation: say so, rather than "created at" it.
                    return "  \(lock): where it was created is not known (moved after it was made); named by"
                        + " the first lock of it seen"
                }
                let site = LockInfo.nameSaysWhereCreated(lock.name) ? nil : lock.site
                return "  \(lock)" + (site.map { ", created at \($0)" } ?? "")
            }
        }
        return lines
    }

    typealias FrameLines = (StackTrace, Int, String) -> [String]

    private static func dependencyChain(_ violation: Violation, _ frames: FrameLines) -> [String] {
        guard let closing = violation.edges.first else { return [] }
        let existing = violation.edges.dropFirst()
        var lines: [String]
        if let process = closing.process {
            // Learned by other processes (a merged report, a learned-order store): no thread is trying. A
            // store's cycle may be one process's alone.
            let others = existing.contains { $0.process?.pid != process.pid } ? "other processes" : "the same process"
            lines = [
                "", "\(origin(process)), \(closing.thread) acquired:",
                "  \"\(closing.to.name)\" at \(closing.toAcquiredAt)",
                "while holding:", "  \"\(closing.from.name)\", acquired at \(closing.fromAcquiredAt)",
                "and \(others) took the orders that lead back:", "",
            ]
        } else {
            lines = [
                "", "\(violation.thread) is trying to acquire:", "  \(closing.to) at \(closing.toAcquiredAt)",
                "but already holds:", "  \(closing.from), acquired at \(closing.fromAcquiredAt)",
                "which lock already depends on the new lock.", "",
            ]
        }
        lines.append("the existing dependency chain (in reverse order) is:")
        for (index, edge) in existing.enumerated().reversed() {
            lines.append("")
            lines.append(
                "-> #\(index) (\(edge)): \"\(edge.to.name)\" acquired at \(edge.toAcquiredAt) while holding"
                    + " \"\(edge.from.name)\" (acquired at \(edge.fromAcquiredAt)), \(edge.thread) at \(edge.irql)"
                    + (edge.process.map { ", \(origin($0))" } ?? ""))
            lines += frames(edge.stack, shortStackDepth, "       ")
        }
        return lines
    }

    /// "in process 1234 (/path/to/tests --filter X)".
    static func origin(_ process: ValidationReport.ProcessDescription) -> String {
        "in process \(process.pid) (" + ([process.executable] + process.arguments).joined(separator: " ") + ")"
    }

    private static func inversionScenario(_ violation: Violation) -> [String] {
        guard let closing = violation.edges.first, let last = violation.edges.last else { return [] }
        let held = "\"\(closing.from.name)\""
        let wanted = "\"\(closing.to.name)\""
        // CPU1 holds the lock that, on the existing chain, leads straight into the one CPU0 holds.
        let cpu1Holds = "\"\(last.from.name)\""
        var lines = ["", "other info that might help debug this:"]
        if violation.edges.count > 2 {
            let chain = violation.edges.dropFirst().map { "\"\($0.from.name)\"" } + [held]
            lines.append(" Chain exists of: " + chain.joined(separator: " --> "))
        }
        return lines
            + table([
                (0, "lock(\(held));"), (1, "lock(\(cpu1Holds));"), (1, "lock(\(held));"), (0, "lock(\(wanted));"),
            ])
    }

    private static func usages(_ violation: Violation, _ frames: FrameLines) -> [String] {
        var lines = [""]
        for usage in violation.usages {
            lines.append(
                "\"\(usage.lock.name)\" was held at \(usage.irql) first at \(usage.site), by \(usage.thread):")
            lines += frames(usage.stack, shortStackDepth, "    ")
        }
        return lines
    }

    private static func interruptScenario(_ violation: Violation) -> [String] {
        guard violation.usages.count == 2 else { return [] }
        let (higher, lower) = (violation.usages[0], violation.usages[1])
        let lock = "\"\(higher.lock.name)\""
        return ["", "other info that might help debug this:"]
            + [
                " Possible unsafe locking scenario:", "", "       CPU0", "       ----",
                "  lock(\(lock));                  at \(lower.irql)", "  <Interrupt at \(higher.irql)>",
                "    lock(\(lock));", "", " *** DEADLOCK ***",
            ]
    }

    private static func recursionScenario(_ violation: Violation) -> [String] {
        guard let lock = violation.locks.first else { return [] }
        var lines = [
            "", " Possible unsafe locking scenario:", "", "       CPU0", "       ----",
            "  lock(\"\(lock.name)\");", "  lock(\"\(lock.name)\");", "", " *** DEADLOCK ***",
        ]
        if violation.rule == .sameClassNesting { lines.append(" May be due to missing lock nesting notation") }
        return lines
    }

    private static func holdTime(_ violation: Violation, _ frames: FrameLines) -> [String] {
        guard let hold = violation.hold else { return [] }
        var lines = [""]
        switch hold.evidence {
        case .repeated?:
            lines.append(
                "evidence: \(hold.earlierHolds.count + 1) consecutive holds at this class and acquire site passed"
                    + " the budget, in a run longer than a burst of a VM's noise or in bursts 2 ms apart (noise hits a"
                    + " few holds in a row; the routine stays slow)")
        case .once?:
            lines.append(
                "evidence: one hold far over the budget, unconfirmed when its scope ended (a VM's noise can make"
                    + " one; the site had no second chance)")
        case nil: break
        }
        for (index, earlier) in hold.earlierHolds.enumerated() {
            lines +=
                ["", "hold \(index + 1) (earlier):"] + holdLines(earlier, releaseStack: earlier.releaseStack, frames)
        }
        let number = hold.earlierHolds.isEmpty ? "this hold:" : "hold \(hold.earlierHolds.count + 1) (this report's):"
        return lines + ["", number] + holdLines(hold, releaseStack: nil, frames)
    }

    /// A hold's page faults and involuntary context switches and the shares of its own time credited to
    /// them, with what else `getrusage` saw in it; empty for a hold with neither.
    private static func faultLine(_ hold: HoldTime) -> String {
        let switches = hold.involuntarySwitches ?? 0
        guard hold.pageFaults > 0 || switches > 0 else { return "" }
        let us = HoldTiming.microseconds
        var parts: [String] = []
        if hold.pageFaults > 0 {
            parts.append(
                "\(hold.pageFaults) page faults" + (hold.majorPageFaults.map { " (\($0) major)" } ?? "")
                    + ", credited with at most \(us(hold.faultShareNanoseconds))")
        }
        if switches > 0 {
            parts.append(
                "\(switches) involuntary context switches, credited with at most \(us(hold.switchShareNanoseconds))")
        }
        parts[parts.count - 1] += ": \(us(hold.netNanoseconds)) net"
        if switches == 0, hold.involuntarySwitches != nil { parts.append("0 involuntary context switches") }
        if let system = hold.systemNanoseconds { parts.append("\(us(system)) system time as the kernel accounts it") }
        return "; " + parts.joined(separator: "; ")
    }

    /// One hold's times, sites and stacks; the release stack of the report's own hold is the violation's.
    private static func holdLines(_ hold: HoldTime, releaseStack: StackTrace?, _ frames: FrameLines) -> [String] {
        let us = HoldTiming.microseconds
        var lines = [
            "  held for at least \(us(hold.ownNanoseconds)) of the thread's own time (thread \(hold.thread)); budget"
                + " \(us(hold.budgetNanoseconds)); \(us(hold.wallNanoseconds)) wall clock, at most"
                + " \(us(hold.preemptedNanoseconds)) of it preempted" + faultLine(hold),
            "  acquired at \(hold.acquiredAt); released at \(hold.releasedAt?.description ?? "?")", "  acquire stack:",
        ]
        if let stack = hold.acquireStack {
            lines += frames(stack, StackTrace.maximumDepth, "    ")
        } else {
            lines.append(
                "    (not kept for a site's first long hold: the hot path keeps no stacks; the next hold's is)")
        }
        if let releaseStack {
            lines.append("  release stack:")
            lines += frames(releaseStack, StackTrace.maximumDepth, "    ")
        }
        return lines
    }

    private static func waitForChain(_ violation: Violation, _ frames: FrameLines) -> [String] {
        var lines = ["", violation.rule == .deadlock ? "the wait-for cycle:" : "the wait-for chain:"]
        for wait in violation.waits {
            lines.append("")
            let blocking = wait.isBlocking == true
            if let lock = wait.waitingFor {
                let milliseconds = Int((wait.waitedNanoseconds / 1e6).rounded())
                let waited = "\(blocking ? "has been blocked" : "has spun") \(milliseconds) ms"
                let access = wait.forReading.map { $0 ? " to read" : " to write" } ?? ""
                lines.append(
                    "\(wait.thread) \(waited) on \(lock)\(access) (asked at \(wait.waitingAt?.description ?? "?")),"
                        + " held by \(wait.holderDescription(among: violation.waits))")
            } else {
                lines.append("\(wait.thread) is not \(blocking ? "blocked" : "spinning")")
            }
            lines.append(wait.heldLocks.isEmpty ? "  holding nothing" : "  holding:")
            for held in wait.heldLocks {
                lines.append("    \(held.lock) (\(held.kind), at \(held.irql)), acquired at \(held.acquiredAt)")
            }
            lines.append("  stack:")
            lines +=
                wait.stack.addresses.isEmpty
                ? ["    (not captured)"] : frames(wait.stack, StackTrace.maximumDepth, "    ")
        }
        return lines
    }

    private static func heldLocks(_ violation: Violation) -> [String] {
        var lines = [""]
        // A cycle other processes' orders make: what that thread held is in its order, not known here.
        if violation.heldLocks.isEmpty && violation.edges.first?.process != nil { return [] }
        if violation.heldLocks.isEmpty {
            lines.append("no locks held by \(violation.thread).")
            return lines
        }
        let count = violation.heldLocks.count
        lines.append("\(count) lock\(count == 1 ? "" : "s") held by \(violation.thread):")
        for (index, held) in violation.heldLocks.enumerated() {
            lines.append("  #\(index): \(held.lock) (\(held.kind), at \(held.irql)), acquired at \(held.acquiredAt)")
        }
        return lines
    }

    // MARK: Helpers

    private static func frameLines(_ stack: StackTrace, limit: Int, indent: String, locations: Bool) -> [String] {
        stack.symbolicated(locations: locations).prefix(limit).enumerated().map {
            "\(indent)#\($0.offset) \($0.element)"
        }
    }

    /// lockdep's two-column CPU0/CPU1 table; each row is (column, text).
    private static func table(_ rows: [(Int, String)]) -> [String] {
        let width = 32
        let gap = String(repeating: " ", count: width - 4)
        var lines: [String] = [" Possible unsafe locking scenario:", ""]
        lines.append("       CPU0" + gap + "CPU1")
        lines.append("       ----" + gap + "----")
        let secondColumn = String(repeating: " ", count: width + 5)
        for (column, text) in rows {
            lines.append(column == 0 ? "  " + text : "  " + secondColumn + text)
        }
        lines += ["", " *** DEADLOCK ***"]
        return lines
    }
}

extension Violation {
    /// This violation alone, rendered in `format`.
    public func rendered(_ format: ReportFormat = .text) -> String {
        switch format {
        case .text: return TextReport.render(self)
        case .json: return ReportWriter.json(violations: [self], suppressed: [])
        }
    }
}

extension ValidationReport {
    /// The report as lockdep-style text: its violations, then the suppressed ones, then counts.
    public func renderedText() -> String {
        var text = TextReport.render(violations)
        if !suppressed.isEmpty {
            text += "\nLockValidator: \(suppressed.count) suppressed violation\(suppressed.count == 1 ? "" : "s"):\n"
            text += suppressed.map { "  \($0)\n" }.joined()
        }
        let counts = statistics
        text += "\n\(counted(counts.violations, "violation")) (\(counted(counts.occurrences, "occurrence"))),"
        text += " \(counts.suppressed) suppressed; \(counted(counts.classes, "lock class", "lock classes")),"
        text += " \(counted(counts.edges, "lock-order edge")), \(counted(counts.chains, "chain")).\n"
        for error in config.errors { text += "configuration error: \(error)\n" }
        return text
    }
}
