import SpinLocks
import TestSupport
import Testing

/// The validator against a naive oracle written here: random acquire/release sequences over a few
/// dozen classes on several threads; the oracle recomputes reachability from scratch at every new
/// edge. Every edge taken is learned, including one that closes a cycle (so that a later cycle through
/// it is found too). Run one thread after another, both must learn the same edges and report the same
/// inversions, nothing more; run all at once, the order in which edges arrive is the scheduler's, and
/// what must hold whatever it is: the same edges, every reported edge on a cycle, and every cycle
/// reported (the graph without the reported edges has none).
@Suite struct LockOrderDifferentialTests {
    enum Operation: Sendable {
        case acquire(lockClass: Int, isTry: Bool)
        case release(lockClass: Int)
    }

    static let classCount = 30
    static let threadCount = 4
    static let operationsPerThread = 400

    /// One thread's operations: acquires of classes it does not hold (some as try-acquires), releases
    /// mostly newest-first and sometimes out of order, everything released at the end.
    static func script(using random: inout SeededGenerator) -> [Operation] {
        var held: [Int] = []
        var operations: [Operation] = []
        while operations.count < operationsPerThread {
            if held.count < 5 && (held.isEmpty || Int.random(in: 0..<10, using: &random) < 6) {
                let free = (0..<classCount).filter { !held.contains($0) }
                let lockClass = free.randomElement(using: &random)!
                operations.append(.acquire(lockClass: lockClass, isTry: Int.random(in: 0..<8, using: &random) == 0))
                held.append(lockClass)
            } else {
                let index =
                    Int.random(in: 0..<10, using: &random) < 8
                    ? held.count - 1 : Int.random(in: 0..<held.count, using: &random)
                operations.append(.release(lockClass: held.remove(at: index)))
            }
        }
        operations += held.reversed().map { .release(lockClass: $0) }
        return operations
    }

    struct Oracle {
        var edges: Set<[Int]> = []
        var inversions: Set<[Int]> = []

        func reaches(_ target: Int, from source: Int) -> Bool {
            var seen: Set<Int> = [source]
            var stack = [source]
            while let node = stack.popLast() {
                if node == target { return true }
                for edge in edges where edge[0] == node && seen.insert(edge[1]).inserted { stack.append(edge[1]) }
            }
            return false
        }

        mutating func run(_ operations: [Operation]) {
            var held: [Int] = []
            for operation in operations {
                switch operation {
                case .acquire(let lockClass, let isTry):
                    if !isTry {
                        for from in held where !edges.contains([from, lockClass]) {
                            if reaches(from, from: lockClass) { inversions.insert([from, lockClass]) }
                            edges.insert([from, lockClass])
                        }
                    }
                    held.append(lockClass)
                case .release(let lockClass):
                    held.removeAll { $0 == lockClass }
                }
            }
        }
    }

    /// One seed's scripts, run through the validator and the oracle.
    struct Trial {
        /// What the validator reported.
        let found: [Violation]
        /// The edges the validator learned, and the closing edges of its inversions, as class indices.
        let edges: Set<[Int]>
        let closing: [[Int]]
        let oracle: Oracle

