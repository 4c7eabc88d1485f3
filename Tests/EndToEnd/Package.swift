// swift-tools-version: 6.1
// The end-to-end package: code nobody here would write twice (a ledger guarded by NSLocks, a C library
// with its own mutexes and a rwlock), tested as a user tests it, with LockValidatorPthreads and
// LockValidatorTesting from the repository by path. Its tests are meant to fail and pass in a known way:
// Tests/LockValidatorPthreadsTests/EndToEndTests.swift runs them and checks each outcome and message.
import Foundation
import PackageDescription

// A path dependency's package name is its directory's name, whatever the clone is called.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
// The tests' Synchronization.Mutexes are validated through the Mutex overlay, which `lockval overlay -o
// Tests/EndToEnd/.build/lockvalidator-overlay` writes (scripts/test.sh does, before building this package).
let overlay = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent(".build/lockvalidator-overlay").path

let package = Package(
    name: "EndToEnd",
    dependencies: [.package(path: repository.path)],
    targets: [
        .target(name: "CLedger"),
        .target(name: "Ledger", dependencies: ["CLedger"]),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger", "CLedger",
                .product(name: "LockValidatorTesting", package: repository.lastPathComponent),
                .product(name: "LockValidatorPthreads", package: repository.lastPathComponent),
                .product(name: "SpinLocks", package: repository.lastPathComponent),
            ],
            swiftSettings: [.unsafeFlags(["-I", overlay])]
        ),
    ]
)
