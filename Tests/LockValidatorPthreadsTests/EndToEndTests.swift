import Foundation
import LockValidator
import LockValidatorReports
import TestSupport
import Testing

/// The end-to-end package (Tests/EndToEnd): a ledger guarded by NSLocks and a C library with its own
/// mutexes and a rwlock, tested with Swift Testing and XCTest as a user tests them, with
/// LockValidatorPthreads and LockValidatorTesting from this repository by path. Every test there is named
/// for how it must end (`fails…`, `passes…`); this suite runs its test binary in both modes and checks each
/// outcome and what the failures say. `scripts/test.sh` builds it first
/// (`swift build --build-tests --package-path Tests/EndToEnd`).
@Suite(.serialized) struct EndToEndTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("EndToEnd")

    /// Runs the package's test binary (`arguments` select Swift Testing), with a report file.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        let binary = package.appendingPathComponent(".build/debug/EndToEndPackageTests.xctest")
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "\(binary.path) is missing: `swift build --build-tests --package-path Tests/EndToEnd` builds it")
        return try ChildProcess.run(
            binary, arguments, environment: environment, reportName: "end-to-end", limit: .seconds(900))
    }

    /// The line where `text` (which may span lines) starts in `file` of the package.
    static func line(of text: String, in file: String) throws -> Int {
        let source = try String(contentsOf: package.appendingPathComponent(file), encoding: .utf8)
        let range = try #require(source.range(of: text), "\(text) is not in \(file)")
        return source[..<range.lowerBound].filter { $0 == "\n" }.count + 1
    }

    /// The test functions of `file` whose names start with `prefix` (`fails`, `passes`).
    static func testNames(in file: String, prefix: String) throws -> [String] {
        let source = try String(contentsOf: package.appendingPathComponent(file), encoding: .utf8)
        return source.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "func \(prefix)") else { return nil }
            return prefix + String(line[range.upperBound...].prefix { $0 != "(" })
        }
    }

    /// Each test's issues (Swift Testing's "recorded an issue" lines and the report under each).
    static func swiftTestingIssues(_ output: String) -> [String: String] {
        var issues: [String: String] = [:]
        var current: String?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if let range = line.range(of: "✘ Test "), line.contains(" recorded an issue") {
                let name = String(line[range.upperBound...].prefix { $0 != "(" })
                current = name
                issues[name, default: ""] += line + "\n"
            } else if line.hasPrefix("✘ ") || line.hasPrefix("✔ ") || line.hasPrefix("◇ ") {
                current = nil
            } else if let current {
                issues[current, default: ""] += line + "\n"
            }
        }
        return issues
    }

    @Test func swiftTestingTestsFailAndPassAsNamed() throws {
        let run = try Self.run(["--testing-library", "swift-testing"])
        // No crash (the trait once turned a code site into an invalid SourceLocation: signal 4).
        #expect(run.reason == .exit, "the test process died: \(run.transcript.suffix(3000))")
        #expect(run.status != 0)
        let names = try Self.testNames(in: "Tests/LedgerTests/LedgerTests.swift", prefix: "fails")
            + Self.testNames(in: "Tests/LedgerTests/LedgerTests.swift", prefix: "passes")
        #expect(names.count == 14)
        // The front ends beyond pthread locks (Mutex through the overlay, Dispatch, a call under a spin lock).
        let frontEnds = try Self.testNames(in: "Tests/LedgerTests/FrontEndTests.swift", prefix: "fails")
            + Self.testNames(in: "Tests/LedgerTests/FrontEndTests.swift", prefix: "passes")
        #expect(frontEnds.count == 9)
        for name in names + frontEnds {
            let failed = run.transcript.contains("✘ Test \(name)() failed")
            let passed = run.transcript.contains("✔ Test \(name)() passed")
            #expect(failed == name.hasPrefix("fails") && passed == name.hasPrefix("passes"), "\(name)")
        }
        let issues = Self.swiftTestingIssues(run.transcript)

        // The issue points at the acquire that closes the cycle, placed by debug information.
        let auditLine = try Self.line(of: "        accounts.lock()\n        let total", in: "Sources/Ledger/Ledger.swift")
        let transferThenAudit = try #require(issues["failsTransferThenAudit"])
        #expect(transferThenAudit.contains("recorded an issue at Ledger.swift:\(auditLine):"), "\(transferThenAudit)")
        // Classes named by their source: two NSLocks of one type told apart at a glance.
        let accountsLine = try Self.line(of: "accounts = NSLock()", in: "Sources/Ledger/Ledger.swift")
        #expect(transferThenAudit.contains("\"NSLock created at Ledger.swift:\(accountsLine):"))
        #expect(transferThenAudit.contains("\"NSLock created at Ledger.swift:\(accountsLine + 1):"))
        #expect(transferThenAudit.contains(" in Ledger.init\""))
        #expect(!transferThenAudit.contains("+0x"), "no symbol+offset where a line is known")
        // The issue's first line (what summaries and JUnit show) is the rule, its summary and the verdict.
        let detail = try #require(transferThenAudit.split(separator: "\n").dropFirst().first)
        #expect(detail.hasPrefix("↳ lock-order-inversion: thread "), "\(transferThenAudit)")
        #expect(detail.contains("; verdict: cannot deadlock in this run: one thread took every order"))

        // Work the test started fails that test.
        for name in ["failsAuditOnAThread", "failsAuditOnDispatch", "failsAuditOnADetachedTask"] {
            #expect(issues[name]?.contains("ERROR: lock-order-inversion") == true, "\(name): \(issues[name] ?? "none")")
        }

        // Advice that fits NSLock: no `nesting:` parameter exists on it.
        let nested = try #require(issues["failsNestedAccountsOfOneClass"])
        #expect(nested.contains("ERROR: same-class-nesting"))
        #expect(nested.contains("LockValidator.withLockClass(") && !nested.contains("withLock(nesting: 1)"))

        // The C library's locks: by their init lines, statics by their symbols, rwlocks as rwlocks.
        let openLine = try Self.line(of: "pthread_mutex_init(&ledger->books", in: "Sources/CLedger/cledger.c")
        let cMutexes = try #require(issues["failsCMutexesInBothOrders"])
        #expect(cMutexes.contains("\"mutex created at cledger.c:\(openLine):"), "\(cMutexes)")
        #expect(cMutexes.contains("\"mutex created at cledger.c:\(openLine + 1):"))
        let rwlocks = try #require(issues["failsRwlockWritersInBothOrders"])
        #expect(rwlocks.contains("ERROR: lock-order-inversion") && rwlocks.contains("index_lock"), "\(rwlocks)")
        #expect(rwlocks.contains("\"rwlock created at cledger.c:") && rwlocks.contains(" in cledger_reindex\""))
        let unlock = try #require(issues["failsUnlockOfAMutexNeverLocked"])
        #expect(unlock.contains("ERROR: release-not-held") && unlock.contains("closed_period"), "\(unlock)")

        // A C library call that blocks, made at DISPATCH_LEVEL: reported at the call, no mightSleep() needed.
        let sleepLine = try Self.line(
            of: "        usleep(1)\n        IRQL.lower", in: "Tests/LedgerTests/LedgerTests.swift")
        let sleeping = try #require(issues["failsSleepingAtDispatchLevel"])
        #expect(sleeping.contains("ERROR: blocking-while-held"), "\(sleeping)")
        #expect(sleeping.contains("called usleep(), which may block, at DISPATCH_LEVEL"))
        #expect(sleeping.contains("recorded an issue at LedgerTests.swift:\(sleepLine):"))

        // Several threads contending, in each front end: the test that caused the violation fails with it.
        let mutexes = try #require(issues["failsMutexesInBothOrders"])
        #expect(mutexes.contains("ERROR: lock-order-inversion"), "\(mutexes)")
        // Each class named where the test made its Mutex.
        let goldLine = try Self.line(of: "let gold = Mutex(0)", in: "Tests/LedgerTests/FrontEndTests.swift")
        for line in [goldLine, goldLine + 1] {
            #expect(
                mutexes.contains("\"Mutex created at FrontEndTests.swift:\(line):")
                    && mutexes.contains(" in FrontEndTests.failsMutexesInBothOrders\""),
                "built without the Mutex overlay? scripts/test.sh writes it: \(mutexes)")
        }
        let queues = try #require(issues["failsQueuesSyncedInBothOrders"])
        #expect(queues.contains("ERROR: lock-order-inversion"), "\(queues)")
        #expect(queues.contains("\"serial queue vault.gold created at FrontEndTests.swift:"), "\(queues)")
        let underSpinLock = try #require(issues["failsSleepingUnderASpinLock"])
        #expect(underSpinLock.contains("ERROR: blocking-while-held"), "\(underSpinLock)")
        #expect(
            underSpinLock.contains("called dispatch_semaphore_wait(), which may block, with the spin lock"),
            "\(underSpinLock)")

        // The report file, and SARIF made from it, valid against the schema.
        let report = try #require(run.report)
        let rules = Set(report.violations.map(\.rule))
        #expect(
            rules.isSuperset(of: [.lockOrderInversion, .sameClassNesting, .releaseNotHeld, .blockingWhileHeld]))
        #expect(try SarifSchema.errors(in: report.sarif(sourceRoot: Self.package.path)) == [])
    }

    @Test func xctestTestsFailAndPassAsNamed() throws {
        let run = try Self.run([])
        #expect(run.reason == .exit, "the test process died: \(run.transcript.suffix(3000))")
        for (name, fails) in [
            ("LedgerXCTests.testFailsTransferThenAudit", true), ("LedgerXCTests.testPassesTransfersAndBalances", false),
            ("LedgerXCTests.testFailsAuditOnAThread", true), ("AssertionXCTests.testFailsInsideTheAssertion", true),
            ("FrontEndXCTests.testFailsMutexesInBothOrders", true),
            ("FrontEndXCTests.testFailsQueuesSyncedInBothOrders", true),
            ("FrontEndXCTests.testFailsSleepingUnderASpinLock", true),
            ("FrontEndXCTests.testPassesAllThreeInOneOrder", false),
        ] {
            #expect(run.transcript.contains("Test Case '\(name)' \(fails ? "failed" : "passed")"), "\(name)")
        }
        // XCTest's failure line: the file and line of the acquire, from debug information.
        let auditLine = try Self.line(of: "        accounts.lock()\n        let total", in: "Sources/Ledger/Ledger.swift")
        #expect(
            run.transcript.contains(
                "Sources/Ledger/Ledger.swift:\(auditLine): error: LedgerXCTests.testFailsTransferThenAudit :"),
            "\(run.transcript.prefix(3000))")
        #expect(run.transcript.contains("error: LedgerXCTests.testFailsAuditOnAThread : lock-order-inversion: thread "))
        // The failure line says what broke, not only where: the report follows it.
        #expect(
            run.transcript.contains("error: LedgerXCTests.testFailsTransferThenAudit : lock-order-inversion: thread "),
            "\(run.transcript.prefix(3000))")
        #expect(!run.transcript.contains(" : \n"), "an empty failure line")
    }

    /// SwiftPM's listing of the tests, which it runs before a filtered `swift test`, tests nothing: it
    /// leaves no report, so the run's shared report lists the processes that tested.
    @Test func theTestListingLeavesNoReport() throws {
        let run = try Self.run(["--dump-tests-json"])
        #expect(run.reason == .exit && run.status == 0, "\(run.transcript.suffix(3000))")
        #expect(run.transcript.contains("WarningXCTests"), "it listed the tests: \(run.transcript.prefix(3000))")
        #expect(run.report == nil)
    }

    /// A test's own failOn (`.lockValidation(failOn:)`, `lockFailOn`) makes a cycle that cannot deadlock a
    /// warning in every output: the issue, the report file, SARIF; and it does not fail the process, whose
    /// LockValidatorPthreads exits with 66 only on violations that fail.
    @Test func aTestsOwnFailOnMakesAWarningEverywhereAndPassesTheProcess() throws {
        let auditLine = try Self.line(
            of: "        accounts.lock()\n        let total", in: "Sources/Ledger/Ledger.swift")
        for (arguments, warning) in [
            (
                ["--testing-library", "swift-testing", "--filter", "WarningTests"],
                "⚠︎ Test passesWithAWarningOnACycleOfOneThread() recorded a warning at Ledger.swift:\(auditLine):"
            ),
            (
                ["LedgerTests.WarningXCTests"],
                "Ledger.swift:\(auditLine): warning: WarningXCTests.testPassesWithAWarningOnACycleOfOneThread :"
                    + " lock-order-inversion: thread "
            ),
        ] {
            let run = try Self.run(arguments)
            #expect(run.reason == .exit && run.status == 0, "\(arguments): \(run.transcript.suffix(3000))")
            #expect(run.transcript.contains(warning), "\(arguments): \(run.transcript.prefix(3000))")
            #expect(run.transcript.contains("WARNING: lock-order-inversion") && !run.transcript.contains("ERROR: "))
            #expect(run.transcript.contains("(a warning: only cycles that can deadlock fail)"))
            #expect(!run.transcript.contains("LockValidator: exiting with status"))
            let report = try #require(run.report, "\(arguments)")
            let inversions = report.violations.filter { $0.rule == .lockOrderInversion }
            #expect(inversions.count == 1, "\(arguments)")
            #expect(inversions.allSatisfy { $0.severity == .warning && $0.failOn == .canDeadlock }, "\(arguments)")
            let sarif = try JSONSerialization.jsonObject(with: Data(report.sarif(sourceRoot: Self.package.path).utf8))
            let runs = (sarif as? [String: Any])?["runs"] as? [[String: Any]]
            let results = runs?.first?["results"] as? [[String: Any]]
            #expect(results?.compactMap { $0["level"] as? String } == ["warning"], "\(arguments)")
            #expect(report.html().contains("<span class=\"rule warning\">lock-order-inversion"), "\(arguments)")
        }
    }

    /// Confirmation mode in each test integration (ConfirmationTests.swift there): the deadlock it makes
    /// form ends the test process, and the test's issue, recorded before the end, says it was confirmed.
    /// The run ends inside the test, which never records its issues: the test's run-end line, in its
    /// framework's format, names the deadlock and says it was confirmed.
    @Test(arguments: [
        (
            ["--testing-library", "swift-testing", "--filter", "confirmsADeadlockUnderTheTrait"],
            "✘ Test confirmsADeadlockUnderTheTrait() recorded an issue at ConfirmationTests.swift:"
        ),
        (
            ["--testing-library", "swift-testing", "--filter", "confirmsAMutexDeadlockUnderTheTrait"],
            "✘ Test confirmsAMutexDeadlockUnderTheTrait() recorded an issue at ConfirmationTests.swift:"
        ),
        (
            ["--testing-library", "swift-testing", "--filter", "confirmsADeadlockItExpectsAsAnInversion"],
            "✘ Test confirmsADeadlockItExpectsAsAnInversion() recorded an issue at ConfirmationTests.swift:"
        ),
        (
            ["LedgerTests.ConfirmationXCTests/testConfirmsADeadlock"],
            "error: ConfirmationXCTests.testConfirmsADeadlock : deadlock - "
        ),
    ])
    func confirmationInsideEachIntegrationIsTheTestsIssue(arguments: [String], issue: String) throws {
        // Each pause ends when the other thread arrives, 200 ms later: a long bound.
        let run = try Self.run(
            arguments, environment: ["LOCKVALIDATOR_CONFIRM": "on", "LOCKVALIDATOR_CONFIRM_MS": "20000"])
        #expect(run.reason == .exit && run.status == 66, "\(run.transcript.suffix(3000))")
        let lines = run.transcript.split(separator: "\n").filter { $0.contains(issue) }
        #expect(
            lines.contains { $0.contains("(confirmed: the cycle formed for real, LOCKVALIDATOR_CONFIRM)") },
            "\(lines) in \(run.transcript.suffix(3000))")
        let deadlock = run.report?.violations.first { $0.rule == .deadlock }
        #expect(deadlock?.confirmation?.status == .confirmed)
    }

    /// A real deadlock through two `Synchronization.Mutex`es (issue 33): the standard library would trap on
    /// the kernel's EDEADLK ("Recursive call to lock Mutex"); the validator waits in slices, and its
    /// watchdog reports the two threads and ends the run.
    @Test func aRealMutexDeadlockIsReported() throws {
        let run = try Self.run(
            ["--testing-library", "swift-testing", "--filter", "reportsARealMutexDeadlock"],
            environment: ["LEDGER_REAL_DEADLOCK": "on"])
        #expect(run.reason == .exit && run.status == 66, "\(run.output.suffix(3000))")
        #expect(!run.output.contains("Recursive call to lock Mutex"))
        let deadlock = try #require(run.report?.violations.first { $0.rule == .deadlock }, "\(run.output.suffix(3000))")
        #expect(deadlock.waits.count == 2)
        #expect(deadlock.locks.allSatisfy { $0.name.hasPrefix("Mutex ") }, "\(deadlock.locks.map(\.name))")
        #expect(deadlock.confirmation == nil, "not confirmation mode")
    }
}
