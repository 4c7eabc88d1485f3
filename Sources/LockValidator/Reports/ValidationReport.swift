#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A whole report, schema `lockvalidator-report/1`: the process, its configuration, the violations
/// (and the suppressed ones, counted apart), the lock-order graph and statistics. `LOCKVALIDATOR_REPORT`
/// writes one at exit; `lockval` reads, renders, merges and compares them.
public struct ValidationReport: Sendable, Codable {
    /// The schema this type reads and writes.
    public static let schemaName = "lockvalidator-report/1"

    public var schema: String
    /// The process that wrote the report (for a merged report, the first).
    public var process: ProcessDescription
    /// For a merged report: every process it came from.
    public var mergedFrom: [ProcessDescription]?
    public var config: ConfigurationDescription
    public var violations: [Violation]
    /// Violations a suppression covers: counted, shown apart, failing nothing.
    public var suppressed: [Violation]
    public var graph: Graph
    /// Distinct chains of held classes the process validated (the one count the rest cannot give); past
    /// 98,304 chains the chain cache is emptied and a chain validated again counts again.
    public var chains: Int
    /// lock_stat per class, sorted by longest hold.
    public var lockStatistics: [LockClassStatistics]

    /// Counts of what the report holds.
    public var statistics: Statistics {
        Statistics(
            violations: violations.count, occurrences: violations.reduce(0) { $0 + $1.occurrences },
            suppressed: suppressed.reduce(0) { $0 + $1.occurrences }, classes: graph.classes.count,
            edges: graph.edges.count, chains: chains, locks: lockStatistics)
    }

    public init(
        process: ProcessDescription, mergedFrom: [ProcessDescription]? = nil, config: ConfigurationDescription,
        violations: [Violation], suppressed: [Violation], graph: Graph, chains: Int,
        lockStatistics: [LockClassStatistics] = []
    ) {
        self.lockStatistics = lockStatistics.sorted { $0.holdMaxNanoseconds > $1.holdMaxNanoseconds }
        schema = Self.schemaName
        self.process = process
        self.mergedFrom = mergedFrom
        self.config = config
        self.violations = violations
        self.suppressed = suppressed
        self.graph = graph
        self.chains = chains
    }

