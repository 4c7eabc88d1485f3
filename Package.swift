// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "LockValidator",
    products: [
        .library(name: "LockValidator", targets: ["LockValidator"]),
        .library(name: "SpinLocks", targets: ["SpinLocks"]),
        .executable(name: "Demo", targets: ["Demo"]),
    ],
    traits: [
        .trait(
            name: "Validation",
            description: "Compiles the validator into the locks. Off: plain spin locks that keep IRQL semantics."
        ),
        .default(enabledTraits: ["Validation"]),
    ],
    targets: [
        .target(
            name: "_LockValidatorShims",
            linkerSettings: [.linkedLibrary("unwind")]
        ),
        .target(
            name: "LockValidator",
            dependencies: ["_LockValidatorShims"]
        ),
        .target(
            name: "SpinLocks",
            dependencies: ["LockValidator"]
        ),
        .executableTarget(
            name: "Demo",
            dependencies: ["SpinLocks"]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["LockValidator"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "LockValidatorTests",
            dependencies: ["LockValidator", "TestSupport"]
        ),
        .testTarget(
            name: "SpinLocksTests",
            dependencies: ["SpinLocks", "TestSupport"]
        ),
    ]
)
