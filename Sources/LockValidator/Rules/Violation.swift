/// A place in the source: the `#fileID` and `#line` of a call.
public struct SourceSite: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The module-qualified file, `Module/File.swift`.
    public let fileID: String
    public let line: UInt

    public init(fileID: String, line: UInt) {
        self.fileID = fileID
        self.line = line
    }

    /// Parses "Module/File.swift:42".
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let line = UInt(text[text.index(after: colon)...]) else {
            return nil
        }
        self.init(fileID: String(text[..<colon]), line: line)
    }

    /// Written as "Module/File.swift:42".
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let site = SourceSite(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not File:line")
        }
        self = site
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
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
    /// The ``ViolationScope`` (a test, a routine) it happened in, if any.
    public let scope: String?
    /// For `hold-time-exceeded`: how long, against what budget, and the acquire; the release is
    /// ``site`` and ``stack``.
    public internal(set) var hold: HoldTime?
    /// For `spin-timeout`: every thread of the wait-for chain.
    public let waits: [ThreadWait]

    /// For `lock-order-inversion`: the class names around the cycle, starting with the lock being
    /// acquired.
    public var cycle: [String] { edges.isEmpty ? [] : [edges[0].to.name] + edges.dropFirst().map(\.to.name) }

    /// What makes two violations the same entry.
    struct Key: Hashable {
        let rule: Rule
        let lockClasses: [String]
        let site: SourceSite?
    }

    /// A violation tied to no lock and no site (a full table) is told apart by what it says.
    var key: Key {
        Key(rule: rule, lockClasses: locks.isEmpty && site == nil ? [summary] : locks.map(\.name), site: site)
    }

    /// What makes two violations the same entry, as one string (rule, lock classes, site); stable
    /// across processes, for merging reports and comparing them with a baseline.
    public var identity: String {
        "\(rule.rawValue)|\(key.lockClasses.joined(separator: ","))|\(site?.description ?? "-")"
    }

    /// The same violation counted `occurrences` times.
    public func counted(_ occurrences: Int) -> Violation {
        var copy = self
        copy.occurrences = occurrences
        return copy
    }

    public init(
        rule: Rule, summary: String, severity: Severity, locks: [LockInfo], site: SourceSite?, thread: ThreadInfo,
        irql: IRQL, heldLocks: [HeldLockInfo], stack: StackTrace, occurrences: Int, edges: [DependencyEdge] = [],
        usages: [LockUsage] = [], scope: String? = nil, hold: HoldTime? = nil, waits: [ThreadWait] = []
    ) {
        self.hold = hold
        self.waits = waits
        self.rule = rule
        self.summary = summary
        self.severity = severity
        self.locks = locks
        self.site = site
        self.thread = thread
        self.irql = irql
        self.heldLocks = heldLocks
        self.stack = stack
        self.occurrences = occurrences
        self.edges = edges
        self.usages = usages
        self.scope = scope
    }

    private enum CodingKeys: String, CodingKey {
        case rule, summary, severity, occurrences, thread, irql, locks, site, cycle, edges, usages, heldLocks, stack
        case scope, hold, waits
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rule = try container.decode(Rule.self, forKey: .rule)
        summary = try container.decode(String.self, forKey: .summary)
        severity = try container.decode(Severity.self, forKey: .severity)
        occurrences = try container.decode(Int.self, forKey: .occurrences)
        thread = try container.decode(ThreadInfo.self, forKey: .thread)
        irql = try container.decode(IRQL.self, forKey: .irql)
        locks = try container.decode([LockInfo].self, forKey: .locks)
        site = try container.decodeIfPresent(SourceSite.self, forKey: .site)
        edges = try container.decodeIfPresent([DependencyEdge].self, forKey: .edges) ?? []
        usages = try container.decodeIfPresent([LockUsage].self, forKey: .usages) ?? []
        heldLocks = try container.decodeIfPresent([HeldLockInfo].self, forKey: .heldLocks) ?? []
        stack = try container.decodeIfPresent(StackTrace.self, forKey: .stack) ?? StackTrace(addresses: [])
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
        hold = try container.decodeIfPresent(HoldTime.self, forKey: .hold)
        waits = try container.decodeIfPresent([ThreadWait].self, forKey: .waits) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rule, forKey: .rule)
        try container.encode(summary, forKey: .summary)
        try container.encode(severity, forKey: .severity)
        try container.encode(occurrences, forKey: .occurrences)
        try container.encode(thread, forKey: .thread)
        try container.encode(irql, forKey: .irql)
        try container.encode(locks, forKey: .locks)
        try container.encodeIfPresent(site, forKey: .site)
        if !edges.isEmpty {
            try container.encode(cycle, forKey: .cycle)
            try container.encode(edges, forKey: .edges)
        }
        if !usages.isEmpty { try container.encode(usages, forKey: .usages) }
        try container.encode(heldLocks, forKey: .heldLocks)
        try container.encode(stack, forKey: .stack)
        try container.encodeIfPresent(scope, forKey: .scope)
        try container.encodeIfPresent(hold, forKey: .hold)
        if !waits.isEmpty { try container.encode(waits, forKey: .waits) }
    }

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

/// One thread of a `spin-timeout` wait-for chain.
public struct ThreadWait: Hashable, Sendable, Codable {
    public let thread: ThreadInfo
    /// The lock it spins on, if it spins.
    public let waitingFor: LockInfo?
    /// Where it asked for that lock.
    public let waitingAt: SourceSite?
    /// The serial of the thread holding that lock, 0 if none.
    public let holder: UInt32
    /// How long it had been spinning.
    public let waitedNanoseconds: Double
    /// The locks it holds.
    public let heldLocks: [HeldLockInfo]
    /// Its stack while waiting, when it was captured.
    public let stack: StackTrace
}
