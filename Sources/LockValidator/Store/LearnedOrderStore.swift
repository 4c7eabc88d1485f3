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

    // The store as its file numbers it: each process, stack, class, site and thread once, and each
    // order as numbers into those tables. Loading 100,000 orders into the lock-order graph is then
    // array lookups, and the store costs 40 bytes an order.
    var processes: [ValidationReport.ProcessDescription] = []
    /// Stacks by their symbolicated frames, at most `Graph.edgeStackDepth` of them.
    var stacks: [StackTrace] = []
    var classes: [(name: String, site: Site?)] = []
    var sites: [Site] = []
    var threads: [ThreadInfo] = []
    var numberedOrders: [NumberedOrder] = []
    /// Where each row is in its table; made on the first change (a store only read never needs it).
    var index: Index?
    /// What reading the file dropped (malformed lines, a cut-off end), one line each: kept out of the
    /// store, which is whole without them; empty for a store read as written.
    public internal(set) var droppedLines: [String] = []

    /// One order, as numbers into the store's tables.
    struct NumberedOrder {
        static let none = UInt32.max

        var from: UInt32
        var to: UInt32
        var fromSite: UInt32
        var toSite: UInt32
        var stack: UInt32
        var process: UInt32
        var thread: UInt32
        var firstRun: UInt32
        var lastRun: UInt32
        var irql: IRQL
        /// Its first class was held for reading every time a run took it (the E line's optional flags).
        var heldShared = false
        /// Its second class was taken as a recursive read: the order is into that class's recursive-readers
        /// node (the E line's flag 2), stored under the class's own name.
        var toRecursiveRead = false

        /// The order's key: an order into a class's readers node is another order than into the class.
        var pair: UInt64 { Self.pair(from, to, toRecursiveRead: toRecursiveRead) }

        static func pair(_ from: UInt32, _ to: UInt32, toRecursiveRead: Bool) -> UInt64 {
            UInt64(from) << 32 | UInt64(to) | (toRecursiveRead ? 1 << 31 : 0)
        }
    }

    struct Index {
        var processes: [ValidationReport.ProcessDescription: UInt32] = [:]
        /// By their frames as written: equal addresses in two processes can be other code.
        var stacks: [String: UInt32] = [:]
        var classes: [String: UInt32] = [:]
        var sites: [Site: UInt32] = [:]
        var threads: [ThreadInfo: UInt32] = [:]
        var orders: [UInt64: Int] = [:]
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

    /// The orders, each once, in the order learned.
    public var orders: [Order] {
        numberedOrders.map { order in
            func row<Row>(_ table: [Row], _ number: UInt32) -> Row? {
                number == NumberedOrder.none ? nil : table[Int(number)]
            }
            let edge = ValidationReport.Edge(
                from: classes[Int(order.from)].name, to: classes[Int(order.to)].name,
                fromAcquiredAt: sites[Int(order.fromSite)], toAcquiredAt: sites[Int(order.toSite)], irql: order.irql,
                thread: row(threads, order.thread), stack: row(stacks, order.stack),
                process: row(processes, order.process), heldShared: order.heldShared,
                toRecursiveRead: order.toRecursiveRead)
            return Order(edge: edge, firstRun: Int(order.firstRun), lastRun: Int(order.lastRun))
        }
    }

    /// The store file for a configured path: a directory holds `lockvalidator-graph.txt`.
    public static func file(for configured: String) -> String {
        var status = stat()
        let isDirectory = stat(configured, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
        guard configured.hasSuffix("/") || isDirectory else { return configured }
        let directory = configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        if !directory.isEmpty && !isDirectory { TextFile.makeDirectories(directory) }
        return "\(directory)/lockvalidator-graph.txt"
    }

    /// Starts a new run: each edge is added, or its last run updated, and `seen` (from → to of learned
    /// orders the process took again) are marked as taken in this run too. A new class is kept with its
    /// site in `classes`, where its first lock was created.
    public mutating func addRun(
        _ edges: [ValidationReport.Edge], classes: [ValidationReport.ClassDescription] = [],
        seen: [(from: String, to: String)]
    ) {
        runs += 1
        let sites = Dictionary(classes.map { ($0.name, $0.site) }) { first, _ in first }
        for edge in edges { add(edge, firstRun: runs, lastRun: runs, classSites: sites) }
        for (from, to) in seen {
            guard let from = indexed.classes[from], let to = indexed.classes[to],
                let at = index!.orders[NumberedOrder.pair(from, to, toRecursiveRead: false)]
            else { continue }
            numberedOrders[at].lastRun = UInt32(runs)
        }
    }

    /// Adds `edge` unless its order is known; a known order keeps its first stack, and the later of the
    /// two last runs.
    mutating func add(
        _ edge: ValidationReport.Edge, firstRun: Int, lastRun: Int, classSites: [String: Site?] = [:]
    ) {
        let from = number(edge.from, site: classSites[edge.from] ?? nil)
        let to = number(edge.to, site: classSites[edge.to] ?? nil)
        let toRecursiveRead = edge.toRecursiveRead == true
        if let at = index!.orders[NumberedOrder.pair(from, to, toRecursiveRead: toRecursiveRead)] {
            numberedOrders[at].lastRun = max(numberedOrders[at].lastRun, UInt32(lastRun))
            // The weaker evidence: one run that took it from a write hold makes it a write hold's order.
            if edge.heldShared != true { numberedOrders[at].heldShared = false }
            return
        }
        let order = NumberedOrder(
            from: from, to: to, fromSite: number(edge.fromAcquiredAt, in: \.sites, \.sites),
            toSite: number(edge.toAcquiredAt, in: \.sites, \.sites), stack: number(edge.stack),
            process: number(edge.process, in: \.processes, \.processes),
            thread: number(edge.thread, in: \.threads, \.threads), firstRun: UInt32(firstRun),
            lastRun: UInt32(lastRun), irql: edge.irql, heldShared: edge.heldShared == true,
            toRecursiveRead: toRecursiveRead)
        index!.orders[order.pair] = numberedOrders.count
        numberedOrders.append(order)
    }

    /// The number of `row` in its table, added if new; `none` for no row.
    private mutating func number<Row: Hashable>(
        _ row: Row?, in table: WritableKeyPath<Self, [Row]>, _ rows: WritableKeyPath<Index, [Row: UInt32]>
    ) -> UInt32 {
        guard let row else { return NumberedOrder.none }
        if let known = indexed[keyPath: rows][row] { return known }
        let number = UInt32(self[keyPath: table].count)
        self[keyPath: table].append(row)
        index![keyPath: rows][row] = number
        return number
    }

    /// The number of `stack`'s innermost frames, added if new; `none` for no stack.
    private mutating func number(_ stack: StackTrace?) -> UInt32 {
        guard let stack else { return NumberedOrder.none }
        let frames = Array(stack.symbolicated().prefix(ValidationReport.Graph.edgeStackDepth))
        let key = Self.stackFields(frames)
        if let known = indexed.stacks[key] { return known }
        stacks.append(StackTrace(frames: frames))
        index!.stacks[key] = UInt32(stacks.count - 1)
        return UInt32(stacks.count - 1)
    }

    /// The number of the class named `name`, added with `site` if new.
    private mutating func number(_ name: String, site: Site?) -> UInt32 {
        if let known = indexed.classes[name] { return known }
        classes.append((name, site))
        index!.classes[name] = UInt32(classes.count - 1)
        return UInt32(classes.count - 1)
    }

    /// The index, made if missing.
    private var indexed: Index {
        mutating get {
            if let index { return index }
            var made = Index()
            func numbered<Row: Hashable>(_ rows: [Row]) -> [Row: UInt32] {
                Dictionary(rows.enumerated().map { ($1, UInt32($0)) }, uniquingKeysWith: { first, _ in first })
            }
            made.processes = numbered(processes)
            made.stacks = numbered(stacks.map { Self.stackFields($0.symbolicated()) })
            made.classes = numbered(classes.map(\.name))
            made.sites = numbered(sites)
            made.threads = numbered(threads)
            made.orders = Dictionary(
                numberedOrders.enumerated().map { ($1.pair, $0) }, uniquingKeysWith: { first, _ in first })
            index = made
            return made
        }
    }

    /// Drops the orders no run has taken in the last `runs` runs, and the processes, stacks, classes,
    /// sites and threads only they named; returns how many orders it dropped.
    @discardableResult
    public mutating func prune(notSeenFor runs: Int) -> Int {
        var kept = LearnedOrderStore()
        kept.runs = self.runs
        kept.index = Index()
        let sites = Dictionary(classes.map { ($0.name, $0.site) }) { first, _ in first }
        for order in orders where self.runs - order.lastRun < runs {
            kept.add(order.edge, firstRun: order.firstRun, lastRun: order.lastRun, classSites: sites)
        }
        let dropped = numberedOrders.count - kept.numberedOrders.count
        self = kept
        return dropped
    }

    /// The store as a report with no violations, for `lockval check` and `merge`: its edges name the
    /// processes that learned them.
    public func asReport(path: String) -> ValidationReport {
        ValidationReport(
            process: ValidationReport.ProcessDescription(pid: 0, executable: path, arguments: []),
            mergedFrom: processes.isEmpty ? nil : processes.sorted { $0.pid < $1.pid },
            config: .init(settings: Configuration(), errors: []), violations: [], suppressed: [],
            graph: .init(
                classes: classes.map { ValidationReport.ClassDescription(name: $0.name, site: $0.site, irqls: []) },
                edges: orders.map(\.edge)),
            chains: 0)
    }
}
