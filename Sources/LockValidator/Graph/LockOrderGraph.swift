/// A directed graph of lock classes kept acyclic by an incremental topological order, the heart of
/// lock-order checking: an edge `A → B` means "B was acquired while A was held".
///
/// Inserting an edge that would close a cycle is refused and answered with the cycle, so the graph
/// stays a DAG and every cycle is found at the moment its closing edge is first taken. The check is
/// Pearce and Kelly's dynamic topological sort (2006): each node has a position in a topological
/// order; an edge that agrees with the order costs O(1), and one that disagrees searches only the
/// nodes whose positions lie between its ends, then reorders just those. No search ever walks the
/// whole graph unless the whole graph lies between the two ends.
///
/// Nodes are dense small integers (lock class ids); `Payload` is what the caller keeps per edge (for
/// the validator, the first stack and sites that created it). Not thread-safe: the caller serializes.
public struct LockOrderGraph<Payload> {
    /// The answer to ``insertEdge(from:to:payload:)``.
    public enum Insertion: Equatable {
        /// The edge is new and now in the graph.
        case inserted
        /// The edge was already in the graph.
        case alreadyPresent
        /// The edge would close a cycle and was not inserted. `path` runs from the edge's head back
        /// to its tail over existing edges (`to → … → from`), so `from → to` plus `path` is the cycle.
        case closesCycle(path: [UInt32])
        /// The edge joins a node to itself; not inserted.
        case selfLoop
    }

    private var position: [Int32] = [0]  // index 0 unused: node ids start at 1
    private var successors: [[UInt32]] = [[]]
    private var predecessors: [[UInt32]] = [[]]
    private var payloads: [UInt64: Payload] = [:]
    private var nextPosition: Int32 = 0

    // Search scratch, reused so that a search allocates only when the graph grew.
    private var visitMark: [UInt32] = [0]
    private var visitEpoch: UInt32 = 0
    private var parent: [UInt32] = [0]
    private var forwardVisited: [UInt32] = []

    public init() {}

    /// The number of nodes seen.
    public var nodeCount: Int { position.count - 1 }

    /// The number of edges in the graph.
    public var edgeCount: Int { payloads.count }

    /// Whether `from → to` is in the graph.
    public func hasEdge(from: UInt32, to: UInt32) -> Bool { payloads[Self.key(from, to)] != nil }

    /// What was kept when `from → to` was inserted.
    public func payload(from: UInt32, to: UInt32) -> Payload? { payloads[Self.key(from, to)] }

    /// The nodes `node` has edges to.
    public func successors(of node: UInt32) -> [UInt32] { Int(node) < successors.count ? successors[Int(node)] : [] }

    /// Every edge with its payload, in no particular order.
    public var edges: [(from: UInt32, to: UInt32, payload: Payload)] {
        payloads.map { (UInt32(truncatingIfNeeded: $0.key >> 32), UInt32(truncatingIfNeeded: $0.key), $0.value) }
    }

    /// Inserts `from → to` unless it is present or would close a cycle; `payload` is evaluated only
    /// when the edge is inserted.
    public mutating func insertEdge(from: UInt32, to: UInt32, payload: @autoclosure () -> Payload) -> Insertion {
        guard from != to else { return .selfLoop }
        let key = Self.key(from, to)
        if payloads[key] != nil { return .alreadyPresent }
        addNode(max(from, to))
        let lower = position[Int(to)]
        let upper = position[Int(from)]
        if lower < upper {
            // The edge disagrees with the order: search the affected region [lower, upper].
            if let path = forwardPath(from: to, reaching: from, bound: upper) { return .closesCycle(path: path) }
            let forward = forwardVisited
            let backward = region(from: from, backwards: true) { $0 >= lower }
            reorder(backward: backward, forward: forward)
        }
        payloads[key] = payload()
        successors[Int(from)].append(to)
        predecessors[Int(to)].append(from)
        return .inserted
    }

    /// Whether `target` can be reached from `source` over edges.
    public mutating func isReachable(_ target: UInt32, from source: UInt32) -> Bool {
        guard source != target else { return true }
        addNode(max(source, target))
        return forwardPath(from: source, reaching: target, bound: Int32.max) != nil
    }

    /// A path `source → … → target` over edges, if there is one.
    public mutating func path(from source: UInt32, to target: UInt32) -> [UInt32]? {
        addNode(max(source, target))
        return forwardPath(from: source, reaching: target, bound: Int32.max)
    }

