#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Lock orders learned by earlier processes (`LOCKVALIDATOR_GRAPH`): each edge with the process, thread
/// and stack that first took it, and the run that last took it. A process loads the store at start and
/// validates against it, as if it had taken those orders itself, and adds what it learned at exit; so
/// an inversion split across test processes, CI shards or days is found while the tests run.
///
/// The file is text, one record per line (fields separated by tabs), so that 100,000 edges load in
/// milliseconds and stay a few megabytes: its schema line, the processes, the stacks and the classes,
/// each listed once, the edges referring to them by number, and an `end` line that a cut-off file lacks.
public struct LearnedOrderStore: Sendable {
    /// The first word of every store.
    public static let schemaName = "lockvalidator-graph/1"

    /// How many processes have added to the store: the current run number.
    public var runs = 0
    /// The orders, each once, in the order learned.
    public private(set) var orders: [Order] = []
    /// Where each order is in ``orders``; made on the first change (a store only read never needs it).
    private var index: [Pair: Int]?

    private struct Pair: Hashable {
        let from: String
        let to: String
    }

    /// One learned order.
    public struct Order: Sendable {
        public var edge: ValidationReport.Edge
        /// The run that first learned it.
        public var firstRun: Int
        /// The last run that took it.
        public var lastRun: Int
    }

    public init() {}

    /// The store file for a configured path: a directory holds `lockvalidator-graph.txt`.
    public static func file(for configured: String) -> String {
        var status = stat()
        let isDirectory = stat(configured, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
        guard configured.hasSuffix("/") || isDirectory else { return configured }
        let directory = configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        if !directory.isEmpty && !isDirectory { mkdir(directory, 0o755) }
        return "\(directory)/lockvalidator-graph.txt"
    }

    /// Starts a new run: each edge is added, or its last run updated, and `seen` (from → to of learned
    /// orders the process took again) are marked as taken in this run too.
    public mutating func addRun(_ edges: [ValidationReport.Edge], seen: [(from: String, to: String)]) {
        runs += 1
        for edge in edges { add(edge, firstRun: runs, lastRun: runs) }
        for (from, to) in seen { if let at = indexed[Pair(from: from, to: to)] { orders[at].lastRun = runs } }
    }

    /// Adds `edge` unless its order is known; a known order keeps its first stack, and the later of the
    /// two last runs.
    mutating func add(_ edge: ValidationReport.Edge, firstRun: Int, lastRun: Int) {
        let key = Pair(from: edge.from, to: edge.to)
        if let at = indexed[key] {
            orders[at].lastRun = max(orders[at].lastRun, lastRun)
            return
        }
        index![key] = orders.count
        orders.append(Order(edge: edge, firstRun: firstRun, lastRun: lastRun))
    }

    /// Appends an order known to be new (a parsed store's; the parser checks).
    mutating func appendParsed(_ order: Order) {
        index = nil
        orders.append(order)
    }

    /// The index, made if missing.
    private var indexed: [Pair: Int] {
        mutating get {
            if let index { return index }
            let made = Dictionary(
                orders.enumerated().map { (Pair(from: $1.edge.from, to: $1.edge.to), $0) },
                uniquingKeysWith: { a, _ in a })
            index = made
            return made
        }
    }

    /// Drops the orders no run has taken in the last `runs` runs; returns how many.
    @discardableResult
    public mutating func prune(notSeenFor runs: Int) -> Int {
        let before = orders.count
        orders.removeAll { self.runs - $0.lastRun >= runs }
        index = nil
        return before - orders.count
    }

    /// The store as a report with no violations, for `lockval check` and `merge`: its edges name the
    /// processes that learned them.
    public func asReport(path: String) -> ValidationReport {
        var classes: [String: ValidationReport.ClassDescription] = [:]
        var classOrder: [String] = []
        for order in orders {
            for (name, site) in [
                (order.edge.from, order.edge.fromAcquiredAt), (order.edge.to, order.edge.toAcquiredAt),
            ]
            where classes[name] == nil {
                classOrder.append(name)
                classes[name] = ValidationReport.ClassDescription(name: name, site: site, irqls: [])
            }
        }
        let processes = Array(Set(orders.compactMap(\.edge.process))).sorted { $0.pid < $1.pid }
        return ValidationReport(
            process: ValidationReport.ProcessDescription(pid: 0, executable: path, arguments: []),
            mergedFrom: processes.isEmpty ? nil : processes,
            config: .init(settings: Configuration(), errors: []), violations: [], suppressed: [],
            graph: .init(classes: classOrder.map { classes[$0]! }, edges: orders.map(\.edge)), chains: 0)
    }
}
