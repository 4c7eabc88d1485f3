// Instructions per operation on the validator's hot paths, for callgrind: `Benchmarks/instructions.sh`
// runs each scenario under `valgrind --tool=callgrind --toggle-collect='*measured*'`, so that only the
// `measured…` functions below are counted, and divides by the count. Instruction counts are the same on
// any machine and under any load, where times are not (VM noise, CPU kinds).
//
//     InstructionCounts <scenario> <count>
//
// Scenarios: raw-pair, pair, chain-2, chain-3 (a known chain, every lock in it), new-edge-sparse and
// new-edge-dense (a lock-order edge never taken before, in a graph of 10,000 classes with 2 or 20
// edges each, as the time benchmarks).
import BenchmarkScenarios
import SpinLocks

#if canImport(Glibc)
    import Glibc
#endif

@inline(never)
func measuredRawPairs(_ lock: RawTTASLock, _ count: Int) {
    for _ in 0..<count {
        lock.lock()
        lock.unlock()
    }
}

@inline(never)
func measuredPairs(_ lock: SpinLock, _ count: Int) {
    for _ in 0..<count {
        lock.acquireAtDpcLevel()
        lock.releaseFromDpcLevel()
    }
}

@inline(never)
func measuredChains(_ locks: [SpinLock], _ count: Int) {
    for _ in 0..<count {
        for lock in locks { lock.acquireAtDpcLevel() }
        for lock in locks.reversed() { lock.releaseFromDpcLevel() }
    }
}

@inline(never)
func measuredNewEdges(_ pairs: [(SpinLock, SpinLock)]) {
    for (first, second) in pairs {
        first.acquireAtDpcLevel()
        second.acquireAtDpcLevel()
        second.releaseFromDpcLevel()
        first.releaseFromDpcLevel()
    }
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let scenario = arguments.first, let count = Int(arguments.last!), count > 0 else {
    print("usage: InstructionCounts raw-pair|pair|chain-2|chain-3|new-edge-sparse|new-edge-dense <count>")
    exit(2)
}
let old = IRQL.raise(to: .dispatch)
switch scenario {
case "raw-pair":
    measuredRawPairs(RawTTASLock(), count)
case "pair":
    let lock = SpinLock("counts.pair")
    lock.acquireAtDpcLevel()  // the first time, its chain is new: not counted
    lock.releaseFromDpcLevel()
    measuredPairs(lock, count)
case "chain-2", "chain-3":
    let locks = (0..<Int(scenario.dropFirst(6))!).map { SpinLock("counts.chain.\($0)") }
    for lock in locks { lock.acquireAtDpcLevel() }  // new the first time: not counted
    for lock in locks.reversed() { lock.releaseFromDpcLevel() }
    measuredChains(locks, count)
case "new-edge-sparse", "new-edge-dense":
    let graph = NewEdgeGraph(classes: 10_000, edgesPerClass: scenario == "new-edge-sparse" ? 2 : 20)
    measuredNewEdges((0..<count).map { _ in graph.nextNewPair() })
default:
    print("unknown scenario \(scenario)")
    exit(2)
}
IRQL.lower(to: old)
