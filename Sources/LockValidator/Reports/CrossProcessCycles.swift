import _LockOrderGraph

/// Lock-order inversions that only the union of several processes' graphs shows: one test process took
/// A then B, another B then A. Neither saw a cycle; the program that does both will deadlock.
///
/// The edges are replayed, in order, into a fresh lock-order graph with the classes matched by name (a
/// class name is its given name or its init site, never an instance number), and every edge that closes
/// a cycle is a violation, as lockdep reports the edge that closes one. A cycle whose edges one process
/// all took was checked, and reported or suppressed, by that process, and is not reported again when that
/// process's report is among the inputs; a learned-order store keeps orders, not what was reported, so a
/// cycle that only a store shows is reported, whichever processes took it.
enum CrossProcessCycles {
    /// The inversions in `edges` (each naming the process that learned it) that `known` does not already
    /// report; `classes` say where each class's locks were created; `checked`, the processes whose own
    /// reports (and so their own cycles) are among the inputs.
    static func find(
        in edges: [ValidationReport.Edge], classes: [ValidationReport.ClassDescription], known: [Violation],
        checked: Set<ValidationReport.ProcessDescription>
    ) -> [Violation] {
        let sites = Dictionary(classes.map { ($0.name, $0.site) }) { first, _ in first }
        var nodes: [String: UInt32] = [:]
        func node(_ name: String) -> UInt32 {
            if let known = nodes[name] { return known }
            nodes[name] = UInt32(nodes.count + 1)
            return UInt32(nodes.count)
        }
        var graph = LockOrderGraph()
        /// The index in `edges` of each graph edge, by its number.
        var edgeIndices: [Int] = []
        var reported = Set(known.filter { $0.rule == .lockOrderInversion }.map { canonical($0.cycle) })
        var found: [Violation] = []
        for (index, edge) in edges.enumerated() {
            let from = node(edge.from)
            let to = node(edge.to)
            let insertion = graph.insertEdge(from: from, to: to)
            if graph.edgeCount > edgeIndices.count { edgeIndices.append(index) }
            guard case .closesCycle(let path) = insertion else { continue }
            let chain = zip(path, path.dropFirst()).compactMap { graph.edgeNumber(from: $0, to: $1) }.map {
                edges[edgeIndices[Int($0)]]
            }
            let cycle = [edge] + chain
            let processes = Set(cycle.map(\.process))
            guard processes.count > 1 || !processes.allSatisfy({ $0.map(checked.contains) ?? false }),
                reported.insert(canonical(cycle.map(\.to))).inserted
            else { continue }
            found.append(violation(closedBy: cycle, classSites: sites))
        }
        return found
    }

    /// A cycle's classes starting at the least name, so that one cycle found from any edge is one key.
    static func canonical(_ cycle: [String]) -> [String] {
        guard let start = cycle.indices.min(by: { cycle[$0] < cycle[$1] }) else { return [] }
        return Array(cycle[start...] + cycle[..<start])
    }

    /// The violation for `cycle`: the closing edge first, then the chain that leads back to its tail,
    /// each edge with the process, thread and stack that first took it.
    private static func violation(closedBy cycle: [ValidationReport.Edge], classSites: [String: Site?]) -> Violation {
        let closing = cycle[0]
        // A lock is named with where its class's locks were created, not where an edge acquired it.
        func lock(_ name: String) -> LockInfo { LockInfo(name: name, site: classSites[name] ?? nil, instance: 0) }
        let locks = cycle.map { lock($0.to) }
        let dependencies = cycle.map { edge in
            DependencyEdge(
                from: lock(edge.from), to: lock(edge.to),
                fromAcquiredAt: edge.fromAcquiredAt, toAcquiredAt: edge.toAcquiredAt, irql: edge.irql,
                thread: edge.thread ?? unknownThread, stack: edge.stack ?? StackTrace(addresses: []),
                process: edge.process)
        }
        let chain = (cycle.map(\.to) + [closing.to]).map { "\"\($0)\"" }.joined(separator: " -> ")
        let processes = Set(cycle.compactMap(\.process?.pid)).count
        let summary =
            processes > 1
            ? "the order \(chain) was taken across \(processes) processes, each taking part of it: \(cycle.count)"
                + " locks in a cycle that deadlocks when one program takes them all"
            : "the order \(chain) was taken by one process, as the learned-order store keeps it: a cycle of"
                + " \(cycle.count) locks"
        return Violation(
            rule: .lockOrderInversion, summary: summary,
            severity: Rule.lockOrderInversion.severity, locks: locks, site: closing.toAcquiredAt,
            thread: closing.thread ?? unknownThread, irql: closing.irql, heldLocks: [],
            stack: closing.stack ?? StackTrace(addresses: []), occurrences: 1, edges: dependencies,
            verdict: .acrossProcesses)
    }

    private static let unknownThread = ThreadInfo(serial: 0, osThreadID: 0, name: nil)
}
