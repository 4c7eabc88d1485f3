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
        guard access(path, F_OK) == 0 else { return LearnedOrderStore() }
        guard let text = TextFile.read(path) else {
            throw ReportFileError(description: "\(path): cannot read the file (unreadable)")
        }
        return try LearnedOrderStore(parsing: text, from: path)
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

    /// The classes made for learned orders, by name, and the processes that learned them.
    private static let seeds: [(from: LockClass, to: LockClass, edge: ValidationReport.Edge)] = {
        guard let store = loaded?.store else { return [] }
        return store.orders.map { order in
            let edge = order.edge
            return (
                LockClass.named(edge.from, site: edge.fromAcquiredAt),
                LockClass.named(edge.to, site: edge.toAcquiredAt), edge
            )
        }
    }()

    /// Classes that exist only because a learned order names them.
    static let seededClassIDs: Set<UInt32> = Set(seeds.flatMap { [$0.from.id, $0.to.id] })

    /// Puts the learned orders into a fresh graph state.
    static func seed(_ state: inout LockOrder.State) {
        var origins: [ValidationReport.ProcessDescription?: UInt16] = [:]
        for (from, to, edge) in seeds where !from.isOverflow && !to.isOverflow {
            let origin: UInt16
            if let known = origins[edge.process] {
                origin = known
            } else {
                state.origins.append(edge.process)
                origin = UInt16(truncatingIfNeeded: state.origins.count)
                origins[edge.process] = origin
            }
            state.addLearned(from: from.id, to: to.id, edge, origin: origin)
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
        for edge in edges { _ = edge.stack?.symbolicated() }
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
