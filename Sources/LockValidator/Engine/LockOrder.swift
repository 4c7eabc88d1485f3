import _LockValidatorShims

/// What the validator has learned about lock order across all threads: the class lock-order graph,
/// with a record per edge of where and by whom it was first taken. A thread reaches it only for a
/// chain of held classes no thread has validated before (`LockOrder+NewChain.swift`).
@usableFromInline
enum LockOrder {
    /// The graph lock: the one global lock of the validator's lock-order checks, taken only on slow paths.
    static let state = InternalLock(State.seeded())

    /// Every edge of the lock-order graph, as reports show it.
    static var edges: [DependencyEdge] {
        let classes = LockClass.byID
        return state.withLock { state in
            state.shownEdges(classes: classes).map {
                state.edge(from: $0.from, to: $0.to, $0.record, classes: classes)
            }
        }
    }

    /// The graph as reports keep it: names, first sites, threads and stacks; sorted.
    static var graphEdges: [ValidationReport.Edge] {
        edges.map(ValidationReport.Edge.init).sorted { ($0.from, $0.to) < ($1.from, $1.to) }
    }

    /// What this process adds to a learned-order store: the orders it took (those it loaded and took
    /// again with this run's record, which says whether a read hold took them: the store keeps the
    /// weaker), and the names of the loaded ones it took again.
    static var learnedThisRun: (edges: [ValidationReport.Edge], retaken: [(from: String, to: String)]) {
        let classes = LockClass.byID
        let retaken = state.withLock { $0.retaken }
        let names = retaken.map { key in
            (classes[UInt32(key >> 32)]?.name ?? "", classes[UInt32(truncatingIfNeeded: key)]?.name ?? "")
        }
        return (storable(graphEdges, classes), names)
    }

    /// `edges` as a store keeps them: an order into a class's recursive-readers node (reports name it
    /// `"<class> (read)"`) under the class's own name and flagged, so that a later process puts it into its
    /// own readers node of that class, where a cycle through the recursive read closes.
    private static func storable(_ edges: [ValidationReport.Edge], _ classes: [UInt32: LockClass])
        -> [ValidationReport.Edge]
    {
        let readersNames = Dictionary(
            classes.values.compactMap { lockClass in lockClass.readersOf.map { (lockClass.name, $0.name) } }
        ) { first, _ in first }
        guard !readersNames.isEmpty else { return edges }
        return edges.map { edge in
            guard let base = readersNames[edge.to] else { return edge }
            var stored = edge
            stored.to = base
            stored.toRecursiveRead = true
            return stored
        }
    }

    /// The graph's edges along `orders` (learned ones too), as reports show them; nil when one is missing.
    static func dependencyEdges(along orders: [(from: UInt32, to: UInt32)]) -> [DependencyEdge]? {
        let classes = LockClass.byID
        return state.withLock { state in
            var edges: [DependencyEdge] = []
            for order in orders {
                guard let record = state.record(from: order.from, to: order.to) else { return nil }
                edges.append(state.edge(from: order.from, to: order.to, record, classes: classes))
            }
            return edges
        }
    }

    /// The number of validated chains (validations, once the bounded cache was emptied), read under the
    /// graph lock that inserts them.
    static var chainCount: Int { state.withLock { _ in ChainCache.validatedCount } }

    /// The graph's invariant violations (for tests): empty when sound.
    static func invariantViolations() -> [String] { state.withLock { $0.graph.invariantViolations() } }

    /// Forgets the graph, the validated chains, every class's IRQL usage and every lock's statistics.
    static func reset() {
        let classes = LockClass.all
        state.withLock { state in
            state = state.keepingLearnedOrders()
            ChainCache.removeAll()
            LockStatisticsArena.resetAll()
        }
        IRQLUsage.reset(classes)
        Capacity.reset()
    }
}