        /// Runs each script on its own processor with its own lock instances (so no thread waits for
        /// another), one after another or all at once, and the same scripts through the oracle.
        init(seed: UInt64, concurrently: Bool) {
            var random = SeededGenerator(seed: seed)
            let scripts = (0..<LockOrderDifferentialTests.threadCount).map { _ in
                LockOrderDifferentialTests.script(using: &random)
            }
            let prefix = uniqueClassPrefix("differential-\(seed)") + ".c"
            let start = Signal()
            found = LockValidator.violations(during: {
                var threads: [ProcessorThread] = []
                for script in scripts {
                    // Order, not hold time, is under test (HoldTimeTests has its own): a loaded VM's stolen
                    // time, charged to the thread, must not add a hold-time report to the comparison.
                    let locks = (0..<LockOrderDifferentialTests.classCount).map {
                        SpinLock("\(prefix)\($0)", holdBudget: .seconds(1))
                    }
                    let thread = ProcessorThread {
                        if concurrently { start.wait() }
                        let old = IRQL.raise(to: .dispatch)
                        for operation in script {
                            switch operation {
                            case .acquire(let lockClass, let isTry):
                                if isTry {
                                    let acquired = locks[lockClass].tryAcquireAtDpcLevel()
                                    precondition(acquired, "a free lock must be acquired")
                                } else {
                                    locks[lockClass].acquireAtDpcLevel()
                                }
                            case .release(let lockClass):
                                locks[lockClass].releaseFromDpcLevel()
                            }
                        }
                        IRQL.lower(to: old)
                    }
                    if concurrently { threads.append(thread) } else { thread.join() }
                }
                start.raise()
                threads.forEach { $0.join() }
            })
            let index = { (lock: LockInfo) in Int(lock.name.dropFirst(prefix.count))! }
            edges = Set(
                LockValidator.lockOrderEdges.filter { $0.from.name.hasPrefix(prefix) }.map {
                    [index($0.from), index($0.to)]
                })
            closing = found.filter { $0.rule == .lockOrderInversion }.compactMap(\.edges.first).map {
                [index($0.from), index($0.to)]
            }
            var oracle = Oracle()
            for script in scripts { oracle.run(script) }
            self.oracle = oracle
        }
    }

    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func theValidatorAgreesWithANaiveOracle(seed: UInt64) {
        let trial = Trial(seed: seed, concurrently: false)
        #expect(trial.edges == trial.oracle.edges)
        #expect(Set(trial.closing) == trial.oracle.inversions)
        #expect(trial.closing.count == trial.oracle.inversions.count)
        #expect(trial.found.allSatisfy { $0.rule == .lockOrderInversion || $0.rule == .releaseOutOfOrder })
        #expect(!trial.oracle.inversions.isEmpty, "the scripts should provoke some inversions")
        #expect(LockValidator.graphInvariantViolations().isEmpty)
    }

    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func threadsRunningAtOnceLeaveEveryCycleReported(seed: UInt64) {
        let trial = Trial(seed: seed &+ 100, concurrently: true)
        #expect(trial.edges == trial.oracle.edges)
        let closing = Set(trial.closing)
        #expect(closing.count == trial.closing.count, "one report per closing edge")
        for edge in closing {
            #expect(trial.oracle.reaches(edge[0], from: edge[1]), "\(edge) was reported but closes no cycle")
        }
        var withoutReported = Oracle()
        withoutReported.edges = trial.edges.subtracting(closing)
        let unreported = withoutReported.edges.filter { withoutReported.reaches($0[0], from: $0[1]) }
        #expect(unreported.isEmpty, "cycles no report names: \(unreported)")
        #expect(!closing.isEmpty, "the scripts should provoke some inversions")
        #expect(trial.found.allSatisfy { $0.rule == .lockOrderInversion || $0.rule == .releaseOutOfOrder })
        #expect(LockValidator.graphInvariantViolations().isEmpty)
    }

    @Test func aLongCycleInATenThousandClassGraphIsReportedWithItsWholePath() {
        var random = SeededGenerator(seed: 7)
        let prefix = uniqueClassPrefix("big")
        let classCount = 10_000
        // Holds span new-edge slow paths, under load too: order is under test, not hold time.
        let locks = (0..<classCount).map { SpinLock("\(prefix).\($0)", holdBudget: .seconds(1)) }
        // A hidden order: pairs only go from lower to higher rank (no cycle), in random order.
        let rank = Array(0..<classCount).shuffled(using: &random)
        let chainLength = 300
        var pairs = (0..<chainLength - 1).map { (rank[$0], rank[$0 + 1]) }
        var seen = Set(pairs.map { [$0.0, $0.1] })
        while pairs.count < 50_000 {
            let a = Int.random(in: 0..<classCount, using: &random)
            let b = Int.random(in: 0..<classCount, using: &random)
            let (low, high) = (min(a, b), max(a, b))
            if low != high && seen.insert([rank[low], rank[high]]).inserted { pairs.append((rank[low], rank[high])) }
        }
        pairs.shuffle(using: &random)
        let found = violationsOnFreshProcessor { [pairs] in
            let old = IRQL.raise(to: .dispatch)
            for (first, second) in pairs {
                locks[first].acquireAtDpcLevel()
                locks[second].acquireAtDpcLevel()
                locks[second].releaseFromDpcLevel()
                locks[first].releaseFromDpcLevel()
            }
            // Close the long chain: its last lock, then its first.
            locks[rank[chainLength - 1]].acquireAtDpcLevel()
            locks[rank[0]].acquireAtDpcLevel()
            locks[rank[0]].releaseFromDpcLevel()
            locks[rank[chainLength - 1]].releaseFromDpcLevel()
            IRQL.lower(to: old)
        }
        let edges = LockValidator.lockOrderEdges.filter { $0.from.name.hasPrefix(prefix + ".") }
        #expect(edges.count == 50_001)  // the closing edge is kept too
        #expect(found.map(\.rule) == [.lockOrderInversion])
        guard let cycle = found.first?.edges, let closing = cycle.first else { return }
        #expect(closing.from.name == locks[rank[chainLength - 1]].name)
        #expect(closing.to.name == locks[rank[0]].name)
        #expect(cycle.count >= 2)
        let known = Set(edges.map { [$0.from.name, $0.to.name] })
        for (edge, next) in zip(cycle, cycle.dropFirst() + [closing]) {
            #expect(edge.to.name == next.from.name)
        }
        #expect(cycle.dropFirst().allSatisfy { known.contains([$0.from.name, $0.to.name]) })
        #expect(LockValidator.graphInvariantViolations().isEmpty)
    }
}
