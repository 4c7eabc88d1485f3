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

    /// The store's file, and whether it could be read at start: nil without `LOCKVALIDATOR_GRAPH`. A
    /// store that could not be read is not written at exit either.
    private static let loaded: (path: String, readable: Bool)? = {
        guard let configured = ConfigurationStore.loaded.configuration.learnedOrderStorePath else { return nil }
        let path = LearnedOrderStore.file(for: configured)
        do {
            let store = try read(path)
            if !store.droppedLines.isEmpty {
                printToStandardError(
                    "LockValidator: LOCKVALIDATOR_GRAPH: \(path): \(store.droppedLines.count) part"
                        + "\(store.droppedLines.count == 1 ? "" : "s") dropped (\(store.droppedLines.prefix(3).joined(separator: "; "))"
                        + "\(store.droppedLines.count > 3 ? "; …" : "")); the rest is used, and the store is written whole"
                        + " at exit")
            }
            storeAtStart.withLock { $0 = store }
            return (path, true)
        } catch {
            printToStandardError("LockValidator: LOCKVALIDATOR_GRAPH: \(error); the store is ignored and left as it is")
            return (path, false)
        }
    }()

    /// The store read at start, until the first graph state takes its orders; then nil, because the
    /// graph holds them and `LockValidator.reset()` keeps them from there.
    private static let storeAtStart = InternalLock<LearnedOrderStore?>(nil)

    /// Classes that exist only because a learned order names them.
    private static let learnedClasses = InternalLock<Set<UInt32>>([])
    static var seededClassIDs: Set<UInt32> { learnedClasses.withLock { $0 } }

    /// Puts the store's orders into the first graph state (classes made, or found, by name).
    static func seed(_ state: inout LockOrder.State) {
        guard loaded?.readable == true, let store = storeAtStart.withLock({ $0.take() }) else { return }
        // The store names classes; a pthread lock's class is named once shown, unless a store is in use.
        LockClass.nameEveryClassFromNowOn()
        let classIDs = classIDs(of: store)
        learnedClasses.withLock { $0 = Set(classIDs.filter { $0 != 0 }) }
        state.addLearned(store, classIDs: classIDs)
    }

    /// The graph node of each of the store's classes, by its number; 0 past the class cap (the one
    /// untracked class, of which no order is kept).
    private static func classIDs(of store: LearnedOrderStore) -> [UInt32] {
        // Classes are made in a topological order of the learned orders, so that each order agrees with
        // the graph's order when inserted and costs O(1), not a search and a reordering.
        let sorted = topologicalOrder(classCount: store.classes.count, store.numberedOrders)
        var ids = [UInt32](repeating: 0, count: store.classes.count)
        for (number, lockClass) in zip(sorted, LockClass.named(sorted.map { store.classes[$0] }))
        where !lockClass.isOverflow {
            ids[number] = lockClass.id
        }
        return ids
    }

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

    /// At exit: adds this process's orders to the store, under a lock on its directory, so that
    /// processes ending at once add one after another.
    static func writeBack() {
        guard let loaded, loaded.readable else { return }
        var (edges, retaken) = LockOrder.learnedThisRun
        let process = ValidationReport.ProcessDescription.current
        for index in edges.indices { edges[index].process = process }
        let classes = LockClass.all.map { ValidationReport.ClassDescription(name: $0.name, site: $0.site, irqls: []) }
        // Names and lines are looked up (child processes) before the lock, never while holding it.
        _ = Symbolizer.resolve(
            ReportWriter.edgeStackAddresses(ValidationReport.Graph(classes: [], edges: edges)), locations: true)
        let problem = DirectoryLock.withLock(containing: loaded.path) { () -> String? in
            do {
                var store = try read(loaded.path)
                store.addRun(edges, classes: classes, seen: retaken)
                try TextFile.writeAtomically(bytes: store.encoded(), to: loaded.path)
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let problem { printToStandardError("LockValidator: LOCKVALIDATOR_GRAPH: \(problem); nothing was added") }
    }
}
