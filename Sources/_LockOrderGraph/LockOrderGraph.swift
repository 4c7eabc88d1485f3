import _LockValidatorShims

/// A directed graph of lock classes, the heart of lock-order checking: an edge `A → B` means "B was
/// acquired while A was held". Every cycle is found at the moment the edge that closes it is first
/// taken, and answered with the path that the edge closes.
///
/// The graph is an acyclic core kept in an incremental topological order, plus the few edges that
/// closed a cycle. The check is Pearce and Kelly's dynamic topological sort (2006): each node has a
/// position; an edge that agrees with the order costs O(1), and one that disagrees searches only the
/// nodes whose positions lie between its ends, then reorders just those. No search walks the whole
/// graph unless the whole graph lies between the two ends.
///
/// An edge that closes a cycle is kept too, outside the order (a *cycle edge*): a later edge that
/// closes a different cycle through it is still found. Each such edge is a reported bug, so there
/// are few; while there are any, a new edge also searches, forwards from its head, the nodes that can
/// still lead back to its tail: those at or before its tail's position or some cycle edge's tail's
/// (an order-respecting path only moves forwards, so it can turn back only through a cycle edge).
///
/// Nodes are dense small integers (lock class ids). Edges are numbered in the order they were inserted
/// (0, 1, 2, …), so that the caller keeps what it knows about an edge (for the validator, the first stack
/// and sites that created it) in an array at that index, as Abseil's graphcycles leaves its nodes' data to
/// its caller. Not thread-safe: the caller serializes.
public struct LockOrderGraph: Sendable {
    /// The answer to ``insertEdge(from:to:)``.
    public enum Insertion: Equatable, Sendable {
        /// The edge is new and now in the graph, numbered `edgeCount - 1`.
        case inserted
        /// The edge was already in the graph.
        case alreadyPresent
        /// The edge is new, now in the graph (numbered `edgeCount - 1`), and closes a cycle. `path` runs from the edge's head back
        /// to its tail over other edges (`to → … → from`), so `from → to` plus `path` is the cycle.
        case closesCycle(path: [UInt32])
        /// The edge joins a node to itself; not inserted.
        case selfLoop
    }

    /// What the graph keeps per node, side by side: a new edge or a search step touches one cache
    /// line of a node, not one in each of five arrays. Index 0 is unused: node ids start at 1.
    @usableFromInline var nodes: MappedBuffer<Node> = [Node(position: 0)]
    private(set) var lists = AdjacencyLists()
    private var cycleSuccessors: [UInt32: [UInt32]] = [:]  // cycle edges, outside the order
    private var cyclePredecessors: [UInt32: [UInt32]] = [:]
    /// Each edge's number by `from << 32 | to`, and its key by number: 4 bytes a slot (at most two thirds
    /// full) and 8 an edge.
    @usableFromInline var edgeNumbers = EdgeIndex()
    /// The number of edges in the graph, cycle edges included; the next edge's number.
    public private(set) var edgeCount = 0
    private var nextPosition: Int32 = 0

    // Search scratch, reused so that a search allocates only when the graph grew.
    private var visitEpoch: UInt32 = 0
    private var forwardVisited: [UInt32] = []
    private var searchStack: [UInt32] = []
    private var backwardVisited: [UInt32] = []
    private var reorderKeys: [UInt64] = []

    public init() {}

    /// Where the graph keeps a node's record and an edge's index slot, for prefetching them.
    @inlinable
    public var prefetchLayout: PrefetchLayout {
        PrefetchLayout(
            nodes: UInt(bitPattern: nodes.base),
            nodeCount: nodes.count, nodeStride: MemoryLayout<Node>.stride, edges: edgeNumbers.probeLayout)
    }

    public struct PrefetchLayout: Sendable {
        public var nodes: UInt
        public var nodeCount: Int
        public var nodeStride: Int
        public var edges: (base: UInt, slots: Int)

        @inlinable
        public init(nodes: UInt, nodeCount: Int, nodeStride: Int, edges: (base: UInt, slots: Int)) {
            (self.nodes, self.nodeCount, self.nodeStride, self.edges) = (nodes, nodeCount, nodeStride, edges)
        }

        /// The lines a new edge `from → to` reads first: both nodes' records and the edge's index slot.
        @inlinable
        public func addresses(from: UInt32, to: UInt32) -> (UInt, UInt, UInt)? {
            guard Int(max(from, to)) < nodeCount, nodes != 0 else { return nil }
            return (
                nodes &+ UInt(from) &* UInt(nodeStride), nodes &+ UInt(to) &* UInt(nodeStride),
                EdgeIndex.firstProbe(of: UInt64(from) << 32 | UInt64(to), in: edges)
            )
        }
    }

