// swift-tools-version: 6.1
import Foundation
import PackageDescription

// The root package with its Validation trait on (the default), or off when
// LOCKVALIDATOR_BENCH_VALIDATION=off: compare.sh builds both, in separate build folders.
let validationOff = ProcessInfo.processInfo.environment["LOCKVALIDATOR_BENCH_VALIDATION"] == "off"

// Every loop starts on a cache line: a pair's loop is a dozen instructions, and one that straddles a
// line boundary ran 20 % slower on the AMD VMs than the same loop inside one (2.67 against 2.18 ns), so
// that comparisons between two loops measured where the linker happened to put them.
let alignedLoops: [SwiftSetting] = [.unsafeFlags(["-Xllvm", "-x86-experimental-pref-innermost-loop-alignment=6"])]

let package = Package(
    name: "LockValidatorBenchmarks",
    dependencies: [
        .package(name: "LockValidator", path: "..", traits: validationOff ? [] : [.defaults]),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "BenchmarkShims", path: "Benchmarks/BenchmarkShims"),
        // What the time benchmarks and the instruction counts both run: raw locks, a lock-order graph.
        .target(
            name: "BenchmarkScenarios",
            dependencies: [.product(name: "SpinLocks", package: "LockValidator")],
            path: "Benchmarks/BenchmarkScenarios"
        ),
        .executableTarget(
            name: "LockBenchmarks",
            dependencies: [
                "BenchmarkScenarios",
                "BenchmarkShims",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SpinLocks", package: "LockValidator"),
            ],
            path: "Benchmarks/LockBenchmarks",
            swiftSettings: alignedLoops,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Links LockValidatorPthreads: every pthread lock in it is validated.
        .executableTarget(
            name: "PthreadBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LockValidatorPthreads", package: "LockValidator"),
            ],
            path: "Benchmarks/PthreadBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // A measurement run by hand, outside Benchmarks/ so that package-benchmark does not take it
        // for a benchmark.
        .executableTarget(
            name: "HoldTimeEvidence",
            dependencies: [.product(name: "SpinLocks", package: "LockValidator")],
            path: "Measurements/HoldTimeEvidence"
        ),
        .executableTarget(
            name: "StoreSize",
            dependencies: ["BenchmarkShims", .product(name: "SpinLocks", package: "LockValidator")],
            path: "Measurements/StoreSize"
        ),
        // The new-order cost as the graph grows, for the scaling picture (compare.sh).
        .executableTarget(
            name: "Scaling",
            dependencies: [
                "BenchmarkScenarios", "BenchmarkShims", .product(name: "SpinLocks", package: "LockValidator"),
            ],
            path: "Measurements/Scaling"
        ),
        // Memory per lock instance and under a million short-lived locks (BENCHMARKS.md, "Memory"). Links
        // LockValidatorPthreads: every pthread mutex in it is validated.
        .executableTarget(
            name: "ShortLivedLocks",
            dependencies: [
                "BenchmarkShims",
                .product(name: "SpinLocks", package: "LockValidator"),
                .product(name: "LockValidatorPthreads", package: "LockValidator"),
            ],
            path: "Measurements/ShortLivedLocks"
        ),
        // Instructions per operation on the hot paths, under callgrind (Benchmarks/instructions.sh).
        .executableTarget(
            name: "InstructionCounts",
            dependencies: ["BenchmarkScenarios", .product(name: "SpinLocks", package: "LockValidator")],
            path: "Measurements/InstructionCounts"
        ),
    ]
)
