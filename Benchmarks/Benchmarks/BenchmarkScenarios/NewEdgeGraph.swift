import SpinLocks
import Synchronization

/// A lock-order graph of `classes` classes with about `edgesPerClass` edges each, all consistent with a
/// hidden order that differs from the classes' creation order, so that new edges often disagree with
/// the graph's topological order and make it search and reorder. Each `takeANewEdge()` takes a pair
/// never taken before, in the hidden order (no cycle, so no report): one new chain, one new edge.
public final class NewEdgeGraph: @unchecked Sendable {
    public let locks: [SpinLock]
    let rank: [Int]
    var random = SplitMix64(seed: 42)
    var taken = Set<Int>()

    /// One graph per shape for the whole run: building the dense 10,000-class one takes seconds.
    public static func shared(classes: Int, edgesPerClass: Int) -> NewEdgeGraph {
        cache.withLock { cache in
            if let graph = cache["\(classes)/\(edgesPerClass)"] { return graph }
            let graph = NewEdgeGraph(classes: classes, edgesPerClass: edgesPerClass)
            cache["\(classes)/\(edgesPerClass)"] = graph
            return graph
        }
    }

    private static let cache = Mutex<[String: NewEdgeGraph]>([:])

    public init(classes: Int, edgesPerClass: Int) {
        let prefix = "bench.graph.\(classes).\(edgesPerClass).\(UInt32.random(in: 0..<UInt32.max))"
        locks = (0..<classes).map { SpinLock("\(prefix).\($0)") }
        var shuffler = SplitMix64(seed: UInt64(classes * 31 + edgesPerClass))
        rank = Array(0..<classes).shuffled(using: &shuffler)  // rank[i] is the i-th class in the hidden order
        let old = IRQL.raise(to: .dispatch)
        for _ in 0..<classes * edgesPerClass { takeANewEdge() }
        IRQL.lower(to: old)
    }

    public func takeANewEdge() {
        let (first, second) = nextNewPair()
        first.acquireAtDpcLevel()
        second.acquireAtDpcLevel()
        second.releaseFromDpcLevel()
        first.releaseFromDpcLevel()
    }

    /// Two locks never taken together before, the first before the second in the hidden order.
    public func nextNewPair() -> (SpinLock, SpinLock) {
        while true {
            let a = Int.random(in: 0..<locks.count, using: &random)
            let b = Int.random(in: 0..<locks.count, using: &random)
            guard a < b, taken.insert(a * locks.count + b).inserted else { continue }
            return (locks[rank[a]], locks[rank[b]])
        }
    }
}

/// A cheap seeded generator: the system one is a system call per number, which would be measured.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
