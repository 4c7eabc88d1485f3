/// One rule violation, deduplicated: the same rule, locks and sites count as one entry.
public struct Violation: Sendable, Codable, CustomStringConvertible {
    /// The rule broken.
    public let rule: Rule
    /// One line a person can read.
    public let summary: String
    public internal(set) var severity: Severity
    /// The locks involved; the first is the one being acquired or released.
    public let locks: [LockInfo]
    /// The call that broke the rule.
    public let site: Site?
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
    /// The `ViolationScope` (a test, a routine) it happened in, if any; in a merged report, each scope
    /// its occurrences came from, in the order met, separated by ", ".
    public internal(set) var scope: String?
    /// For `hold-time-exceeded`: how long, against what budget, and the acquire; the release is
    /// ``site`` and ``stack``.
    public internal(set) var hold: HoldTime?
    /// For `spin-timeout`: every thread of the wait-for chain.
    public let waits: [ThreadWait]
    /// For `lock-order-inversion`: whether the cycle can deadlock in this run, and why not (reports
    /// re-decide it from the evidence gathered until then).
    public internal(set) var verdict: CycleVerdict?
    /// For `lock-order-inversion` and `deadlock` in confirmation mode (`LOCKVALIDATOR_CONFIRM`): whether
    /// the cycle formed for real, and how.
    public internal(set) var confirmation: CycleConfirmation?
    /// For a cycle a scope was told of when its own threads took every order again: the verdict is
    /// that scope's (one thread of its own took them all), not re-decided from the whole process's.
    package var verdictIsTheScopes = false
    /// For a cycle reported before that a later scope (a test) took again and was told of: the process
    /// log counts it as an occurrence of the first report, not as an entry of its own.
    package var retold = false

    /// The summary, and that confirmation mode made the cycle form when it did: a test's one line for a
    /// violation that ended the run.
    package var summaryWithConfirmation: String {
        confirmation?.status == .confirmed
            ? summary + " (confirmed: the cycle formed for real, LOCKVALIDATOR_CONFIRM)" : summary
    }
    /// For `lock-order-inversion`: the test's own setting its severity was decided under
    /// (`.lockValidation(failOn:)`, `LockValidatedTestCase.lockFailOn`), which the exit status and the
    /// report files keep; nil: `LOCKVALIDATOR_FAIL_ON`'s.
    public internal(set) var failOn: Configuration.FailOn?

    /// For `lock-order-inversion`: the class names around the cycle, starting with the lock being
    /// acquired.
    public var cycle: [String] { edges.isEmpty ? [] : [edges[0].to.name] + edges.dropFirst().map(\.to.name) }

    /// What makes two violations the same entry.
    struct Key: Hashable {
        let rule: Rule
        let lockClasses: [String]
        let site: Site?
    }

    /// A violation tied to no lock and no site (a full table) is told apart by what it says.
    var key: Key {
        Key(rule: rule, lockClasses: locks.isEmpty && site == nil ? [summary] : locks.map(\.name), site: site)
    }

    /// What makes two violations the same finding across processes and edits, as one string: the rule, the
    /// lock classes and the function that broke it, without line numbers (a class named by its init line is
    /// keyed by its file and function there), so that a line added above the code changes nothing. For
    /// merging reports, comparing them with a baseline, and SARIF fingerprints.
    public var identity: String {
        let classes = key.lockClasses.map(Self.withoutLineNumbers).joined(separator: ",")
        return "\(rule.rawValue)|\(classes)|\(siteKey)"
    }

    /// The identity with its lines: what tells apart two findings of one identity (an inversion with
    /// `stats` and one with `extra`, both made in `Cache.init`, closed in one function) within one build.
    package var identityWithLines: String {
        "\(rule.rawValue)|\(key.lockClasses.joined(separator: ","))|\(site.map { "\($0)" } ?? "-")"
    }

    /// The numbers in the lock classes' names, then the site's line: the order of findings that share an
    /// identity, which a line added above them keeps.
    private var lineOrder: [Int] {
        var numbers = key.lockClasses.joined(separator: " ").split { !$0.isNumber }.compactMap { Int($0) }
        switch site {
        case .source(let source)?: numbers.append(Int(source.line))
        case .code(let code)?: numbers.append(code.location.line ?? 0)
        case nil: break
        }
        return numbers
    }

    /// Each violation's fingerprint, for SARIF: its ``identity``, and for the second and later of those
    /// that share one, `|2`, `|3`… in the order of their lines, so that each finding keeps its own across
    /// edits above it (a lone finding's fingerprint is its identity).
    public static func fingerprints(_ violations: [Violation]) -> [String] {
        var fingerprints = violations.map(\.identity)
        let groups = Dictionary(grouping: violations.indices, by: { violations[$0].identity })
        for (identity, members) in groups where members.count > 1 {
            let ordered = members.sorted {
                violations[$0].lineOrder.lexicographicallyPrecedes(violations[$1].lineOrder)
            }
            for (rank, index) in ordered.enumerated() where rank > 0 { fingerprints[index] = "\(identity)|\(rank + 1)" }
        }
        return fingerprints
    }

