/// A place in the source: the `#fileID` and `#line` of a call.
public struct SourceSite: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The module-qualified file, `Module/File.swift`.
    public let fileID: String
    public let line: UInt

    public init(fileID: String, line: UInt) {
        self.fileID = fileID
        self.line = line
    }

    public init(_ fileID: StaticString, _ line: UInt) {
        self.fileID = fileID.description
        self.line = line
    }

    /// "Module/File.swift:42".
    public var description: String { "\(fileID):\(line)" }
}

/// A lock as reports name it: its class, its instance and where it was created.
public struct LockInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lock class name: the name given at init, else the init site.
    public let name: String
    /// Where the instance was created (for locks seen only on a held stack, the class's first init site).
    public let site: SourceSite
    /// The instance serial number, unique for the life of the process.
    public let instance: UInt64

    public init(name: String, site: SourceSite, instance: UInt64) {
        self.name = name
        self.site = site
        self.instance = instance
    }

    /// `"DeviceLock" #3`.
    public var description: String { "\"\(name)\" #\(instance)" }
}

/// The thread a violation happened on.
public struct ThreadInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The validator's number for the thread (1, 2, ...), stable for the thread's life.
    public let serial: UInt32
    /// The kernel thread id.
    public let osThreadID: Int64
    /// The thread name, if it has one.
    public let name: String?

    public init(serial: UInt32, osThreadID: Int64, name: String?) {
        self.serial = serial
        self.osThreadID = osThreadID
        self.name = name
    }

    public var description: String {
        if let name, !name.isEmpty { return "thread \(serial) \"\(name)\" (tid \(osThreadID))" }
        return "thread \(serial) (tid \(osThreadID))"
    }
}

/// A lock on a thread's held-lock stack when a violation was found.
public struct HeldLockInfo: Hashable, Sendable, Codable {
    public let lock: LockInfo
    /// Where it was acquired.
    public let acquiredAt: SourceSite
    /// The IRQL it runs at.
    public let irql: IRQL
    /// How it was acquired.
    public let kind: AcquireKind
}

/// How a lock was acquired.
public enum AcquireKind: UInt8, Sendable, Codable, CustomStringConvertible {
    /// `KeAcquireSpinLock` and its `AtDpcLevel` form.
    case ordinary = 1
    /// `KeAcquireInStackQueuedSpinLock` and its `AtDpcLevel` form.
    case queued = 2
    /// An interrupt spin lock (`KeSynchronizeExecution`, `KeAcquireInterruptSpinLock`, an ISR).
    case interrupt = 3
    /// A successful try-acquire.
    case tryAcquire = 4
    /// A lock of another kind reported through the annotation API.
    case annotated = 5

    public var description: String {
        switch self {
        case .ordinary: return "ordinary"
        case .queued: return "in-stack queued"
        case .interrupt: return "interrupt"
        case .tryAcquire: return "try"
        case .annotated: return "annotated"
        }
    }
}

/// How bad a violation is.
public enum Severity: String, Sendable, Codable {
    /// A bug that deadlocks, corrupts or crashes on a real system.
    case error
    /// A risk or a budget overrun.
    case warning
}

/// One rule violation, deduplicated: the same rule, locks and sites count as one entry.
public struct Violation: Sendable, Codable, CustomStringConvertible {
    /// The rule broken.
    public let rule: Rule
    /// One line a person can read.
    public let summary: String
    public let severity: Severity
    /// The locks involved; the first is the one being acquired or released.
    public let locks: [LockInfo]
    /// The call that broke the rule.
    public let site: SourceSite?
    /// The thread it happened on (the first time).
    public let thread: ThreadInfo
    /// The thread's IRQL when it happened (the first time).
    public let irql: IRQL
    /// The thread's held locks when it happened (the first time), oldest first.
    public let heldLocks: [HeldLockInfo]
    /// Return addresses at the violation (the first time), innermost first.
    public let stack: StackTrace
    /// How many times it happened.
    public internal(set) var occurrences: Int
    /// For `lock-order-inversion`: the cycle's edges, the one being taken first, then the existing
    /// dependency chain that leads back to it, each with the sites and stack that first created it.
    public let edges: [DependencyEdge]
    /// For `irql-inconsistent-usage`: the two usages that conflict, the higher IRQL first.
    public let usages: [LockUsage]

    /// What makes two violations the same entry.
    struct Key: Hashable {
        let rule: Rule
        let lockClasses: [String]
        let site: SourceSite?
    }

    var key: Key { Key(rule: rule, lockClasses: locks.map(\.name), site: site) }

    /// `recursive-acquire: ...summary... at File.swift:12`.
    public var description: String {
        var text = "\(rule.rawValue): \(summary)"
        if let site { text += " at \(site)" }
        if occurrences > 1 { text += " (\(occurrences) times)" }
        return text
    }
}

/// An edge of the lock-order graph: `to` was acquired while `from` was held.
public struct DependencyEdge: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lock held (its class, and the instance held the first time).
    public let from: LockInfo
    /// The lock acquired (its class, and the instance acquired the first time).
    public let to: LockInfo
    /// Where `from` had been acquired.
    public let fromAcquiredAt: SourceSite
    /// Where `to` was acquired.
    public let toAcquiredAt: SourceSite
    /// The IRQL when `to` was acquired.
    public let irql: IRQL
    /// The thread that first took this order.
    public let thread: ThreadInfo
    /// The stack when the edge was first taken.
    public let stack: StackTrace

    /// `"A" -> "B"`.
    public var description: String { "\"\(from.name)\" -> \"\(to.name)\"" }
}

/// A lock class seen held at one IRQL: where first, and by whom.
public struct LockUsage: Hashable, Sendable, Codable {
    public let lock: LockInfo
    public let irql: IRQL
    /// The acquire that first held the class at this IRQL.
    public let site: SourceSite
    public let thread: ThreadInfo
    public let stack: StackTrace
}
