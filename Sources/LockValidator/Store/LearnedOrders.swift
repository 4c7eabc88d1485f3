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

    /// The graph node of each of the store's classes, by its number; 0 past the class cap (the one
    /// untracked class, of which no order is kept).
    private static let classIDs: [UInt32] = {
        guard let store = loaded?.store else { return [] }
        // Classes are made in a topological order of the learned orders, so that each order agrees with
        // the graph's order when inserted and costs O(1), not a search and a reordering.
        let sorted = topologicalOrder(classCount: store.classes.count, store.numberedOrders)
        var ids = [UInt32](repeating: 0, count: store.classes.count)
        for (number, lockClass) in zip(sorted, LockClass.named(sorted.map { store.classes[$0] }))
        where !lockClass.isOverflow {
            ids[number] = lockClass.id
        }
        return ids
    }()

    /// The class numbers, each before every class it is ordered before (Kahn's algorithm); the classes
    /// of cycles, which have no such order, last.
    private static func topologicalOrder(
        classCount: Int, _ orders: [LearnedOrderStore.NumberedOrder]
    ) -> [Int] {
        var successors = [[Int]](repeating: [], count: classCount)
        var incoming = [Int](repeating: 0, count: classCount)
        for order in orders {
            successors[Int(order.from)].append(Int(order.to))
            incoming[Int(order.to)] += 1
        }
        var ready = (0..<classCount).filter { incoming[$0] == 0 }
        var sorted: [Int] = []
        sorted.reserveCapacity(classCount)
        while let next = ready.popLast() {
            sorted.append(next)
            for successor in successors[next] {
                incoming[successor] -= 1
                if incoming[successor] == 0 { ready.append(successor) }
            }
        }
        return sorted + (0..<classCount).filter { incoming[$0] > 0 }
    }

    /// Classes that exist only because a learned order names them.
    static let seededClassIDs: Set<UInt32> = Set(classIDs.filter { $0 != 0 })

    /// Puts the learned orders into a fresh graph state.
    static func seed(_ state: inout LockOrder.State) {
        guard let store = loaded?.store else { return }
        state.addLearned(store, classIDs: classIDs)
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