    /// The site without its line: the file and the function that made the call.
    private var siteKey: String {
        switch site {
        case .source(let source)?:
            // The caller's function, from the stack (the validator's own frames are trimmed).
            let function = stack.symbolicated().first?.symbol.map(Symbolizer.shortName)
            return source.fileID + (function.map { " in \($0)" } ?? "")
        case .code?: return site!.lineIndependentKey
        case nil: return "-"
        }
    }

    /// `name` without the line (and column) numbers of the sites in it: `Module/File.swift:42` becomes
    /// `Module/File.swift`, `NSLock created at Cache.swift:37:21 in Cache.init` `NSLock created at
    /// Cache.swift in Cache.init`.
    static func withoutLineNumbers(_ name: String) -> String {
        var result = ""
        var index = name.startIndex
        while index < name.endIndex {
            let character = name[index]
            if character == ":", result.contains(".") {
                // ":" then digits (":digits" again for a column), ending the name or before a space or "/".
                var end = name.index(after: index)
                var groups = 0
                while end < name.endIndex, name[end].isNumber {
                    let digits = name[end...].prefix { $0.isNumber }
                    end = digits.endIndex
                    groups += 1
                    guard groups < 2, end < name.endIndex, name[end] == ":",
                        name.index(after: end) < name.endIndex, name[name.index(after: end)].isNumber
                    else { break }
                    end = name.index(after: end)
                }
                if groups > 0 && (end == name.endIndex || name[end] == " " || name[end] == "/") {
                    index = end
                    continue
                }
            }
            result.append(character)
            index = name.index(after: index)
        }
        return result
    }

    /// The same violation counted `occurrences` times.
    public func counted(_ occurrences: Int) -> Violation {
        var copy = self
        copy.occurrences = occurrences
        return copy
    }

    package init(
        rule: Rule, summary: String, severity: Severity, locks: [LockInfo], site: Site?, thread: ThreadInfo,
        irql: IRQL, heldLocks: [HeldLockInfo], stack: StackTrace, occurrences: Int, edges: [DependencyEdge] = [],
        usages: [LockUsage] = [], scope: String? = nil, hold: HoldTime? = nil, waits: [ThreadWait] = [],
        verdict: CycleVerdict? = nil, confirmation: CycleConfirmation? = nil, failOn: Configuration.FailOn? = nil
    ) {
        self.failOn = failOn
        self.verdict = verdict
        self.confirmation = confirmation
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
        case scope, hold, waits, verdict, confirmation, failOn
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rule = try container.decode(Rule.self, forKey: .rule)
        summary = try container.decode(String.self, forKey: .summary)
        severity = try container.decode(Severity.self, forKey: .severity)
        occurrences = try container.decode(Int.self, forKey: .occurrences)
        guard occurrences >= 1 else {
            throw DecodingError.dataCorruptedError(
                forKey: .occurrences, in: container, debugDescription: "occurrences must be at least 1, not \(occurrences)")
        }
        thread = try container.decode(ThreadInfo.self, forKey: .thread)
        irql = try container.decode(IRQL.self, forKey: .irql)
        locks = try container.decode([LockInfo].self, forKey: .locks)
        site = try container.decodeIfPresent(Site.self, forKey: .site)
        edges = try container.decodeIfPresent([DependencyEdge].self, forKey: .edges) ?? []
        usages = try container.decodeIfPresent([LockUsage].self, forKey: .usages) ?? []
        heldLocks = try container.decodeIfPresent([HeldLockInfo].self, forKey: .heldLocks) ?? []
        stack = try container.decodeIfPresent(StackTrace.self, forKey: .stack) ?? StackTrace(addresses: [])
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
        hold = try container.decodeIfPresent(HoldTime.self, forKey: .hold)
        waits = try container.decodeIfPresent([ThreadWait].self, forKey: .waits) ?? []
        verdict = try container.decodeIfPresent(CycleVerdict.self, forKey: .verdict)
        confirmation = try container.decodeIfPresent(CycleConfirmation.self, forKey: .confirmation)
        failOn = try container.decodeIfPresent(Configuration.FailOn.self, forKey: .failOn)
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
        try container.encodeIfPresent(verdict, forKey: .verdict)
        try container.encodeIfPresent(confirmation, forKey: .confirmation)
        try container.encodeIfPresent(failOn, forKey: .failOn)
    }

    /// `recursive-acquire: ...summary... at File.swift:12`.
    public var description: String {
        var text = "\(rule.rawValue): \(summary)"
        if let site { text += " at \(site)" }
        if occurrences > 1 { text += " (\(occurrences) times)" }
        return text
    }
}
