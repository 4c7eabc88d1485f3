// The learned-order store at scale (issue 15): a store of 10,000 classes and 100,000 edges, its size on
// disk, how long parsing it takes, and how long a process takes from the store to its first validated
// acquire (parse, 10,000 classes made, 100,000 orders put into the graph). Run by hand:
//
//     swift run -c release --package-path Benchmarks StoreSize
//
// Prints medians of 11 runs, and the memory the loaded store and graph take (resident set growth).
// `StoreSize write <path>` only writes the store, for profiling a process that loads it
// (`LOCKVALIDATOR_GRAPH=<path> StoreSize load`; with STORE_SIZE_NO_EXIT_HOOKS set, that process skips
// its exit handlers, so a profile or a heap snapshot shows the load alone, not the write-back).
import BenchmarkShims
import FoundationEssentials
import SpinLocks

#if canImport(Glibc)
    import Glibc
#endif

// The measured process: its first nested acquire makes the validator load the store (when
// LOCKVALIDATOR_GRAPH names one) and seed the graph with it; at exit it adds its orders to the store.
if CommandLine.arguments.dropFirst().first == "load" {
    let before = residentBytes()
    let heapBefore = Int(bench_heap_in_use())
    let first = SpinLock("StoreSize.first")
    let second = SpinLock("StoreSize.second")
    let start = nanoseconds()
    first.withLock { second.withLock {} }
    print("acquire-ms", Double(nanoseconds() - start) / 1e6)
    print("resident-mb", Double(residentBytes() - before) / 1_048_576)
    print("heap-mb", Double(Int(bench_heap_in_use()) - heapBefore) / 1_048_576)
    print("exiting-ns", nanoseconds())
    fflush(nil)
    if getenv("STORE_SIZE_NO_EXIT_HOOKS") != nil { _exit(0) }
    exit(0)
}

let classCount = 10_000
let edgeCount = 100_000
let stackCount = 2_000
let framesPerStack = 12

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// A deterministic generator, so every run measures the same store.
struct Xorshift {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func callAsFunction(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }
}
var next = Xorshift()

// Names and stacks shaped like real ones: init-site class names, 12-frame symbolicated stacks.
let names = (0..<classCount).map {
    "mutex created at Module\($0 % 40).Type\($0 / 40).makeLock()+0x\(String($0 % 4096, radix: 16))"
}
let stacks: [StackTrace] = try (0..<stackCount).map { index in
    let frames = (0..<framesPerStack).map { frame in
        """
        {"address": "0x\(String(0x5555_0000_0000 + index * 4096 + frame * 64, radix: 16))", \
        "symbol": "Module\(index % 40).Type\(frame).operation\(index)(with:) throws -> ()", "offset": \(frame * 8), \
        "file": "/src/Sources/Module\(index % 40)/Type\(frame).swift", "line": \(frame * 10 + 3)}
        """
    }
    return try JSONDecoder().decode(StackTrace.self, from: Data("[\(frames.joined(separator: ","))]".utf8))
}
let processes = (0..<8).map {
    ValidationReport.ProcessDescription(
        pid: Int32(1000 + $0), executable: "/build/debug/AppPackageTests.xctest",
        arguments: ["--filter", "Suite\($0)"], run: "999@12345")
}
var store = LearnedOrderStore()
var edges: [ValidationReport.Edge] = []
var seen = Set<Int>()
// Forward edges only (from a lower class number to a higher one): a consistent program's orders.
while edges.count < edgeCount {
    let a = next(classCount)
    let b = next(classCount)
    guard a != b, seen.insert(min(a, b) * classCount + max(a, b)).inserted else { continue }
    edges.append(
        ValidationReport.Edge(
            from: names[min(a, b)], to: names[max(a, b)],
            fromAcquiredAt: .source(fileID: "Module/A.swift", line: 10),
            toAcquiredAt: .source(fileID: "Module/B.swift", line: UInt(20 + next(500))), irql: .passive,
            thread: ThreadInfo(serial: 1, osThreadID: 4242, name: "worker"), stack: stacks[next(stackCount)],
            process: processes[next(processes.count)]))
}
store.addRun(edges, seen: [])
let text = store.text()
let arguments = CommandLine.arguments.dropFirst()
let path =
    arguments.first == "write" && arguments.count == 2
    ? arguments.last! : "/tmp/lockvalidator-store-size-\(getpid()).txt"
let file = fopen(path, "w")!
_ = text.withCString { fputs($0, file) }
fclose(file)
if arguments.first == "write" { exit(0) }
print(
    "store: \(classCount) classes, \(store.orders.count) edges, \(stackCount) stacks: \(text.utf8.count) bytes on disk")

var parseTimes: [Double] = []
for _ in 0..<11 {
    let start = nanoseconds()
    let parsed = try LearnedOrderStore(parsing: text, from: path)
    parseTimes.append(Double(nanoseconds() - start) / 1e6)
    precondition(parsed.orders.count == edgeCount)
}
print("parse: median \(median(parseTimes)) ms of 11 runs")

// A process's life with the store, in fresh processes: its first acquire (the store read, parsed, its
// classes made and its orders put into the graph), its memory, and its exit (the store re-read, this
// process's orders added, and the whole store written back). Each run starts from a copy of the store.
if CommandLine.arguments.count == 1 {
    /// The child's figures by name, and how long its exit took.
    func runChild(store: String?) -> [String: Double] {
        let environment = store.map { "LOCKVALIDATOR_GRAPH=\($0) " } ?? ""
        guard let child = popen("\(environment)\(CommandLine.arguments[0]) load", "r") else { exit(1) }
        var figures: [String: Double] = [:]
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), child) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ")
            if fields.count == 2, let value = Double(fields[1].filter { !$0.isWhitespace }) {
                figures[String(fields[0])] = value
            }
        }
        guard pclose(child) == 0, let exiting = figures["exiting-ns"] else { exit(1) }
        figures["exit-ms"] = (Double(nanoseconds()) - exiting) / 1e6
        return figures
    }
    let copy = path + ".copy"
    var runs: [[String: Double]] = []
    for _ in 0..<5 {
        _ = system("cp \(path) \(copy)")
        runs.append(runChild(store: copy))
    }
    let baseline = runChild(store: nil)
    unlink(copy)
    unlink(path)
    func figure(_ name: String) -> Double { median(runs.map { $0[name] ?? .nan }) }
    func without(_ name: String) -> Double { baseline[name] ?? .nan }
    print("a fresh process with the store, median of 5:")
    print("  first validated acquire (read, parse, classes, orders into the graph): \(figure("acquire-ms")) ms")
    print("  resident set growth: \(figure("resident-mb")) MB (\(without("resident-mb")) MB without a store)")
    print("  heap in use growth: \(figure("heap-mb")) MB (\(without("heap-mb")) MB without a store)")
    print("  exit (store re-read, added to, written back): \(figure("exit-ms")) ms (\(without("exit-ms")) ms without)")
}