    /// Asks for the ends of the two adjacency lists a new edge `from → to` appends to, ahead of the
    /// work before the append (the edge's record). Mutating though it writes nothing: a non-mutating call
    /// from another module on a graph kept inside another struct copied the whole graph (memcpy) first.
    public mutating func prefetchLists(from: UInt32, to: UInt32) {
        guard Int(max(from, to)) < nodes.count else { return }
        lv_prefetch(lists.endAddress(of: nodes[Int(from)].successors))
        lv_prefetch(lists.endAddress(of: nodes[Int(to)].predecessors))
    }

    /// The number of nodes seen.
    public var nodeCount: Int { nodes.count - 1 }

    /// Makes room for `count` edges in all, so that inserting many at once grows no table.
    public mutating func reserveCapacity(edges count: Int) {
        edgeNumbers.reserveCapacity(count)
    }

    /// The number of edges that closed a cycle when inserted.
    public var cycleEdgeCount: Int { cycleSuccessors.values.reduce(0) { $0 + $1.count } }

    /// Whether `from → to` is in the graph.
    public func hasEdge(from: UInt32, to: UInt32) -> Bool { edgeNumbers[Self.key(from, to)] != nil }

    /// The number of `from → to`, if it is in the graph.
    @inlinable
    public func edgeNumber(from: UInt32, to: UInt32) -> UInt32? { edgeNumbers[Self.key(from, to)] }

    /// The nodes `node` has edges to.
    public func successors(of node: UInt32) -> [UInt32] {
        (Int(node) < nodes.count ? lists.elements(of: nodes[Int(node)].successors) : []) + (cycleSuccessors[node] ?? [])
    }

    /// Every edge with its number, by number (the order of insertion).
    public var edges: [(from: UInt32, to: UInt32, number: UInt32)] {
        edgeNumbers.keys.enumerated().map {
            (UInt32(truncatingIfNeeded: $0.element >> 32), UInt32(truncatingIfNeeded: $0.element), UInt32($0.offset))
        }
    }

    /// Inserts `from → to` unless it is present; a new edge is numbered `edgeCount - 1` after it.
    public mutating func insertEdge(from: UInt32, to: UInt32) -> Insertion {
        guard from != to else { return .selfLoop }
        let key = Self.key(from, to)
        if edgeNumbers[key] != nil { return .alreadyPresent }
        addNode(max(from, to))
        let lower = nodes[Int(to)].position
        let upper = nodes[Int(from)].position
        if lower < upper {
            // The edge disagrees with the order: search the affected region [lower, upper].
            if let path = forwardPath(from: to, reaching: from, bound: upper, throughCycleEdges: false) {
                number(key)
                cycleSuccessors[from, default: []].append(to)
                cyclePredecessors[to, default: []].append(from)
                return .closesCycle(path: path)
            }
            let forward = forwardVisited
            var backward = backwardVisited
            backwardVisited = []
            region(from: from, backwards: true, throughCycleEdges: false, into: &backward) { $0 >= lower }
            reorder(backward: backward, forward: forward)
            backwardVisited = backward
        }
        number(key)
        lists.append(to, to: &nodes[Int(from)].successors)
        lists.append(from, to: &nodes[Int(to)].predecessors)
        if _slowPath(lists.compactionDue) { compactLists() }
        if !cycleSuccessors.isEmpty, let path = pathThroughCycleEdges(from: to, to: from) {
            return .closesCycle(path: path)
        }
        return .inserted
    }

    /// Packs the adjacency lists into a fresh array, dropping the chunks lists left behind as they grew.
    private mutating func compactLists() {
        var moved = nodes  // out of `self`, so that the closure below may change it while `lists` changes
        nodes = []
        lists.compact { move in
            for index in moved.indices {
                move(&moved[index].successors)
                move(&moved[index].predecessors)
            }
        }
        nodes = moved
    }

    private mutating func number(_ key: UInt64) {
        edgeNumbers.append(key)
        edgeCount += 1
    }

    /// Whether `target` can be reached from `source` over edges.
    public mutating func isReachable(_ target: UInt32, from source: UInt32) -> Bool {
        guard source != target else { return true }
        return path(from: source, to: target) != nil
    }

    /// A path `source → … → target` over edges, if there is one.
    public mutating func path(from source: UInt32, to target: UInt32) -> [UInt32]? {
        addNode(max(source, target))
        return forwardPath(from: source, reaching: target, bound: Int32.max, throughCycleEdges: true)
    }

    /// The nodes reachable from `start` (itself included), following edges forwards or backwards.
    public mutating func reachable(from start: UInt32, backwards: Bool = false) -> [UInt32] {
        addNode(start)
        var found: [UInt32] = []
        region(from: start, backwards: backwards, throughCycleEdges: true, into: &found) { _ in true }
        return found
    }