    /// The nodes reachable from `start` (itself included), following edges forwards or backwards.
    public mutating func reachable(from start: UInt32, backwards: Bool = false) -> [UInt32] {
        addNode(start)
        return region(from: start, backwards: backwards) { _ in true }
    }

    /// Forgets every node and edge.
    public mutating func removeAll() { self = LockOrderGraph() }

    /// Violations of the graph's invariants, empty when it is sound: positions are distinct, every
    /// edge runs forward in the order, and the adjacency lists match the edge set.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        if Set(position.dropFirst()).count != nodeCount { problems.append("positions are not distinct") }
        var listed = 0
        for from in 1..<position.count {
            for to in successors[from] {
                listed += 1
                if position[from] >= position[Int(to)] {
                    problems.append("edge \(from) → \(to) runs backwards (\(position[from]) ≥ \(position[Int(to)]))")
                }
                if payloads[Self.key(UInt32(from), to)] == nil {
                    problems.append("edge \(from) → \(to) has no payload")
                }
                if !predecessors[Int(to)].contains(UInt32(from)) {
                    problems.append("edge \(from) → \(to) missing from predecessors")
                }
            }
        }
        if listed != payloads.count { problems.append("\(listed) listed edges but \(payloads.count) payloads") }
        let predecessorCount = predecessors.reduce(0) { $0 + $1.count }
        if predecessorCount != payloads.count { problems.append("\(predecessorCount) predecessor entries") }
        return problems
    }

    // MARK: Pearce–Kelly

    private static func key(_ from: UInt32, _ to: UInt32) -> UInt64 { UInt64(from) << 32 | UInt64(to) }

    private mutating func addNode(_ node: UInt32) {
        while position.count <= Int(node) {
            position.append(nextPosition)
            nextPosition += 1
            successors.append([])
            predecessors.append([])
            visitMark.append(0)
            parent.append(0)
        }
    }

    private mutating func beginVisit() {
        visitEpoch &+= 1
        if visitEpoch == 0 {  // wrapped: clear the marks once every 2^32 searches
            for index in visitMark.indices { visitMark[index] = 0 }
            visitEpoch = 1
        }
    }

    /// Depth-first search forwards from `start` over nodes positioned at or before `bound`; returns the
    /// path `start → … → target` if `target` is reached. Leaves the visited nodes in `forwardVisited`.
    private mutating func forwardPath(from start: UInt32, reaching target: UInt32, bound: Int32) -> [UInt32]? {
        beginVisit()
        var stack: [UInt32] = [start]
        visitMark[Int(start)] = visitEpoch
        parent[Int(start)] = 0
        forwardVisited.removeAll(keepingCapacity: true)
        while let node = stack.popLast() {
            forwardVisited.append(node)
            if node == target {
                var path: [UInt32] = [node]
                var step = node
                while step != start {
                    step = parent[Int(step)]
                    path.append(step)
                }
                return path.reversed()
            }
            for next in successors[Int(node)] where visitMark[Int(next)] != visitEpoch && position[Int(next)] <= bound {
                visitMark[Int(next)] = visitEpoch
                parent[Int(next)] = node
                stack.append(next)
            }
        }
        return nil
    }

    /// The nodes reachable from `start` (itself included) forwards or backwards, through nodes that
    /// satisfy `include`.
    private mutating func region(
        from start: UInt32, backwards: Bool, through include: (Int32) -> Bool
    ) -> [UInt32] {
        beginVisit()
        var stack: [UInt32] = [start]
        var found: [UInt32] = []
        visitMark[Int(start)] = visitEpoch
        while let node = stack.popLast() {
            found.append(node)
            for next in backwards ? predecessors[Int(node)] : successors[Int(node)]
            where visitMark[Int(next)] != visitEpoch && include(position[Int(next)]) {
                visitMark[Int(next)] = visitEpoch
                stack.append(next)
            }
        }
        return found
    }

    /// Gives the backward region the lowest of the affected positions and the forward region the
    /// rest, each keeping its internal order.
    private mutating func reorder(backward: [UInt32], forward: [UInt32]) {
        let byPosition = { (a: UInt32, b: UInt32) in self.position[Int(a)] < self.position[Int(b)] }
        let nodes = backward.sorted(by: byPosition) + forward.sorted(by: byPosition)
        let slots = nodes.map { position[Int($0)] }.sorted()
        for (node, slot) in zip(nodes, slots) { position[Int(node)] = slot }
    }
}
