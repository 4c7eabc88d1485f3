import Testing

@testable import _LockOrderGraph

/// A graph whose adjacency lists grew together packs them (their left-behind chunks would be near half
/// its array) and keeps every edge, in both directions.
@Suite struct LockOrderGraphCompactionTests {
    @Test func aGraphPacksItsListsAndKeepsEveryEdge() {
        var graph = LockOrderGraph()
        let nodes: UInt32 = 3_000
        var edges: [(UInt32, UInt32)] = []
        for round: UInt32 in 1...20 {  // every node gains an edge each round, as random orders grow them
            for node in 1...nodes - 20 {
                #expect(graph.insertEdge(from: node, to: node + round) == .inserted)
                edges.append((node, node + round))
            }
        }
        let room = graph.adjacencyRoom
        // Unpacked, each list of 20 would sit in room 32 beside 4 + 8 + 16 left behind: 60 a list.
        #expect(room.storage < 2 * Int(nodes) * 50)
        #expect(room.free < 1 << 14 || room.free * 3 <= room.storage)
        #expect(graph.invariantViolations().isEmpty)
        #expect(edges.allSatisfy { graph.hasEdge(from: $0.0, to: $0.1) })
        #expect(graph.successors(of: 1) == Array(2...21))
        #expect(graph.reachable(from: 25, backwards: true).count == 25)
    }
}