    /// Forgets every node and edge.
    public mutating func removeAll() { self = LockOrderGraph() }

    /// Violations of the graph's invariants, empty when it is sound: positions are distinct, every
    /// edge of the core runs forward in the order, every cycle edge closes a cycle, and the adjacency
    /// lists match the edge set.
    public mutating func invariantViolations() -> [String] {
        var problems: [String] = []
        if Set(nodes.dropFirst().map(\.position)).count != nodeCount { problems.append("positions are not distinct") }
        var listed = 0
        for from in 1..<nodes.count {
            for to in lists.elements(of: nodes[from].successors) {
                listed += 1
                if nodes[from].position >= nodes[Int(to)].position {
                    problems.append(
                        "edge \(from) → \(to) runs backwards (\(nodes[from].position) ≥ \(nodes[Int(to)].position))")
                }
                if edgeNumbers[Self.key(UInt32(from), to)] == nil {
                    problems.append("edge \(from) → \(to) has no number")
                }
                if !lists.elements(of: nodes[Int(to)].predecessors).contains(UInt32(from)) {
                    problems.append("edge \(from) → \(to) missing from predecessors")
                }
            }
        }
        for (from, heads) in cycleSuccessors {
            for to in heads {
                listed += 1
                if edgeNumbers[Self.key(from, to)] == nil {
                    problems.append("cycle edge \(from) → \(to) has no number")
                }
                if cyclePredecessors[to]?.contains(from) != true {
                    problems.append("cycle edge \(from) → \(to) missing from cycle predecessors")
                }
                if lists.elements(of: nodes[Int(from)].successors).contains(to) {
                    problems.append("edge \(from) → \(to) is listed twice")
                }
                if forwardPath(from: to, reaching: from, bound: Int32.max, throughCycleEdges: true) == nil {
                    problems.append("cycle edge \(from) → \(to) closes no cycle")
                }
            }
        }
        if listed != edgeCount { problems.append("\(listed) listed edges but \(edgeCount) numbered") }
        let indexed = edgeNumbers.keys.indices.filter { edgeNumbers[edgeNumbers.keys[$0]] == UInt32($0) }.count
        if edgeNumbers.count != edgeCount || indexed != edgeCount {
            problems.append("\(edgeNumbers.count) edge numbers for \(edgeCount) edges, not 0..<\(edgeCount)")
        }
        let corePredecessors = nodes.reduce(0) { $0 + Int($1.predecessors.count) }
        let predecessorCount = corePredecessors + cyclePredecessors.values.reduce(0) { $0 + $1.count }
        if predecessorCount != edgeCount { problems.append("\(predecessorCount) predecessor entries") }
        problems += lists.invariantViolations(lists: nodes.flatMap { [$0.successors, $0.predecessors] })
        return problems
    }

    // MARK: Pearce–Kelly

    @inlinable
    static func key(_ from: UInt32, _ to: UInt32) -> UInt64 { UInt64(from) << 32 | UInt64(to) }

    private mutating func addNode(_ node: UInt32) {
        while nodes.count <= Int(node) {
            nodes.append(Node(position: nextPosition))
            nextPosition += 1
        }
    }

    @usableFromInline
    struct Node: Sendable {
        /// The node's place in the topological order of the acyclic core.
        var position: Int32
        /// The search that last visited the node (`visitEpoch`), and the node it was reached from.
        var visitMark: UInt32 = 0
        var parent: UInt32 = 0
        /// The acyclic core's edges from and to the node.
        var successors = AdjacencyLists.List()
        var predecessors = AdjacencyLists.List()
        /// Makes the record 32 bytes, so that no record straddles two cache lines.
        private let padding: UInt32 = 0

        init(position: Int32) { self.position = position }
    }

    private mutating func beginVisit() {
        visitEpoch &+= 1
        if visitEpoch == 0 {  // wrapped: clear the marks once every 2^32 searches
            for index in nodes.indices { nodes[index].visitMark = 0 }
            visitEpoch = 1
        }
    }

    /// A path `start → … → target` that turns back through a cycle edge, searching only the nodes
    /// that can still lead to `target`.
    private mutating func pathThroughCycleEdges(from start: UInt32, to target: UInt32) -> [UInt32]? {
        // An order-respecting stretch of a path only moves forwards, and it ends at the target or at a
        // cycle edge's tail: nodes past all of those lead nowhere useful.
        var bound = nodes[Int(target)].position
        for tail in cycleSuccessors.keys { bound = max(bound, nodes[Int(tail)].position) }
        guard nodes[Int(start)].position <= bound else { return nil }
        return forwardPath(from: start, reaching: target, bound: bound, throughCycleEdges: true)
    }

