// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "LockValidator",
    products: [
        .library(name: "LockValidator", targets: ["LockValidator"]),
        .library(name: "SpinLocks", targets: ["SpinLocks"]),
        .library(name: "LockValidatorTesting", targets: ["LockValidatorTesting"]),
        // Reading reports: SARIF, DOT, HTML, merging and comparing (what `lockval` is built on).
        .library(name: "LockValidatorReports", targets: ["LockValidatorReports"]),
        .library(name: "LockValidatorPthreads", targets: ["LockValidatorPthreads"]),
        .library(name: "LockValidatorPreload", type: .dynamic, targets: ["LockValidatorPthreads"]),
        .executable(name: "Demo", targets: ["Demo"]),
        .executable(name: "lockval", targets: ["lockval"]),
        .executable(name: "driver-interrupts", targets: ["driver-interrupts"]),
        .executable(name: "floppy-controller", targets: ["floppy-controller"]),
        .executable(name: "work-queue", targets: ["work-queue"]),
        .executable(name: "recursive-routine", targets: ["recursive-routine"]),
        .executable(name: "spinlock-misuse", targets: ["spinlock-misuse"]),
    ],
    traits: [
        .trait(
            name: "Validation",
            description: "Compiles the validator into the locks. Off: plain spin locks that keep IRQL semantics."
        ),
        .default(enabledTraits: ["Validation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "_LockValidatorShims",
            linkerSettings: [.linkedLibrary("unwind")]
        ),
        // The lock-order graph (Pearce–Kelly), standalone, as Abseil keeps graphcycles apart from its Mutex.
        // Underscored, not API; its declarations are public because Swift 6.3 inlines `@inlinable public`
        // lookups into LockValidator but not `@inlinable package` ones (a new lock order does a dozen).
        .target(
            name: "_LockOrderGraph",
            dependencies: ["_LockValidatorShims"]
        ),
        .target(
            name: "LockValidator",
            dependencies: ["_LockOrderGraph", "_LockValidatorShims"]
        ),
        .target(
            name: "_LockValidatorInterpose",
            dependencies: ["_LockValidatorShims"],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(
            name: "LockValidatorPthreads",
            dependencies: ["LockValidator", "_LockValidatorInterpose", "_LockValidatorShims"]
        ),
        .target(
            name: "SpinLocks",
            dependencies: ["LockValidator", "_LockValidatorShims"]
        ),
        .target(
            name: "LockValidatorTesting",
            dependencies: ["LockValidator"]
        ),
        .target(
            name: "LockValidatorReports",
            dependencies: ["LockValidator"]
        ),
        .executableTarget(
            name: "lockval",
            dependencies: [
                "LockValidatorReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "Demo",
            dependencies: ["ExampleScenarios", "LockValidatorReports"]
        ),
        .target(
            name: "ExampleScenarios",
            dependencies: ["SpinLocks"],
            path: "Examples/Scenarios"
        ),
        .executableTarget(
            name: "driver-interrupts", dependencies: ["ExampleScenarios"], path: "Examples/DriverInterrupts",
            exclude: ["README.md"]),
        .executableTarget(
            name: "floppy-controller", dependencies: ["ExampleScenarios"], path: "Examples/FloppyController",
            exclude: ["README.md"]),
        .executableTarget(
            name: "work-queue", dependencies: ["ExampleScenarios"], path: "Examples/WorkQueue", exclude: ["README.md"]),
        .executableTarget(
            name: "recursive-routine", dependencies: ["ExampleScenarios"], path: "Examples/RecursiveRoutine",
            exclude: ["README.md"]),
        .executableTarget(
            name: "spinlock-misuse", dependencies: ["ExampleScenarios"], path: "Examples/SpinLockMisuse",
            exclude: ["README.md"]),
        .target(
            name: "TestSupport",
            dependencies: ["LockValidator"],
            path: "Tests/TestSupport"
        ),
        // Links LockValidatorPthreads, which validates every pthread lock in its process: a separate
        // executable the tests run, never linked into the test binary.
        .executableTarget(
            name: "pthread-scenarios",
            dependencies: ["LockValidatorPthreads", "SpinLocks", "PthreadScenariosC"],
            path: "Tests/PthreadScenarios"
        ),
        .target(name: "PthreadScenariosC", path: "Tests/PthreadScenariosC"),
        // A C program without the validator, for LD_PRELOAD=libLockValidatorPreload.so.
        .executableTarget(name: "c-lock-order", path: "Tests/CLockOrder"),
        .testTarget(
            name: "LockOrderGraphTests",
            dependencies: ["_LockOrderGraph", "TestSupport"]
        ),
        .testTarget(
            name: "LockValidatorTests",
            dependencies: ["LockValidator", "TestSupport", "PthreadScenariosC"]
        ),
        // Runs pthread-scenarios, c-lock-order, deadlock-corpus and the end-to-end package, which link or
        // preload LockValidatorPthreads, as child processes: the product is never linked into the test binary.
        .testTarget(
            name: "LockValidatorPthreadsTests",
            dependencies: ["LockValidator", "LockValidatorReports", "TestSupport"]
        ),
        .testTarget(
            name: "SpinLocksTests",
            dependencies: ["SpinLocks", "TestSupport"]
        ),
        .testTarget(
            name: "LockValidatorTestingTests",
            dependencies: ["LockValidatorTesting", "SpinLocks", "TestSupport"]
        ),
        .testTarget(
            name: "ExamplesTests",
            // Demo: DemoOutputTests runs the built tour and reads what it prints.
            dependencies: ["ExampleScenarios", "Demo"]
        ),
        .testTarget(
            name: "LockValidatorReportsTests",
            dependencies: ["LockValidatorReports", "SpinLocks", "TestSupport", "lockval"],
            // Inputs the fuzzers found, read by FuzzFindingsTests from the source tree.
            exclude: ["FuzzFindings"]
        ),
        // Deadlocks, and long waits that are not, in C without the validator, for
        // LD_PRELOAD=libLockValidatorPreload.so: `deadlock-corpus <scenario>`.
        .executableTarget(name: "deadlock-corpus", path: "Tests/DeadlockCorpus"),
    ]
)