    private enum CodingKeys: String, CodingKey {
        case schema, process, mergedFrom, config, violations, suppressed, graph, statistics
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(String.self, forKey: .schema)
        process = try container.decode(ProcessDescription.self, forKey: .process)
        mergedFrom = try container.decodeIfPresent([ProcessDescription].self, forKey: .mergedFrom)
        config = try container.decode(ConfigurationDescription.self, forKey: .config)
        violations = try container.decode([Violation].self, forKey: .violations)
        suppressed = try container.decodeIfPresent([Violation].self, forKey: .suppressed) ?? []
        graph = try container.decode(Graph.self, forKey: .graph)
        let statistics = try container.decodeIfPresent(Statistics.self, forKey: .statistics)
        chains = statistics?.chains ?? 0
        guard chains >= 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .statistics, in: container, debugDescription: "statistics.chains must not be negative (\(chains))")
        }
        lockStatistics = statistics?.locks ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(process, forKey: .process)
        try container.encodeIfPresent(mergedFrom, forKey: .mergedFrom)
        try container.encode(config, forKey: .config)
        try container.encode(violations, forKey: .violations)
        try container.encode(suppressed, forKey: .suppressed)
        try container.encode(graph, forKey: .graph)
        try container.encode(statistics, forKey: .statistics)
    }

    /// The process a report came from.
    public struct ProcessDescription: Sendable, Codable, Hashable {
        public var pid: Int32
        public var executable: String
        public var arguments: [String]
        /// The run the process belongs to: its parent's process id and start time. The processes one
        /// `swift test` starts (XCTest, Swift Testing, `--parallel` workers) share it.
        public var run: String?
        /// Set when the process found nothing and so left the source lines of its code sites to be looked
        /// up by `lockval` (its report names them from symbol tables alone, which costs nothing): the image
        /// files those sites are in. ``ValidationReport/resolvingDeferredLookUps()`` looks them up.
        public var deferredImages: [ImageDescription]?

        public init(
            pid: Int32, executable: String, arguments: [String], run: String? = nil,
            deferredImages: [ImageDescription]? = nil
        ) {
            self.pid = pid
            self.executable = executable
            self.arguments = arguments
            self.run = run
            self.deferredImages = deferredImages
        }

        /// The calling process.
        public static var current: ProcessDescription {
            let arguments = CommandLine.arguments
            return ProcessDescription(
                pid: getpid(), executable: arguments.first ?? "?", arguments: Array(arguments.dropFirst()),
                run: currentRun)
        }

        /// The command this process belongs to, as "pid@starttime" (clock ticks since boot, field 22 of
        /// `/proc/<pid>/stat`; a process id alone could be a reused one): its parent's, when the parent is a
        /// runner that starts several test processes for one command (`swift test` starts XCTest and Swift
        /// Testing); its own, when the parent is a shell, so that two commands run one after the other are
        /// two runs.
        private static let currentRun: String? = {
            let parent = getppid()
            let command = Self.isShell(Self.commandName(of: parent)) ? getpid() : parent
            guard let stat = TextFile.read("/proc/\(command)/stat"), let end = stat.lastIndex(of: ")") else {
                return nil
            }
            // After the command name (which may hold spaces): state is field 3, start time field 22.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 19 ? "\(command)@\(fields[19])" : nil
        }()

        /// The kernel's name of process `pid` (`bash`), without its newline.
        private static func commandName(of pid: Int32) -> String {
            (TextFile.read("/proc/\(pid)/comm") ?? "").trimmingSpaces
        }

        /// Shells: each command they run is a run of its own.
        static func isShell(_ name: String) -> Bool {
            ["sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "tcsh", "csh", "ash", "busybox", "login"].contains(name)
        }
    }

    /// Every process the report came from.
    public var processes: [ProcessDescription] { mergedFrom ?? [process] }

    /// The configuration in force, and the bad values it met.
    public struct ConfigurationDescription: Sendable, Codable {
        public var settings: Configuration
        /// One line per bad environment value, as printed.
        public var errors: [String]

        public init(settings: Configuration, errors: [String]) {
            self.settings = settings
            self.errors = errors
        }
    }

    /// The lock-order graph.
    ///
    /// In JSON, the edges' stacks (their innermost ``edgeStackDepth`` frames) and processes are listed
    /// once, in `stacks` and `processes`, and each edge names them by number: a test process's graph can
    /// have tens of thousands of edges made by a few hundred stacks.
    public struct Graph: Sendable, Codable {
        public var classes: [ClassDescription]
        public var edges: [Edge]

        /// The frames kept of each edge's stack.
        public static let edgeStackDepth = 8

        public init(classes: [ClassDescription], edges: [Edge]) {
            self.classes = classes
            self.edges = edges
        }

        private enum CodingKeys: String, CodingKey { case classes, edges, stacks, processes }

        /// An edge as written: its stack and process by number.
        private struct NumberedEdge: Codable {
            var from: String
            var to: String
            var fromAcquiredAt: Site
            var toAcquiredAt: Site
            var irql: IRQL
            var thread: ThreadInfo?
            var stack: Int?
            var process: Int?
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            classes = try container.decode([ClassDescription].self, forKey: .classes)
            let stacks = try container.decodeIfPresent([StackTrace].self, forKey: .stacks) ?? []
            let processes = try container.decodeIfPresent([ProcessDescription].self, forKey: .processes) ?? []
            edges = try container.decode([NumberedEdge].self, forKey: .edges).map { edge in
                Edge(
                    from: edge.from, to: edge.to, fromAcquiredAt: edge.fromAcquiredAt, toAcquiredAt: edge.toAcquiredAt,
                    irql: edge.irql, thread: edge.thread,
                    stack: edge.stack.flatMap { stacks.indices.contains($0) ? stacks[$0] : nil },
                    process: edge.process.flatMap { processes.indices.contains($0) ? processes[$0] : nil })
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var stacks: [[StackTrace.Frame]: Int] = [:]
            var processes: [ProcessDescription: Int] = [:]
            func number<Key: Hashable>(_ key: Key, in table: inout [Key: Int]) -> Int {
                if let known = table[key] { return known }
                table[key] = table.count
                return table.count - 1
            }
            let numbered = edges.map { edge in
                NumberedEdge(
                    from: edge.from, to: edge.to, fromAcquiredAt: edge.fromAcquiredAt, toAcquiredAt: edge.toAcquiredAt,
                    irql: edge.irql, thread: edge.thread,
                    stack: edge.stack.map { number(Array($0.symbolicated().prefix(Self.edgeStackDepth)), in: &stacks) },
                    process: edge.process.map { number($0, in: &processes) })
            }
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(classes, forKey: .classes)
            try container.encode(numbered, forKey: .edges)
            let stackTable = stacks.sorted { $0.value < $1.value }.map { StackTrace(frames: $0.key) }
            if !stackTable.isEmpty { try container.encode(stackTable, forKey: .stacks) }
            let processTable = processes.sorted { $0.value < $1.value }.map(\.key)
            if !processTable.isEmpty { try container.encode(processTable, forKey: .processes) }
        }
    }

    /// An edge of the graph with the sites, thread and stack that first created it, so that a cycle found
    /// only when several processes' graphs are merged can still show how each of its edges was made.
    public struct Edge: Sendable, Codable, Hashable {
        /// The class held.
        public var from: String
        /// The class acquired.
        public var to: String
        public var fromAcquiredAt: Site
        public var toAcquiredAt: Site
        public var irql: IRQL
        /// The thread that first took this order.
        public var thread: ThreadInfo?
        /// The stack when the edge was first taken.
        public var stack: StackTrace?
        /// The process that learned the edge, in a merged report or a learned-order store; nil in a single
        /// process's report (its ``ValidationReport/process``).
        public var process: ProcessDescription?
        /// True when `from` was held for reading every time this order was taken; nil otherwise (and in
        /// reports written before it was kept), so that the read rules hold across processes.
        public var heldShared: Bool?
        /// True in a learned-order store's order into `to`'s recursive-readers node (`to` taken as a
        /// recursive read, which waits only for a writer), named by the class's own name; nil otherwise. A
        /// report names that node `"<class> (read)"` instead.
        public var toRecursiveRead: Bool?

        public init(
            from: String, to: String, fromAcquiredAt: Site, toAcquiredAt: Site, irql: IRQL,
            thread: ThreadInfo? = nil, stack: StackTrace? = nil, process: ProcessDescription? = nil,
            heldShared: Bool = false, toRecursiveRead: Bool = false
        ) {
            self.from = from
            self.to = to
            self.fromAcquiredAt = fromAcquiredAt
            self.toAcquiredAt = toAcquiredAt
            self.irql = irql
            self.thread = thread
            self.stack = stack
            self.process = process
            self.heldShared = heldShared ? true : nil
            self.toRecursiveRead = toRecursiveRead ? true : nil
        }

        public init(_ edge: DependencyEdge) {
            self.init(
                from: edge.from.name, to: edge.to.name, fromAcquiredAt: edge.fromAcquiredAt,
                toAcquiredAt: edge.toAcquiredAt, irql: edge.irql, thread: edge.thread, stack: edge.stack,
                process: edge.process, heldShared: edge.heldShared == true)
        }
    }

    /// A lock class and the IRQLs it has been held at.
    public struct ClassDescription: Sendable, Codable, Hashable {
        public var name: String
        /// Where its first lock was created; nil for the class of locks past the class cap.
        public var site: Site?
        public var irqls: [IRQL]

        public init(name: String, site: Site?, irqls: [IRQL]) {
            self.name = name
            self.site = site
            self.irqls = irqls
        }
    }

    /// Counts.
    public struct Statistics: Sendable, Codable {
        /// Distinct violations (entries).
        public var violations: Int
        /// Violation occurrences, entries times their counts.
        public var occurrences: Int
        /// Suppressed occurrences.
        public var suppressed: Int
        public var classes: Int
        public var edges: Int
        /// Distinct chains of held classes validated.
        public var chains: Int
        /// lock_stat per class, sorted by longest hold.
        public var locks: [LockClassStatistics]

        public init(
            violations: Int, occurrences: Int, suppressed: Int, classes: Int, edges: Int, chains: Int,
            locks: [LockClassStatistics] = []
        ) {
            self.locks = locks
            self.violations = violations
            self.occurrences = occurrences
            self.suppressed = suppressed
            self.classes = classes
            self.edges = edges
            self.chains = chains
        }
    }
}
