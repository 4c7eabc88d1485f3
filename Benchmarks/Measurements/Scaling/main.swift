// The cost of a new lock order as the graph grows, for the scaling picture (compare.sh draws it beside
// ThreadSanitizer's deadlock detector, Peers/lock_graph.c, on the same shape of orders):
//
//     Scaling <classes> <edges per class>
//
// builds the "new edge" benchmarks' graph (`classes` SpinLocks in a hidden random order, about
// `edges per class` orders each), then takes 1,000 orders never taken before, each timed alone, and
// prints the median nanoseconds per new order and the memory the graph took: resident set and heap in
// use, in MB. On standard error: the resident set's growth split into anonymous memory (written: heaps,
// tables) and file pages (code and libraries first run during the measurement, shared with any process
// that maps them), in MB.
import BenchmarkScenarios
import BenchmarkShims
import SpinLocks

#if canImport(Glibc)
    import Glibc
#endif

func nanoseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

func tenths(_ value: Double) -> String { String((value * 10).rounded() / 10) }

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let classes = Int(arguments.first!), let edgesPerClass = Int(arguments.last!) else {
    print("usage: Scaling <classes> <edges per class>")
    exit(2)
}
let residentBefore = bench_resident_mb()
let (anonymousBefore, fileBefore) = (bench_status_mb("RssAnon:"), bench_status_mb("RssFile:"))
let heapBefore = Int(bench_heap_in_use())
let graph = NewEdgeGraph(classes: classes, edgesPerClass: edgesPerClass)
let pairs = (0..<1_000).map { _ in graph.nextNewPair() }
let old = IRQL.raise(to: .dispatch)
var samples: [Double] = []
samples.reserveCapacity(pairs.count)
for (first, second) in pairs {
    let start = nanoseconds()
    first.acquireAtDpcLevel()
    second.acquireAtDpcLevel()
    second.releaseFromDpcLevel()
    first.releaseFromDpcLevel()
    samples.append(nanoseconds() - start)
}
IRQL.lower(to: old)
samples.sort()
let heapMB = Double(Int(bench_heap_in_use()) - heapBefore) / 1_048_576
print(tenths(samples[samples.count / 2]), tenths(bench_resident_mb() - residentBefore), tenths(heapMB))
let split =
    "resident: anonymous \(tenths(bench_status_mb("RssAnon:") - anonymousBefore)) MB, "
    + "file pages \(tenths(bench_status_mb("RssFile:") - fileBefore)) MB\n"
_ = split.withCString { write(2, $0, strlen($0)) }  // standard error: compare.sh reads standard output
