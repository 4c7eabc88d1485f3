// swift-tools-version: 6.1
// Coverage-guided fuzzing of every parser that reads outside input, with libFuzzer: the report JSON lockval
// reads, the learned-order store, suppressions files, and every environment setting. Built and run by
// fuzz.sh (swiftc's -sanitize=fuzzer,address on every module, so that the parsers' branches guide it).
import PackageDescription

let package = Package(
    name: "LockValidatorFuzz",
    dependencies: [.package(name: "LockValidator", path: "..")],
    targets: [
        .target(name: "FuzzDriver", path: "Harnesses/FuzzDriver"),
        .executableTarget(
            name: "FuzzSettings",
            dependencies: ["FuzzDriver", .product(name: "LockValidator", package: "LockValidator")],
            path: "Harnesses/FuzzSettings"
        ),
        .executableTarget(
            name: "FuzzSuppressions",
            dependencies: ["FuzzDriver", .product(name: "LockValidator", package: "LockValidator")],
            path: "Harnesses/FuzzSuppressions"
        ),
        .executableTarget(
            name: "FuzzStore",
            dependencies: [
                "FuzzDriver", .product(name: "LockValidator", package: "LockValidator"),
                .product(name: "LockValidatorReports", package: "LockValidator"),
            ],
            path: "Harnesses/FuzzStore"
        ),
        .executableTarget(
            name: "FuzzReports",
            dependencies: [
                "FuzzDriver", .product(name: "LockValidator", package: "LockValidator"),
                .product(name: "LockValidatorReports", package: "LockValidator"),
            ],
            path: "Harnesses/FuzzReports"
        ),
    ]
)
