/// A rule the validator checks; the raw value is the stable rule id used in reports.
public enum Rule: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// A cycle of any length in the class lock-order graph.
    case lockOrderInversion = "lock-order-inversion"
    /// A thread acquires a lock it already holds.
    case recursiveAcquire = "recursive-acquire"
    /// Two instances of one class nested without a declared nesting level.
    case sameClassNesting = "same-class-nesting"
    /// A lock held longer than its budget.
    case holdTimeExceeded = "hold-time-exceeded"
    /// An acquire above the IRQL the routine allows.
    case irqlTooHigh = "irql-too-high"
    /// An `AtDpcLevel` / `FromDpcLevel` call below DISPATCH_LEVEL.
    case irqlTooLow = "irql-too-low"
    /// A release at an IRQL other than the one the lock runs at.
    case releaseWrongIRQL = "release-wrong-irql"
    /// `IRQL.raise(to:)` to a lower level.
    case irqlRaiseInvalid = "irql-raise-invalid"
    /// `IRQL.lower(to:)` to a higher level.
    case irqlLowerInvalid = "irql-lower-invalid"
    /// A release of a lock the thread does not hold.
    case releaseNotHeld = "release-not-held"
    /// A release by a thread that is not the owner.
    case releaseWrongThread = "release-wrong-thread"
    /// A release that is not of the most recent acquisition.
    case releaseOutOfOrder = "release-out-of-order"
    /// Queued and ordinary routines used on one lock.
    case mixedAcquireKinds = "mixed-acquire-kinds"
    /// `pageableCode()` above APC_LEVEL.
    case pageableAtRaisedIRQL = "pageable-at-raised-irql"
    /// One lock class used at a device IRQL and at a lower IRQL elsewhere.
    case irqlInconsistentUsage = "irql-inconsistent-usage"
    /// An error thrown out of a critical section.
    case errorWhileHeld = "error-while-held"
    /// `mightSleep()`, a sleeping lock, or an interposed C library call that blocks (`usleep`, `poll`, a
    /// blocking `read`, …), with a spin lock held or at DISPATCH_LEVEL or above.
    case blockingWhileHeld = "blocking-while-held"
    /// A thread ended holding a spin lock or at raised IRQL.
    case threadExitHoldingLock = "thread-exit-holding-lock"
    /// A lock deinitialised while held.
    case lockFreedWhileHeld = "lock-freed-while-held"
    /// A checked scope ended with a lock held or IRQL raised.
    case scopeLeak = "scope-leak"
    /// A spin wait passed the watchdog.
    case spinTimeout = "spin-timeout"
    /// A validator table is full.
    case capacityExhausted = "capacity-exhausted"
    /// Threads blocked on each other's locks: an actual deadlock (last, so the other cases keep their
    /// numbering for code compiled before it).
    case deadlock = "deadlock"

    /// The rule id.
    public var description: String { rawValue }

    /// The report headline, in lockdep's words where lockdep has them.
    public var headline: String { entry.headline }

    /// The Driver Verifier or lockdep anchor this rule follows.
    public var anchor: String { entry.anchor }

    /// The severity its violations are reported with.
    public var severity: Severity { entry.severity }

    /// What breaks the rule, and what happens then, in a sentence (the README's and the docs' rule table).
    public var explanation: String { entry.explanation }

    /// The rule table: the one place a rule's words live. Reports, SARIF, the README's table and the
    /// documentation all read it (a test checks the README's copy).
    private var entry: (headline: String, severity: Severity, anchor: String, explanation: String) {
        switch self {
        case .lockOrderInversion:
            return (
                "possible circular locking dependency detected", .error,
                "lockdep circular dependency; Driver Verifier 0xC4/0x1001",
                "a cycle of any length in the class lock-order graph, at the edge that closes it; no deadlock needed"
            )
        case .recursiveAcquire:
            return (
                "possible recursive locking detected (the lock is already held)", .error,
                "Driver Verifier 0xC4/0x1000; bug check 0xF",
                "a thread acquires a lock it holds; reported before spinning, the program goes on"
            )
        case .sameClassNesting:
            return (
                "possible recursive locking detected (two locks of one class)", .error,
                "lockdep \"possible recursive locking\"", "two instances of one class nested without `nesting:`"
            )
        case .holdTimeExceeded:
            return (
                "spin lock held longer than its budget", .warning, "DPC watchdog guidance (25 µs)",
                "held past its budget (25 µs; per lock with `holdBudget:`) net of preemption, confirmed at its class"
                    + " and acquire site (6 holds ≥ 2× among consecutive over-budget holds, or bursts 2 ms apart:"
                    + " 2 ≥ 8×, 3 ≥ 3×, 4 over)"
                    + " or once ≥ 4× when its scope ends"
            )
        case .irqlTooHigh:
            return (
                "lock acquired above the IRQL it allows", .error, "Driver Verifier 0xC4/0x42",
                "ordinary or queued acquire above DISPATCH_LEVEL; `synchronizeExecution` above the SynchronizeIrql"
            )
        case .irqlTooLow:
            return (
                "DPC-level lock routine called below DISPATCH_LEVEL", .error, "Driver Verifier 0xC4/0x40, 0x41",
                "an `AtDpcLevel` / `FromDpcLevel` routine below DISPATCH_LEVEL"
            )
        case .releaseWrongIRQL:
            return (
                "lock released at an IRQL other than the one it runs at", .error,
                "Driver Verifier 0xC4/0x32, 0x35, 0x36", "a release at an IRQL other than the one the lock runs at"
            )
        case .irqlRaiseInvalid:
            return (
                "IRQL raised to a lower level", .error, "Driver Verifier 0xC4/0x30",
                "`IRQL.raise(to:)` to a lower level than the current one"
            )
        case .irqlLowerInvalid:
            return (
                "IRQL lowered to a higher level", .error, "Driver Verifier 0xC4/0x31",
                "`IRQL.lower(to:)` to a higher level than the current one"
            )
        case .releaseNotHeld:
            return (
                "bad unlock balance detected (the lock is not held)", .error,
                "Driver Verifier 0xC4/0x1007; bug check 0x10",
                "double release, or release of a lock never acquired; ignored"
            )
        case .releaseWrongThread:
            return (
                "lock released by a thread that does not own it", .error, "Driver Verifier 0xC4/0x1004",
                "release by a thread that is not the owner; ignored"
            )
        case .releaseOutOfOrder:
            return (
                "lock released out of order", .error, "Driver Verifier 0xC4/0x1003",
                "a spin lock released while one acquired after it is held (a mutex may be)"
            )
        case .mixedAcquireKinds:
            return (
                "queued and ordinary spin lock routines mixed on one lock", .error,
                "Driver Verifier 0xC4/0x1008, 0x1009", "ordinary and in-stack queued routines on one lock"
            )
        case .pageableAtRaisedIRQL:
            return (
                "pageable code called above APC_LEVEL", .error, "bug checks 0xA, 0xD1",
                "`pageableCode()` above APC_LEVEL"
            )
        case .irqlInconsistentUsage:
            return (
                "inconsistent lock state (IRQL-safe and IRQL-unsafe usage)", .error, "lockdep inconsistent lock state",
                "one class held at a device IRQL in one place and at or below DISPATCH_LEVEL in another; or one lock"
                    + " held at two device IRQLs"
            )
        case .errorWhileHeld:
            return (
                "error thrown while holding a lock", .error, "no exceptions while holding a spin lock",
                "an error thrown out of `withLock`, `withQueuedLock` or `synchronizeExecution`"
            )
        case .blockingWhileHeld:
            return (
                "sleeping function called from invalid context", .error,
                "might_sleep; Driver Verifier 0xC4/0x120-0x122",
                "`mightSleep()`, a sleeping annotated lock, or (with LockValidatorPthreads) a C library call that"
                    + " blocks, at DISPATCH_LEVEL or with a spin lock held"
            )
        case .threadExitHoldingLock:
            return (
                "thread exited holding a lock or at raised IRQL", .error, "Driver Verifier 0xC4/0x100A",
                "a thread ends holding a spin lock or at raised IRQL; the locks are released for it"
            )
        case .lockFreedWhileHeld:
            return ("held lock freed", .error, "Driver Verifier 0xC4/0x100B", "a lock deinitialised while held")
        case .scopeLeak:
            return (
                "scope ended holding a lock or at raised IRQL", .error, "Static Driver Verifier SpinLock rule",
                "a test or `withScope` routine ends holding a lock or at raised IRQL"
            )
        case .spinTimeout:
            return (
                "spin wait timed out (deadlock or starvation)", .error, "XNU spinlock timeout",
                "a spin wait past `LOCKVALIDATOR_SPIN_TIMEOUT_MS`: the wait-for chain is reported, the report"
                    + " written, the process aborted"
            )
        case .capacityExhausted:
            return (
                "validator table full", .warning, "lockdep and WITNESS switch off silently; this does not",
                "a validator table is full: said once per table, the locks and other checks keep working"
            )
        case .deadlock:
            return (
                "threads blocked on each other's locks (an actual deadlock)", .error,
                "Helgrind/DRD lock-order; Driver Verifier deadlock detection; XNU/Linux hung-task",
                "threads blocked in pthread waits on each other's locks (a wait-for cycle): an actual deadlock;"
                    + " reported with every thread's held locks and stack, the report written, the process ended"
            )
        }
    }

    /// The rule table as the README and the docs show it (Markdown).
    package static var markdownTable: String {
        let rows = allCases.map { rule in
            "| `\(rule.rawValue)` | \(rule.severity.rawValue) | \(rule.explanation) | \(rule.anchor) |"
        }
        return (["| rule id | severity | what | anchor |", "|---|---|---|---|"] + rows).joined(separator: "\n") + "\n"
    }
}
