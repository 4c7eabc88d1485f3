import TestSupport
import Testing
@testable import _LockOrderGraph

/// The graph alone: cycle detection at the closing edge, the path it reports, and its invariants.
@Suite struct LockOrderGraphTests {
    typealias Graph = LockOrderGraph

    @Test func anEdgeAgainstAnExistingOneClosesATwoNodeCycleAndIsKept() {
        var graph = Graph()
        // What a caller keeps per edge, by the edge's number (the order of insertion).
        var payloads: [String] = []
        func insert(_ from: UInt32, _ to: UInt32, _ payload: String) -> Graph.Insertion {
            let insertion = graph.insertEdge(from: from, to: to)
            if graph.edgeCount > payloads.count { payloads.append(payload) }
            return insertion
        }
        func payload(_ from: UInt32, _ to: UInt32) -> String? {
            graph.edgeNumber(from: from, to: to).map { payloads[Int($0)] }
        }
        #expect(insert(1, 2, "AB") == .inserted)
        #expect(insert(1, 2, "AB again") == .alreadyPresent)
        #expect(payload(1, 2) == "AB")
        #expect(insert(2, 1, "BA") == .closesCycle(path: [1, 2]))
        // Kept, so that a later cycle through it is found; taken again, it is nothing new.
        #expect(graph.hasEdge(from: 2, to: 1) && payload(2, 1) == "BA")
        #expect(insert(2, 1, "BA again") == .alreadyPresent)
        #expect(graph.edgeCount == 2 && graph.cycleEdgeCount == 1)
        #expect(insert(3, 3, "AA") == .selfLoop)
        #expect(graph.edgeNumber(from: 1, to: 2) == 0 && graph.edgeNumber(from: 2, to: 1) == 1)
        #expect(graph.invariantViolations().isEmpty)
    }

    /// The blind spot of refusing a closing edge: a later, different cycle through it.
    @Test func aLaterCycleThroughAClosingEdgeIsFoundToo() {
        var graph = Graph()
        #expect(graph.insertEdge(from: 1, to: 2) == .inserted)
        #expect(graph.insertEdge(from: 2, to: 1) == .closesCycle(path: [1, 2]))
        // A → C agrees with everything; C → B closes B → A → C → B, through the kept B → A.
        #expect(graph.insertEdge(from: 1, to: 3) == .inserted)
        #expect(graph.insertEdge(from: 3, to: 2) == .closesCycle(path: [2, 1, 3]))
        // An edge away from every cycle is still just inserted.
        #expect(graph.insertEdge(from: 4, to: 5) == .inserted)
        #expect(graph.insertEdge(from: 3, to: 5) == .inserted)
        #expect(graph.invariantViolations().isEmpty)
    }

    /// Random edges over a few dozen nodes against reachability recomputed from scratch: every edge is
    /// kept, and each one is answered with a cycle exactly when its head already reaches its tail.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomInsertionsAgreeWithNaiveReachability(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var graph = Graph()
        var oracle: [UInt32: Set<UInt32>] = [:]
        func oracleReaches(_ target: UInt32, from source: UInt32) -> Bool {
            var seen: Set<UInt32> = [source]
            var stack = [source]
            while let node = stack.popLast() {
                if node == target { return true }
                for next in oracle[node, default: []] where seen.insert(next).inserted { stack.append(next) }
            }
            return false
        }
        for _ in 0..<2_000 {
            let from = UInt32.random(in: 1...40, using: &random)
            let to = UInt32.random(in: 1...40, using: &random)
            let result = graph.insertEdge(from: from, to: to)
            if from == to {
                #expect(result == .selfLoop)
            } else if oracle[from, default: []].contains(to) {
                #expect(result == .alreadyPresent)
            } else if oracleReaches(from, from: to) {
                guard case .closesCycle(let path) = result else {
                    Issue.record("\(from) → \(to) closes a cycle but the graph said \(result)")
                    return
                }
                #expect(path.first == to && path.last == from)
                for (a, b) in zip(path, path.dropFirst()) { #expect(oracle[a, default: []].contains(b)) }
                oracle[from, default: []].insert(to)
            } else {
                #expect(result == .inserted)
                oracle[from, default: []].insert(to)
            }
        }
        #expect(graph.edgeCount == oracle.values.reduce(0) { $0 + $1.count })
        #expect(graph.invariantViolations().isEmpty)
    }

    @Test func aLongCycleInATenThousandNodeGraphIsFoundWithItsWholePath() {
        var random = SeededGenerator(seed: 42)
        var graph = Graph()
        let nodes: UInt32 = 10_000
        // A hidden order: edges only run from lower to higher rank, so the graph stays acyclic, but
        // they are inserted in random order, which keeps the topological order busy.
        let rank = Array(1...nodes).shuffled(using: &random)
        let chainLength = 200
        var inserted = 0
        for index in 0..<chainLength - 1 {
            _ = graph.insertEdge(from: rank[index], to: rank[index + 1])
            inserted += 1
        }
        while inserted < 50_000 {
            let a = Int.random(in: 0..<Int(nodes), using: &random)
            let b = Int.random(in: 0..<Int(nodes), using: &random)
            guard a != b else { continue }
            let (low, high) = (min(a, b), max(a, b))
            if graph.insertEdge(from: rank[low], to: rank[high]) == .inserted { inserted += 1 }
        }
        #expect(graph.edgeCount == 50_000)
        #expect(graph.invariantViolations().isEmpty)
        let closing = graph.insertEdge(from: rank[chainLength - 1], to: rank[0])
        guard case .closesCycle(let path) = closing else {
            Issue.record("closing the chain was answered with \(closing)")
            return
        }
        #expect(path.first == rank[0] && path.last == rank[chainLength - 1])
        for (a, b) in zip(path, path.dropFirst()) { #expect(graph.hasEdge(from: a, to: b)) }
    }

    @Test func aGraphWhoseNodesAllGrowAtOnceStaysSoundThroughCompactions() {
        var graph = LockOrderGraph()
        // Round after round, every node gains one edge: the lists grow together, their old chunks pile
        // up, and the adjacency array is compacted as it grows.
        for step in UInt32(1)...20 {
            for node in UInt32(1)...2_000 { _ = graph.insertEdge(from: node, to: node + step) }
        }
        #expect(graph.edgeCount == 40_000)
        #expect(graph.invariantViolations().isEmpty)
        #expect(graph.successors(of: 7) == Array(8...27))
        // 4,000 lists of 20 in rooms of 24; without compaction each would have left 46 elements of chunks.
        #expect(graph.lists.storageCount < 4_000 * (24 + 46) * 3 / 4)
        guard case .closesCycle(let path) = graph.insertEdge(from: 2_000, to: 1) else {
            Issue.record("2,000 → 1 closes no cycle")
            return
        }
        #expect(path.first == 1 && path.last == 2_000)
        #expect(zip(path, path.dropFirst()).allSatisfy { graph.hasEdge(from: $0, to: $1) })
    }
}
