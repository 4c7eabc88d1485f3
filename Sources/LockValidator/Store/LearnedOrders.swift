#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// This process's side of `LOCKVALIDATOR_GRAPH`: the ``LearnedOrderStore`` loaded once and put into the
/// lock-order graph (classes matched by name), and this process's orders added to it at exit.
///
/// A store that cannot be read (cut off, malformed, not a store) is one warning line; it is neither
/// used nor overwritten, so that nothing another run learned is lost to a bad write.
enum LearnedOrders {
    /// Reads the store at `path`: an empty store when there is no file yet.
    static func read(_ path: String) throws(ReportFileError) -> LearnedOrderStore {
        access(path, F_OK) == 0 ? try LearnedOrderStore.load(from: path) : LearnedOrderStore()
    }

    /// The store as loaded at start: nil without `LOCKVALIDATOR_GRAPH`, or when it could not be read.
    private static let loaded: (path: String, store: LearnedOrderStore?)? = {
        guard let configured = ConfigurationStore.loaded.configuration.learnedOrderStorePath else { return nil }
        let path = LearnedOrderStore.file(for: configured)
        do {
            return (path, try read(path))
        } catch {
            printToStandardError("LockValidator: LOCKVALIDATOR_GRAPH: \(error); the store is ignored and left as it is")
            return (path, nil)
        }
    }()

    /// The graph nodes of each learned order's classes, made (or found) by name.
    private static let seeds: [(from: UInt32, to: UInt32)] = {
        guard let store = loaded?.store else { return [] }
        var made: [String: LockClass] = [:]
        func lockClass(_ name: String, _ site: SourceSite) -> LockClass {
            if let known = made[name] { return known }
            let lockClass = LockClass.named(name, site: site)
            made[name] = lockClass
            return lockClass
        }
        // Classes are made in a topological order of the learned orders, so that each order agrees with
        // the graph's order when inserted and costs O(1), not a search and a reordering.
        for (name, site) in topologicalOrder(store.orders) { _ = lockClass(name, site) }
        return store.orders.map { order in
            let from = lockClass(order.edge.from, order.edge.fromAcquiredAt)
            let to = lockClass(order.edge.to, order.edge.toAcquiredAt)
            // Past the class cap, a name gets the one untracked class: no order of it is kept.
            return from.isOverflow || to.isOverflow ? (0, 0) : (from.id, to.id)
        }
    }()

    /// The classes of `orders`, each before every class it is ordered before (Kahn's algorithm); the
    /// classes of cycles, which have no such order, last.
    private static func topologicalOrder(_ orders: [LearnedOrderStore.Order]) -> [(String, SourceSite)] {
        var numbers: [String: Int] = [:]
        var classes: [(String, SourceSite)] = []
        func number(_ name: String, _ site: SourceSite) -> Int {
            if let known = numbers[name] { return known }
            numbers[name] = classes.count
            classes.append((name, site))
            return classes.count - 1
        }
        let edges = orders.map {
            (number($0.edge.from, $0.edge.fromAcquiredAt), number($0.edge.to, $0.edge.toAcquiredAt))
        }
        var successors = [[Int]](repeating: [], count: classes.count)
        var incoming = [Int](repeating: 0, count: classes.count)
        for (from, to) in edges {
            successors[from].append(to)
            incoming[to] += 1
        }
        var ready = classes.indices.filter { incoming[$0] == 0 }
        var sorted: [Int] = []
        while let next = ready.popLast() {
            sorted.append(next)
            for successor in successors[next] {
                incoming[successor] -= 1
                if incoming[successor] == 0 { ready.append(successor) }
            }
        }
        sorted += classes.indices.filter { incoming[$0] > 0 }
        return sorted.map { classes[$0] }
    }

    /// Classes that exist only because a learned order names them.
    static let seededClassIDs: Set<UInt32> = Set(seeds.flatMap { [$0.from, $0.to] })

    /// Puts the learned orders into a fresh graph state.
    static func seed(_ state: inout LockOrder.State) {
        guard let store = loaded?.store else { return }
        var tables = LockOrder.State.LearnedTables()
        for (order, (from, to)) in zip(store.orders, seeds) where from != 0 {
            state.addLearned(from: from, to: to, order.edge, interning: &tables)
        }
    }

    /// At exit: adds this process's orders to the store, under a lock on its directory, so that
    /// processes ending at once add one after another.
    static func writeBack() {
        guard let loaded, loaded.store != nil else { return }
        var (edges, retaken) = LockOrder.learnedThisRun
        let process = ValidationReport.ProcessDescription.current
        for index in edges.indices { edges[index].process = process }
        // Names and lines are looked up (child processes) before the lock, never while holding it.
        _ = Symbolizer.resolve(
            ReportWriter.edgeStackAddresses(ValidationReport.Graph(classes: [], edges: edges)), locations: true)
        let problem = DirectoryLock.withLock(containing: loaded.path) { () -> String? in
            do {
                var store = try read(loaded.path)
                store.addRun(edges, seen: retaken)
                try TextFile.writeAtomically(store.text(), to: loaded.path)
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let problem { printToStandardError("LockValidator: LOCKVALIDATOR_GRAPH: \(problem); nothing was added") }
    }
}
