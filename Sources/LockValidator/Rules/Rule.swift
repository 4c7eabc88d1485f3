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
    /// `mightSleep()` with a spin lock held or at DISPATCH_LEVEL or above.
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

    /// The rule id.
    public var description: String { rawValue }

    /// The report headline, in lockdep's words where lockdep has them.
    public var headline: String {
        switch self {
        case .lockOrderInversion: return "possible circular locking dependency detected"
        case .recursiveAcquire: return "possible recursive locking detected (the lock is already held)"
        case .sameClassNesting: return "possible recursive locking detected (two locks of one class)"
        case .holdTimeExceeded: return "spin lock held longer than its budget"
        case .irqlTooHigh: return "lock acquired above the IRQL it allows"
        case .irqlTooLow: return "DPC-level lock routine called below DISPATCH_LEVEL"
        case .releaseWrongIRQL: return "lock released at an IRQL other than the one it runs at"
        case .irqlRaiseInvalid: return "IRQL raised to a lower level"
        case .irqlLowerInvalid: return "IRQL lowered to a higher level"
        case .releaseNotHeld: return "bad unlock balance detected (the lock is not held)"
        case .releaseWrongThread: return "lock released by a thread that does not own it"
        case .releaseOutOfOrder: return "lock released out of order"
        case .mixedAcquireKinds: return "queued and ordinary spin lock routines mixed on one lock"
        case .pageableAtRaisedIRQL: return "pageable code called above APC_LEVEL"
        case .irqlInconsistentUsage: return "inconsistent lock state (IRQL-safe and IRQL-unsafe usage)"
        case .errorWhileHeld: return "error thrown while holding a lock"
        case .blockingWhileHeld: return "sleeping function called from invalid context"
        case .threadExitHoldingLock: return "thread exited holding a lock or at raised IRQL"
        case .lockFreedWhileHeld: return "held lock freed"
        case .scopeLeak: return "scope ended holding a lock or at raised IRQL"
        case .spinTimeout: return "spin wait timed out (deadlock or starvation)"
        case .capacityExhausted: return "validator table full"
        }
    }

    /// The Driver Verifier or lockdep anchor this rule follows.
    public var anchor: String {
        switch self {
        case .lockOrderInversion: return "lockdep circular dependency; Driver Verifier 0xC4/0x1001"
        case .recursiveAcquire: return "Driver Verifier 0xC4/0x1000; bug check 0xF"
        case .sameClassNesting: return "lockdep \"possible recursive locking\""
        case .holdTimeExceeded: return "DPC watchdog guidance (25 µs)"
        case .irqlTooHigh: return "Driver Verifier 0xC4/0x42"
        case .irqlTooLow: return "Driver Verifier 0xC4/0x40, 0x41"
        case .releaseWrongIRQL: return "Driver Verifier 0xC4/0x32, 0x35, 0x36"
        case .irqlRaiseInvalid: return "Driver Verifier 0xC4/0x30"
        case .irqlLowerInvalid: return "Driver Verifier 0xC4/0x31"
        case .releaseNotHeld: return "Driver Verifier 0xC4/0x1007; bug check 0x10"
        case .releaseWrongThread: return "Driver Verifier 0xC4/0x1004"
        case .releaseOutOfOrder: return "Driver Verifier 0xC4/0x1003"
        case .mixedAcquireKinds: return "Driver Verifier 0xC4/0x1008, 0x1009"
        case .pageableAtRaisedIRQL: return "bug checks 0xA, 0xD1"
        case .irqlInconsistentUsage: return "lockdep inconsistent lock state"
        case .errorWhileHeld: return "no exceptions while holding a spin lock"
        case .blockingWhileHeld: return "might_sleep; Driver Verifier 0xC4/0x120-0x122"
        case .threadExitHoldingLock: return "Driver Verifier 0xC4/0x100A"
        case .lockFreedWhileHeld: return "Driver Verifier 0xC4/0x100B"
        case .scopeLeak: return "Static Driver Verifier SpinLock rule"
        case .spinTimeout: return "XNU spinlock timeout"
        case .capacityExhausted: return "lockdep and WITNESS switch off silently; this does not"
        }
    }
}