    /// Depth-first search forwards from `start` over nodes positioned at or before `bound`; returns the
    /// path `start → … → target` if `target` is reached. Leaves the visited nodes in `forwardVisited`.
    private mutating func forwardPath(
        from start: UInt32, reaching target: UInt32, bound: Int32, throughCycleEdges: Bool
    ) -> [UInt32]? {
        beginVisit()
        var stack = takeSearchStack(start)
        defer { searchStack = stack }
        nodes[Int(start)].visitMark = visitEpoch
        nodes[Int(start)].parent = 0
        forwardVisited.removeAll(keepingCapacity: true)
        while let node = stack.popLast() {
            forwardVisited.append(node)
            if node == target {
                var path: [UInt32] = [node]
                var step = node
                while step != start {
                    step = nodes[Int(step)].parent
                    path.append(step)
                }
                return path.reversed()
            }
            let successors = nodes[Int(node)].successors
            for index in 0..<Int(successors.count) {
                let next = lists[successors, index]
                guard nodes[Int(next)].visitMark != visitEpoch && nodes[Int(next)].position <= bound else { continue }
                nodes[Int(next)].visitMark = visitEpoch
                nodes[Int(next)].parent = node
                stack.append(next)
            }
            guard throughCycleEdges, let heads = cycleSuccessors[node] else { continue }
            for next in heads where nodes[Int(next)].visitMark != visitEpoch && nodes[Int(next)].position <= bound {
                nodes[Int(next)].visitMark = visitEpoch
                nodes[Int(next)].parent = node
                stack.append(next)
            }
        }
        return nil
    }

    /// The search stack, emptied, holding `start`: reused, so that a search allocates only when the
    /// graph grew.
    private mutating func takeSearchStack(_ start: UInt32) -> [UInt32] {
        var stack = searchStack
        searchStack = []
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        return stack
    }

    /// The nodes reachable from `start` (itself included) forwards or backwards, through nodes that
    /// satisfy `include`, in `found` (emptied first).
    private mutating func region(
        from start: UInt32, backwards: Bool, throughCycleEdges: Bool, into found: inout [UInt32],
        through include: (Int32) -> Bool
    ) {
        beginVisit()
        var stack = takeSearchStack(start)
        defer { searchStack = stack }
        found.removeAll(keepingCapacity: true)
        nodes[Int(start)].visitMark = visitEpoch
        func visit(_ neighbour: UInt32) {
            guard nodes[Int(neighbour)].visitMark != visitEpoch && include(nodes[Int(neighbour)].position) else {
                return
            }
            nodes[Int(neighbour)].visitMark = visitEpoch
            stack.append(neighbour)
        }
        while let node = stack.popLast() {
            found.append(node)
            let neighbours = backwards ? nodes[Int(node)].predecessors : nodes[Int(node)].successors
            for index in 0..<Int(neighbours.count) { visit(lists[neighbours, index]) }
            guard throughCycleEdges, let heads = backwards ? cyclePredecessors[node] : cycleSuccessors[node] else {
                continue
            }
            for neighbour in heads { visit(neighbour) }
        }
    }

    /// Gives the backward region the lowest of the affected positions and the forward region the
    /// rest, each keeping its internal order.
    private mutating func reorder(backward: [UInt32], forward: [UInt32]) {
        // Each node with its position in one integer, position high: sorting those needs no closure.
        var keys = reorderKeys
        reorderKeys = []
        defer { reorderKeys = keys }
        keys.removeAll(keepingCapacity: true)
        for node in backward { keys.append(UInt64(UInt32(bitPattern: nodes[Int(node)].position)) << 32 | UInt64(node)) }
        for node in forward { keys.append(UInt64(UInt32(bitPattern: nodes[Int(node)].position)) << 32 | UInt64(node)) }
        keys.withUnsafeMutableBufferPointer { keys in  // in place: sorting an array slice copies it
            var run = UnsafeMutableBufferPointer(rebasing: keys[..<backward.count])
            run.sort()
            run = UnsafeMutableBufferPointer(rebasing: keys[backward.count...])
            run.sort()
        }
        // The affected positions in order are the two sorted runs merged; the nodes take them in turn,
        // the backward run first.
        var (inBackward, inForward) = (0, backward.count)
        for key in keys {
            let nextBackward = inBackward < backward.count ? keys[inBackward] >> 32 : UInt64.max
            let nextForward = inForward < keys.count ? keys[inForward] >> 32 : UInt64.max
            let slot: UInt64
            if nextBackward < nextForward {
                slot = nextBackward
                inBackward += 1
            } else {
                slot = nextForward
                inForward += 1
            }
            nodes[Int(UInt32(truncatingIfNeeded: key))].position = Int32(bitPattern: UInt32(truncatingIfNeeded: slot))
        }
    }
}
