import Foundation
import LockValidator
import Testing

/// Synchronization.Mutex through the Mutex overlay, as a user builds it (issue 32, point 1): `lockval
/// overlay` writes the overlay, `swiftc -I <overlay>` compiles an unchanged program that uses `Mutex`
/// (Tests/MutexScenarios/main.swift), and the program runs under `LD_PRELOAD=libLockValidatorPreload.so`;
/// without the library it runs the plain Mutex.
@Suite(.serialized) struct MutexOverlayTests {
    typealias Run = PthreadInterpositionTests.Run

    /// The overlay and the scenarios, built once for the suite.
    static let built: Result<(overlay: String, program: String), Error> = Result {
        // Beside the build's products, replaced by each run: a temporary directory per run would be left behind.
        let directory = PthreadInterpositionTests.buildDirectory.appendingPathComponent("mutex-overlay-tests").path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let overlay = directory + "/overlay"
        let made = try PthreadInterpositionTests.run("overlay", ["-o", overlay], executable: "lockval")
        guard made.status == 0 else { throw Failure(text: "lockval overlay: \(made.error)") }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MutexScenarios/main.swift").path
        let program = directory + "/mutex-scenarios"
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["swiftc", "-g", "-I", overlay, source, "-o", program]
        try compiler.run()
        compiler.waitUntilExit()
        guard compiler.terminationStatus == 0 else { throw Failure(text: "swiftc could not compile \(source)") }
        return (overlay, program)
    }

    struct Failure: Error, CustomStringConvertible { let text: String; var description: String { text } }

    static var preload: String {
        PthreadInterpositionTests.buildDirectory.appendingPathComponent("libLockValidatorPreload.so").path
    }

    static func run(_ scenario: String, validated: Bool = true) throws -> Run {
        let program = try built.get().program
        return try PthreadInterpositionTests.run(
            scenario, environment: validated ? ["LD_PRELOAD": preload] : [:], executable: program)
    }

    /// The line and column of `let <name> = Mutex(0)` in the scenarios.
    static func creationSite(of name: String) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MutexScenarios/main.swift").path
        let lines = try String(contentsOfFile: source, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let index = try #require(lines.firstIndex { $0.contains("let \(name) = Mutex(0)") })
        let column = try #require(lines[index].range(of: "Mutex(0)")).lowerBound.utf16Offset(in: lines[index]) + 1
        return "main.swift:\(index + 1):\(column)"
    }

    @Test func twoMutexesTakenInBothOrdersAreAnInversion() throws {
        let run = try Self.run("abba")
        #expect(run.rules == [.lockOrderInversion], "\(run.error)")
        #expect(run.status == 66)
        let cycle = try #require(run.report?.violations.first).cycle
        let accounts = try Self.creationSite(of: "accounts")
        let ledger = try Self.creationSite(of: "ledger")
        #expect(Set(cycle) == ["Mutex created at \(accounts) in Bank.init", "Mutex created at \(ledger) in Bank.init"])
        // Where withLock was inlined: the program's line.
        let violation = try #require(run.report?.violations.first)
        #expect(violation.site?.code?.location.fileName == "main.swift", "\(String(describing: violation.site))")
    }

    /// Four threads contending for two Mutexes in one order: clean, and no increment lost (the hooks keep
    /// the Mutex a Mutex).
    @Test func fourThreadsTakingTwoMutexesInOneOrderAreClean() throws {
        let run = try Self.run("consistent")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0 && run.output.contains("total 8000"))
    }

    /// withLock inside withLock of one Mutex traps in the standard library; validated, it is reported and the
    /// program goes on.
    @Test func aMutexTakenAgainByItsHolderIsRecursionAndTheProgramGoesOn() throws {
        let run = try Self.run("recursion")
        #expect(run.rules == [.recursiveAcquire], "\(run.error)")
        #expect(run.output.contains("went on: 2"))
        #expect(run.status == 66)
    }

    /// A thread unlocking a Mutex another thread holds (Mutex<Void>'s `_unsafeUnlock`): the overlay's unlock
    /// hook reads the owner from the futex word; reported, and the unlock not made (the standard library
    /// would trap), so the holder keeps it.
    @Test func anUnlockByAThreadThatDoesNotHoldTheMutexIsReportedAndNotMade() throws {
        let run = try Self.run("wrong-thread-unlock")
        #expect(run.rules == [.releaseWrongThread], "\(run.error)")
        #expect(run.output.contains("still held by its owner"), "\(run.output)")
        #expect(run.status == 66)
    }

    @Test func aSuccessfulTryLockOrdersNothingIntoItsMutex() throws {
        let run = try Self.run("try-lock")
        #expect(run.rules == [], "\(run.error)")
    }

    /// A Mutex moved after it was made (the init hook saw a temporary) is known from its first lock: one
    /// class, named for that lock, not for a creation it did not see.
    @Test func aMovedMutexIsNamedByItsFirstLock() throws {
        let run = try Self.run("moved")
        #expect(run.rules == [], "\(run.error)")
        let names = try #require(run.report).graph.classes.map(\.name).filter { $0.hasPrefix("Mutex ") }
        let gold = names.filter { $0.contains("first seen at") }
        #expect(gold.count == 1, "\(names)")
    }

    /// A Mutex moved into memory where a freed object's Mutex was is another Mutex: the freed one was
    /// forgotten with its object (else the new one took its class and orders: a false inversion).
    @Test func aMutexMovedIntoAFreedMutexsMemoryIsANewMutex() throws {
        let run = try Self.run("moved-into-freed-memory")
        // The allocator gave the freed memory back (else this test would not test the reuse).
        #expect(run.output.contains("same memory"), "\(run.output)")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0)
    }

    /// The moved Mutex of a live object keeps its class: taken in both orders with another, an inversion.
    @Test func aMovedMutexTakenInBothOrdersIsAnInversion() throws {
        let run = try Self.run("moved-abba")
        #expect(run.rules == [.lockOrderInversion], "\(run.error)")
        #expect(run.status == 66)
    }

    /// Without LockValidatorPthreads the overlay's hooks are unset: the plain Mutex, no report, status 0.
    @Test func withoutTheLibraryTheOverlaysMutexIsThePlainOne() throws {
        let run = try Self.run("abba", validated: false)
        #expect(run.status == 0 && run.report == nil, "\(run.error)")
        let consistent = try Self.run("consistent", validated: false)
        #expect(consistent.output.contains("total 8000"))
    }
}
