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

    /// What this process adds to a learned-order store: the orders it took (not those it loaded), and
    /// the loaded ones it took again. A loaded order learned from read holds that this process took from
    /// a write hold is among the edges too, not held for reading: the store keeps the weaker of the two.
    static var learnedThisRun: (edges: [ValidationReport.Edge], retaken: [(from: String, to: String)]) {
        let classes = LockClass.byID
        let (retaken, nowExclusive) = state.withLock { state in
            let exclusive = state.retaken.compactMap { key -> DependencyEdge? in
                let (from, to) = (UInt32(key >> 32), UInt32(truncatingIfNeeded: key))
                guard let record = state.record(from: from, to: to), record.heldShared,
                    !state.takenOnlyFromReadHolds(from: from, to: to, record)
                else { return nil }
                return state.edge(from: from, to: to, record, classes: classes)
            }
            return (state.retaken, exclusive)
        }
        let names = retaken.map { key in
            (classes[UInt32(key >> 32)]?.name ?? "", classes[UInt32(truncatingIfNeeded: key)]?.name ?? "")
        }
        return (graphEdges + nowExclusive.map(ValidationReport.Edge.init), names)
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
