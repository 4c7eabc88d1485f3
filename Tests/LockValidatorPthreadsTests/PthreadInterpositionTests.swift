import Foundation
import LockValidator
import Testing

/// LockValidatorPthreads, end to end: each scenario runs in the `pthread-scenarios` executable, which
/// links the product (so every pthread lock in it is validated); the test reads the child's report and
/// exit status. The product is never linked into this test binary.
@Suite(.serialized) struct PthreadInterpositionTests {
    struct Run {
        let status: Int32
        let output: String
        let error: String
        let report: ValidationReport?

        var rules: [Rule] { report?.violations.map(\.rule) ?? [] }
        /// What the scenario's scopes collected: `<rule> in <scope>` per line it printed.
        var collected: [String] {
            output.split(separator: "\n").filter { $0.hasPrefix("collected: ") }.map { String($0.dropFirst(11)) }
        }
        /// What the scenario itself returned (the process's status is the validator's).
        var scenarioResult: Int32? {
            output.split(separator: "\n").last { $0.hasPrefix("pthread-scenarios:") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Int32($0) }
        }
    }

    /// The build folder this test binary is in, where `swift build --build-tests` puts the executables.
    static let buildDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent()

    static func run(
        _ scenario: String, _ arguments: [String] = [], environment: [String: String] = [:],
        executable name: String = "pthread-scenarios"
    ) throws -> Run {
        // A name is in the build folder; a path is itself.
        let executable = name.hasPrefix("/") ? URL(fileURLWithPath: name) : buildDirectory.appendingPathComponent(name)
        try #require(
            FileManager.default.isExecutableFile(atPath: executable.path),
            "\(executable.path) is missing: `swift build --build-tests` builds it")
        let child = try ChildProcess.run(
            executable, (scenario.isEmpty ? [] : [scenario]) + arguments, environment: environment,
            reportName: "pthread-scenario-\(scenario)", limit: .seconds(300))
        if child.killed { Issue.record("\(name) \(scenario) did not finish in 300 s: a hang") }
        return Run(status: child.status, output: child.output, error: child.error, report: child.report)
    }

    /// The lines and columns (of the text after `= `) of `snippets` in the scenario `name` of
    /// Tests/PthreadScenarios/main.swift, in order.
    static func lines(containing snippets: String..., inScenarioNamed name: String) throws -> [(line: Int, column: Int)]
    {
        try lines(containing: snippets, after: "\"\(name)\": {")
    }

    /// The lines and columns of `snippets` in the function whose declaration starts with `function`.
    static func lines(containing snippets: String..., inFunction function: String) throws -> [(line: Int, column: Int)]
    {
        try lines(containing: snippets, after: function)
    }

    private static func lines(containing snippets: [String], after marker: String) throws -> [(line: Int, column: Int)]
    {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PthreadScenarios/main.swift")
        let lines = try String(contentsOf: source, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.contains(marker) })
        return try snippets.map { snippet in
            let index = try #require(lines[start...].firstIndex { $0.contains(snippet) })
            let text = lines[index]
            // The column of what follows `= `, else of the snippet.
            let start = try #require(text.range(of: "= ")?.upperBound ?? text.range(of: snippet)?.lowerBound)
            return (index + 1, text.distance(from: text.startIndex, to: start) + 1)
        }
    }

    // MARK: Lock order

    @Test func anNSLockInversionIsReportedWithBothStacksAndFailsTheProcess() throws {
        let run = try Self.run("nslock-abba")
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.status == 66)
        let violation = try #require(run.report?.violations.first)
        // Two classes, keyed by the two NSLock() init sites in the scenario and named by their source lines.
        let names = violation.locks.map(\.name).sorted()
        let lines = try Self.lines(
            containing: "let accounts = NSLock()", "let ledger = NSLock()", inScenarioNamed: "nslock-abba")
        #expect(
            names
                == lines.map {
                    "NSLock created at main.swift:\($0.line):\($0.column) in closure #1 in pthread_scenarios"
                })
        // The sites are code sites that debug information places, never a symbol in a file's place.
        let sites = violation.locks.compactMap(\.site?.code?.location)
        #expect(
            sites.count == 2 && sites.allSatisfy { $0.file?.hasSuffix("Tests/PthreadScenarios/main.swift") == true })
        #expect(violation.site?.code?.location.line.map { $0 > lines[1].line } == true)
        // The stack that closes the cycle, and the one that made the edge before.
        let closing = violation.stack.symbolicated(locations: false).compactMap(\.symbol)
        let earlier = try #require(violation.edges.first).stack.symbolicated(locations: false).compactMap(\.symbol)
        #expect(closing.first?.contains("closure #2") == true)
        #expect(earlier.first?.contains("closure #1") == true)
        #expect(run.error.contains("LockValidator: exiting with status 66"))
    }

    @Test func anInversionBetweenCMutexesIsReported() throws {
        let run = try Self.run("c-abba")
        #expect(run.rules == [.lockOrderInversion])
        let names = try #require(run.report?.violations.first).locks.map(\.name)
        // Static mutexes are classes of their own, named by their symbols, whichever helper locks them first.
        #expect(Set(names) == ["static mutex first in pthread-scenarios", "static mutex second in pthread-scenarios"])
    }

    /// The verdict through the interposer's happens-before: two threads a semaphore orders (outside the
    /// model) can deadlock; a thread joined before the other is created, or an order taken before the
    /// other's `Thread` starts, cannot; and LOCKVALIDATOR_FAIL_ON=can-deadlock lets the process pass then.
    @Test func theVerdictFollowsPthreadCreateAndJoin() throws {
        let meeting = try Self.run("c-abba")
        #expect(meeting.report?.violations.first?.verdict == .canDeadlock)
        let joined = try Self.run("c-abba-joined")
        #expect(joined.rules == [.lockOrderInversion])
        #expect(joined.report?.violations.first?.verdict?.reason == .orderedByJoin)
        #expect(joined.status == 66)
        let started = try Self.run("c-abba-thread-start")
        #expect(started.report?.violations.first?.verdict?.reason == .orderedByCreate)
        let lenient = try Self.run("c-abba-joined", environment: ["LOCKVALIDATOR_FAIL_ON": "can-deadlock"])
        #expect(lenient.status == 0 && lenient.rules == [.lockOrderInversion])
        #expect(lenient.report?.violations.first?.severity == .warning)
        let strict = try Self.run("c-abba", environment: ["LOCKVALIDATOR_FAIL_ON": "can-deadlock"])
        #expect(strict.status == 66)
    }

    /// The gate verdict with threads racing for the gate (issue 33): eight threads start at once, take a
    /// static mutex as gate, then two mutexes in both orders. The static gate's racing first locks may
    /// make two objects of its class for a moment; it is still one lock, and the cycle cannot deadlock. The
    /// true negative: a heap gate whose class has a second lock alive is no gate (each thread could hold
    /// one), and the same cycle can deadlock.
    @Test func aStaticGateRacedForIsAGateAndAClassOfTwoLiveLocksIsNot() throws {
        let gated = try Self.run("c-gate-race", ["static"])
        #expect(gated.rules == [.lockOrderInversion], "\(gated.error)")
        let verdict = try #require(gated.report?.violations.first?.verdict)
        #expect(verdict.reason == .gateLock, "\(verdict.description)")
        #expect(verdict.gate == "static mutex static_gate in pthread-scenarios")
        #expect(gated.status == 66, "lockdep's default: every inversion fails")
        let lenient = try Self.run("c-gate-race", ["static"], environment: ["LOCKVALIDATOR_FAIL_ON": "can-deadlock"])
        #expect(lenient.status == 0 && lenient.report?.violations.first?.severity == .warning, "\(lenient.error)")

        let ungated = try Self.run("c-gate-race", ["heap"])
        #expect(ungated.rules == [.lockOrderInversion], "\(ungated.error)")
        #expect(ungated.report?.violations.first?.verdict == .canDeadlock)
    }

    /// An acquire made inside a lock wrapper (a type named `…Lock` whose methods call pthreads, as
    /// `NIOLock`) is shown at the wrapper's caller, where the stack shows it: the violation's site (and so a
    /// test failure) and each edge's acquire site; the class is named by the wrapper, created at its caller.
    @Test func acquiresInALockWrapperAreShownAtTheirCallers() throws {
        let run = try Self.run("wrapper-abba")
        let violation = try #require(run.report?.violations.first)
        #expect(run.rules == [.lockOrderInversion])
        let lines = try Self.lines(
            containing: "let books = LedgerLock()", "let vault = LedgerLock()", inScenarioNamed: "wrapper-abba")
        for (lock, line) in zip(violation.locks.sorted { $0.name < $1.name }, lines) {
            #expect(
                lock.name.hasPrefix("LedgerLock created at main.swift:\(line.line):\(line.column) in closure #"),
                "\(lock.name)")
        }
        let closingLine = try Self.lines(containing: "books.lock()", inScenarioNamed: "wrapper-abba")[0].line
        #expect(violation.site?.code?.location.line == closingLine, "\(String(describing: violation.site))")
        #expect(violation.site?.code?.location.fileName == "main.swift")
        for edge in violation.edges {
            #expect(edge.toAcquiredAt.code?.location.fileName == "main.swift", "\(edge.toAcquiredAt)")
        }
    }

    /// Serial Dispatch queues are locks to the validator (issue 32, point 2): `a.sync { b.sync {} }` and
    /// `b.sync { a.sync {} }` are an ABBA, classes named by label, the acquire sites the program's lines.
    @Test func serialQueuesTakenInBothOrdersAreAnInversion() throws {
        let run = try Self.run("queue-abba")
        #expect(run.rules == [.lockOrderInversion], "\(run.error)")
        let violation = try #require(run.report?.violations.first)
        // Keyed where they are made, named by label too.
        let lines = try Self.lines(
            containing: "DispatchQueue(label: \"bank.accounts\")", "DispatchQueue(label: \"bank.ledger\")",
            inScenarioNamed: "queue-abba")
        let names = violation.cycle.sorted()
        #expect(names.count == 2, "\(names)")
        for (name, (label, line)) in zip(names, zip(["bank.accounts", "bank.ledger"], lines)) {
            #expect(name.hasPrefix("serial queue \(label) created at main.swift:\(line.line):\(line.column) in "), "\(name)")
        }
        for edge in violation.edges {
            #expect(edge.toAcquiredAt.code?.location.fileName == "main.swift", "\(edge.toAcquiredAt)")
            // Its stack as reports show it starts at the program's `sync`, not in libdispatch or the
            // interposer (their six frames were all a dependency chain showed).
            let first = edge.stack.symbolicated().first
            #expect(first?.file?.hasSuffix("PthreadScenarios/main.swift") == true, "\(edge.stack.symbolicated())")
        }
        // Each held queue at its own `sync` in the program, not inside DispatchQueue.sync (one return address
        // for both, and a frame each on the stack).
        let syncs = try Self.lines(
            containing: "// the held queue", "// the one it waits for", inScenarioNamed: "queue-abba")
        let (held, waited) = (syncs[0].line, syncs[1].line)
        let heldQueue = try #require(violation.heldLocks.first { $0.lock.name.hasPrefix("serial queue bank.ledger") })
        #expect(heldQueue.acquiredAt.code?.location.fileName == "main.swift", "\(heldQueue.acquiredAt)")
        #expect(heldQueue.acquiredAt.code?.location.line == held, "\(heldQueue.acquiredAt)")
        if let acquiring = violation.heldLocks.first(where: { $0.lock.name.hasPrefix("serial queue bank.accounts") }) {
            #expect(acquiring.acquiredAt.code?.location.line == waited, "\(acquiring.acquiredAt)")
        }
        // So is the order's: "already holds bank.ledger, acquired at" said the line of the inner `sync`.
        let order = try #require(violation.edges.first { $0.from.name.hasPrefix("serial queue bank.ledger") })
        #expect(order.fromAcquiredAt.code?.location.line == held, "\(order.fromAcquiredAt)")
        #expect(order.toAcquiredAt.code?.location.line == waited, "\(order.toAcquiredAt)")
        #expect(run.status == 66)
    }

    /// Four threads contending for two queues in one order, with an NSLock inside; a concurrent queue's
    /// `sync` in both orders with a serial one: no report.
    @Test func serialQueuesTakenInOneOrderByFourThreadsAreClean() throws {
        let run = try Self.run("queue-consistent")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0)
        let classes = Set(try #require(run.report).graph.classes.map(\.name))
        // A clean process names its classes from symbol tables (the lines are left to lockval).
        #expect(classes.contains { $0.hasPrefix("serial queue bank.accounts created at ") })
        #expect(classes.contains { $0.hasPrefix("serial queue bank.ledger created at ") })
        #expect(!classes.contains { $0.hasPrefix("serial queue bank.workers") })
    }

    /// `q.sync` from a block running on `q` is a recursive acquire: reported before it deadlocks, and the
    /// program goes on (the inner block runs).
    @Test func syncOntoTheRunningQueueIsRecursion() throws {
        let run = try Self.run("queue-recursion")
        #expect(run.rules == [.recursiveAcquire], "\(run.error)")
        // The outer `sync` is named where the program called it, not inside Dispatch's Swift overlay.
        let summary = try #require(run.report?.violations.first).summary
        #expect(
            summary.contains("first acquired at main.swift:") && !summary.contains("DispatchQueue.sync"), "\(summary)")
        #expect(run.output.contains("ran 2 blocks"))
        #expect(run.status == 66)
    }

    /// A block `async` put on a serial queue holds the queue while it runs: `sync` onto it from there is
    /// recursion, and the program goes on.
    @Test func syncOntoTheQueueFromItsAsyncBlockIsRecursion() throws {
        let run = try Self.run("queue-async-recursion")
        #expect(run.rules == [.recursiveAcquire], "\(run.error)")
        #expect(run.output.contains("ran 1 blocks"))
    }

    /// Async blocks take a lock inside their queue; code holding the lock then waiting for the queue is an
    /// inversion, and code taking the queue first (four threads contending) is not.
    @Test(arguments: [[], ["consistent"]])
    func anAsyncBlockOrdersItsQueueBeforeWhatItTakes(arguments: [String]) throws {
        let run = try Self.run("queue-async-lock", arguments)
        #expect(run.rules == (arguments.isEmpty ? [.lockOrderInversion] : []), "\(run.error)")
        if arguments.isEmpty {
            let cycle = try #require(run.report?.violations.first).cycle
            #expect(cycle.contains { $0.hasPrefix("serial queue bank.settlement created at") }, "\(cycle)")
        }
    }

    /// A concurrent queue made where a freed serial queue was is no lock (seen in GRDB's suite: its Pool's
    /// barrier queue was taken for a DatabaseQueue).
    @Test func aConcurrentQueueInAFreedSerialQueuesMemoryIsNoLock() throws {
        let run = try Self.run("queue-address-reused")
        #expect(run.rules == [], "\(run.error)")
        #expect(run.status == 0)
    }

    /// lock_stat for queues: a `sync` that waits for another thread's block is a contention, with its wait.
    @Test func aSyncThatWaitsForTheQueueIsAContention() throws {
        let run = try Self.run("queue-contended")
        #expect(run.rules == [], "\(run.error)")
        let rows = try #require(run.report).lockStatistics
        let audit = try #require(rows.first { $0.name.hasPrefix("serial queue bank.audit") }, "\(rows.map(\.name))")
        #expect(audit.acquisitions == 2 && audit.contentions == 1, "\(audit)")
        #expect(audit.waitTotalNanoseconds > 1_000_000, "the waiter waited for a 50 ms block: \(audit)")
        let idle = try #require(rows.first { $0.name.hasPrefix("serial queue bank.idle") })
        #expect(idle.acquisitions == 1 && idle.contentions == 0)
    }

    /// `sync` onto a serial queue waits: holding a spin lock it is `blocking-while-held`.
    @Test func syncUnderASpinLockIsBlockingWhileHeld() throws {
        let run = try Self.run("queue-under-spin-lock")
        #expect(run.rules == [.blockingWhileHeld], "\(run.error)")
        let violation = try #require(run.report?.violations.first)
        #expect(violation.locks.contains { $0.name.hasPrefix("serial queue device.requests created at") }, "\(violation.locks)")
    }

    /// A queue and an NSLock in both orders: one graph for both kinds.
    @Test func aQueueAndALockTakenInBothOrdersAreAnInversion() throws {
        let run = try Self.run("queue-and-lock")
        #expect(run.rules == [.lockOrderInversion], "\(run.error)")
        let cycle = try #require(run.report?.violations.first).cycle
        #expect(
            cycle.contains { $0.hasPrefix("serial queue bank.journal created at") }
                && cycle.contains { $0.hasPrefix("NSLock created at") })
    }

    /// The report printed live (standard error) is `lockval show`'s: the same symbolizer, the same frames,
    /// names and lines (issue 28, point 3), and glibc's thread start is `start_thread`, not the export
    /// before it.
    @Test func theLiveReportIsLockvalShows() throws {
        let directory = NSTemporaryDirectory() + "live-report-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/report.json"
        let run = try Self.run("nslock-abba", environment: ["LOCKVALIDATOR_REPORT": path])
        #expect(try ValidationReport.load(from: path).violations.map(\.rule) == [.lockOrderInversion])
        let show = try Self.run("show", [path], executable: "lockval")
        func block(_ text: String) -> String? {
            guard let start = text.range(of: "=================="), let end = text.range(of: "anchor: ") else {
                return nil
            }
            return String(text[start.lowerBound..<end.lowerBound])
        }
        let live = try #require(block(run.error))
        #expect(live == block(show.output))
        #expect(live.contains("(/") && live.contains("Tests/PthreadScenarios/main.swift:"), "file:line in every frame")
        #expect(live.contains("start_thread") && !live.contains("pthread_condattr_setpshared"))
    }

    /// Point 10 of issue 28: static locks first taken through one helper are two classes (lockdep keys each
    /// static lock by itself), so correct code is no `same-class-nesting`.
    @Test func staticMutexesFirstLockedThroughOneHelperAreClassesOfTheirOwn() throws {
        let run = try Self.run("c-statics-through-one-helper")
        #expect(run.rules == [])
        #expect(run.status == 0)
        let classes = Set(try #require(run.report).graph.classes.map(\.name))
        #expect(
            classes.isSuperset(of: [
                "static mutex catalogue in pthread-scenarios", "static mutex inventory in pthread-scenarios",
            ]))
    }

    /// Code whose name holds the letters "lock" (`clock_reader_create`, `block_cache_create`) is program code,
    /// where classes are keyed; a wrapper named for a lock (`my_lock_init`) is lock code, keyed at its caller.
    @Test func onlyLockWordsMakeCLockCode() throws {
        let run = try Self.run("c-lock-words")
        #expect(run.rules == [.lockOrderInversion])
        let names = Set(try #require(run.report?.violations.first).locks.map(\.name))
        // The cycle closes between the reader's mutex and the wrapped one, whatever other class it passes.
        for function in ["clock_reader_create", "scenario_c_open_reader_and_cache"] {
            #expect(
                names.contains { $0.hasPrefix("mutex created at scenarios.c:") && $0.hasSuffix(" in \(function)") },
                "\(names)")
        }
        let classes = try #require(run.report).graph.classes.map(\.name)
        #expect(classes.contains { $0.hasSuffix(" in block_cache_create") }, "\(classes)")
        // Never glibc's clone frame, nor the wrapper.
        #expect(!classes.contains { $0.contains("clone") || $0.contains("xmknod") || $0.contains("in my_lock_init") })
    }

    /// Point 11: unlocking a mutex nothing locked (statically initialised, so never seen) is reported, as
    /// Helgrind reports it; the unlock itself is still made.
    @Test func anUnlockOfAMutexNeverLockedIsReleaseNotHeld() throws {
        let run = try Self.run("c-unlock-never-locked")
        #expect(run.rules == [.releaseNotHeld])
        #expect(run.scenarioResult == 0)
        let violation = try #require(run.report?.violations.first)
        #expect(violation.locks.map(\.name) == ["static mutex never_locked in pthread-scenarios"])
        #expect(violation.site?.code?.location.function == "scenario_c_release_what_nobody_holds")
    }

    @Test func classesNamedInCodeNameTheReport() throws {
        let run = try Self.run("named-classes")
        #expect(run.rules == [.lockOrderInversion])
        #expect(Set(try #require(run.report?.violations.first).locks.map(\.name)) == ["Bank.accounts", "Bank.ledger"])
    }

    @Test func cMutexesNamedInCodeNameTheReport() throws {
        let run = try Self.run("set-class-name")
        #expect(run.rules == [.lockOrderInversion])
        #expect(Set(try #require(run.report?.violations.first).locks.map(\.name)) == ["Cache.index", "Cache.entries"])
    }

    @Test func twoLocksOfOneClassNestNeedANestingLevel() throws {
        let undeclared = try Self.run("same-class-nested")
        #expect(undeclared.rules == [.sameClassNesting])
        let declared = try Self.run("same-class-nested-declared")
        #expect(declared.rules.isEmpty && declared.status == 0)
        #expect(declared.report?.graph.classes.contains { $0.name == "Node.lock/1" } == true)
    }

    @Test func aReaderWriterCycleNeedsAWriter() throws {
        let readers = try Self.run("rwlock-readers")
        #expect(readers.rules.isEmpty && readers.status == 0)
        #expect(readers.report?.graph.edges.isEmpty == false)  // the orders were seen, and are fine
        let writer = try Self.run("rwlock-writer")
        #expect(writer.rules == [.lockOrderInversion])
    }

    @Test(arguments: [
        "consistent", "c-consistent", "recursive-lock", "condition-ping-pong", "timed-out", "fork",
        "spin-lock-contended",
        "rwlock-contended",
    ])
    func correctCodeIsCleanAndWorks(scenario: String) throws {
        let run = try Self.run(scenario)
        #expect(run.rules.isEmpty, "\(run.report?.violations.map(\.summary) ?? [])")
        #expect(run.status == 0)
        #expect(run.scenarioResult == 0)
        #expect(run.report?.graph.classes.isEmpty == false)
    }

    /// The interposer's lock table grows as locks are made: a mutex entered before it grew is still found
    /// (its unlock, else its thread exits holding it; its class, in an order it takes part in), and the
    /// removals of 20,000 mutexes leave no false report.
    @Test(arguments: [false, true])
    func mutexesAreFoundAcrossTheLockTablesGrowth(consistent: Bool) throws {
        let run = try Self.run("table-growth", consistent ? ["consistent"] : [])
        #expect(
            run.rules == (consistent ? [] : [.lockOrderInversion]), "\(run.report?.violations.map(\.summary) ?? [])")
        #expect(run.scenarioResult == 0)
        if !consistent {
            // The classes given before and after the growth, not ones made anew for locks the table lost.
            let names = try #require(run.report?.violations.first).locks.map(\.name)
            #expect(Set(names) == ["table.early", "table.late"])
        }
    }

    @Test func contendedMutexesShowContentionsAndWaitTime() throws {
        let run = try Self.run("mutex-contended")
        #expect(run.rules.isEmpty, "\(run.report?.violations.map(\.summary) ?? [])")
        #expect(run.scenarioResult == 0)
        let statistics = try #require(run.report?.lockStatistics)
        let contended = try #require(statistics.first { $0.name == "Scenario.contended" }, "\(statistics)")
        #expect(contended.acquisitions == 8_001)
        #expect(contended.contentions >= 1)
        #expect(contended.contentions <= contended.acquisitions)
        #expect(contended.waitTotalNanoseconds > 0)
        #expect(contended.waitMaxNanoseconds > 0)
        // The true negative: a mutex only one thread takes never waits.
        let alone = try #require(statistics.first { $0.name == "Scenario.alone" }, "\(statistics)")
        #expect(alone.acquisitions == 1_000)
        #expect(alone.contentions == 0)
        #expect(alone.waitTotalNanoseconds == 0)
    }

    // MARK: Misuse: reported, and the program goes on as without the validator

    @Test func aMutexTakenUnderASpinLockIsBlockingWhileHeld() throws {
        let run = try Self.run("mutex-under-spin-lock")
        #expect(run.rules == [.blockingWhileHeld])
        #expect(run.scenarioResult == 0)
    }

    @Test func relockingANormalMutexIsReportedInsteadOfHanging() throws {
        let run = try Self.run("relock-normal-mutex")
        #expect(run.rules == [.recursiveAcquire])
        #expect(run.scenarioResult == 0)  // the second lock returned 0, and the mutex was free afterwards
    }

    @Test func relockingAnErrorCheckingMutexStillFailsWithEDEADLK() throws {
        let run = try Self.run("relock-error-checking-mutex")
        #expect(run.rules == [.recursiveAcquire])
        #expect(run.scenarioResult == 0)
    }

    /// One decoder of mutex kinds (the interposer's): a mutex named before the interposer saw it keeps its
    /// kind, so an error-checking one still refuses a relock with EDEADLK instead of being skipped.
    @Test func aNamedErrorCheckingMutexStillFailsARelockWithEDEADLK() throws {
        let run = try Self.run("relock-named-error-checking-mutex")
        #expect(run.rules == [.recursiveAcquire])
        #expect(run.scenarioResult == 0)
    }

    @Test func unlockingAMutexNotHeldIsReportedAndForwarded() throws {
        let run = try Self.run("unlock-not-held")
        #expect(run.rules == [.releaseNotHeld])
        #expect(run.scenarioResult == 0)
    }

    @Test func destroyingAHeldMutexIsReported() throws {
        let run = try Self.run("destroy-held")
        #expect(run.rules == [.lockFreedWhileHeld])
    }

    @Test func destroyingAMutexAnotherThreadHoldsNamesTheHolder() throws {
        let run = try Self.run("destroy-held-elsewhere")
        #expect(run.rules == [.lockFreedWhileHeld])
        let summary = try #require(run.report?.violations.first?.summary)
        // Named as reports name threads (an unnamed thread bears the executable's name), not by number alone.
        #expect(summary.contains(try Regex(#"held by thread \d+ "pthread-scenarios" \(tid \d+\)"#)), "\(summary)")
    }

    @Test func aCProgramIsValidatedThroughLDPRELOAD() throws {
        let library = Self.buildDirectory.appendingPathComponent("libLockValidatorPreload.so")
        try #require(FileManager.default.fileExists(atPath: library.path), "swift build --build-tests builds it")
        let run = try Self.run("", environment: ["LD_PRELOAD": library.path], executable: "c-lock-order")
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.status == 66)
        #expect(run.output.contains("c-lock-order: done"))
        let names = try #require(run.report?.violations.first).locks.map(\.name)
        #expect(Set(names) == ["static mutex accounts in c-lock-order", "static mutex ledger in c-lock-order"])
        let plain = try Self.run("", executable: "c-lock-order")
        #expect(plain.status == 0 && plain.report == nil)
    }

    // MARK: Scopes go with the work they start

    @Test(arguments: [
        "thread", "global-queue", "serial-queue", "work-item", "async-after", "concurrent-perform", "detached-task",
        "task-in-detached-task", "immediate-task-in-detached-task", "child-tasks-in-detached-task", "pthread",
    ])
    func anInversionOnWorkAScopeStartedGoesToThatScope(start: String) throws {
        let run = try Self.run("scoped-inversion", [start])
        #expect(run.collected == ["lock-order-inversion in scope"])
        #expect(run.rules.isEmpty, "the process log: \(run.report?.violations.map(\.summary) ?? [])")
        #expect(run.status == 0)
        #expect(run.scenarioResult == 0)
    }

    @Test func aThreadAScopeStartedEndsHoldingALockInThatScope() throws {
        let run = try Self.run("scoped-thread-exit")
        #expect(run.collected == ["thread-exit-holding-lock in scope"])
        #expect(run.rules.isEmpty && run.status == 0)
    }

    @Test func anInversionOnAThreadStartedOutsideAnyScopeGoesToTheProcessLog() throws {
        let run = try Self.run("unscoped-inversion")
        #expect(run.collected.isEmpty)
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.report?.violations.first?.scope == nil)
        #expect(run.status == 66)
    }

    @Test func anInversionAfterItsScopeEndedGoesToTheProcessLogNamingTheScope() throws {
        let run = try Self.run("late-inversion")
        #expect(run.collected.isEmpty)
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.report?.violations.first?.scope == "test A (after it ended)")
        #expect(run.error.contains("found on work that \"test A\" started, after it ended"))
        #expect(run.error.contains("[in test A (after it ended)]"))
        #expect(run.status == 66)
    }

    @Test func workOneScopeStartedFailsThatScopeNotTheOneOpenWhenItRuns() throws {
        let run = try Self.run("two-scopes")
        let lines = run.output.split(separator: "\n").map(String.init)
        let b = try #require(lines.firstIndex(of: "test B:"))
        #expect(lines[..<b].contains("collected: lock-order-inversion in test A"))
        #expect(!lines[b...].contains { $0.hasPrefix("collected: ") })
        #expect(run.rules.isEmpty && run.status == 0)
    }

    @Test func withInterpositionOffThreadsCarryNoScope() throws {
        // Spin locks are validated either way; only the interposer carries the scope to the thread.
        let on = try Self.run("scoped-spin-inversion")
        #expect(on.collected == ["lock-order-inversion in scope"])
        #expect(on.rules.isEmpty)
        let off = try Self.run("scoped-spin-inversion", environment: ["LOCKVALIDATOR_PTHREADS": "off"])
        #expect(off.collected.isEmpty)
        #expect(off.rules == [.lockOrderInversion])
        #expect(off.report?.violations.first?.scope == nil)
    }

    // MARK: Settings

    @Test func interpositionCanBeTurnedOff() throws {
        let run = try Self.run("nslock-abba", environment: ["LOCKVALIDATOR_PTHREADS": "off"])
        #expect(run.rules.isEmpty)
        #expect(run.status == 0)
        #expect(run.report?.graph.classes.isEmpty ?? true)
    }

    /// A typo names the variable and keeps interposition on: it must not switch a check off (issue 30).
    @Test(arguments: ["maybe", "0", ""])
    func aBadSettingNamesTheVariableAndKeepsValidating(value: String) throws {
        let run = try Self.run("nslock-abba", environment: ["LOCKVALIDATOR_PTHREADS": value])
        #expect(
            run.error.contains("LOCKVALIDATOR_PTHREADS=\"\(value)\" is not valid: expected on or off (it stays on)"))
        #expect(run.rules == [.lockOrderInversion] && run.status == 66)
    }

    /// A bad exit code fails a process with violations all the same (with 66); before, it let it pass.
    @Test(arguments: ["66x", "256", "-1", ""])
    func aBadExitCodeStillFailsAViolatingProcess(value: String) throws {
        let run = try Self.run("nslock-abba", environment: ["LOCKVALIDATOR_EXIT_CODE": value])
        #expect(run.error.contains("LOCKVALIDATOR_EXIT_CODE=\"\(value)\" is not valid"))
        #expect(run.rules == [.lockOrderInversion] && run.status == 66)
    }

    @Test func theExitStatusCanBeChosen() throws {
        let run = try Self.run("nslock-abba", environment: ["LOCKVALIDATOR_EXIT_CODE": "0"])
        #expect(run.rules == [.lockOrderInversion])
        #expect(run.status == 0)
    }

    // MARK: One report per process

    /// The reports in `directory` whose file names start with `prefix`, by the process id in them.
    static func reports(in directory: String, prefix: String) throws -> [Int32: ValidationReport] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix(prefix) && $0.hasSuffix(".json")
        }
        return try files.reduce(into: [:]) { reports, file in
            let report = try JSONDecoder().decode(
                ValidationReport.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            reports[report.process.pid] = report
            #expect(file == "\(prefix)\(report.process.pid).json")
        }
    }

    @Test(arguments: ["directory/", "directory", "run-%p.json"])
    func twoProcessesWriteTwoReports(setting: String) throws {
        let directory = NSTemporaryDirectory() + "lockvalidator-reports-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path: String
        switch setting {
        case "directory/": path = directory + "/"  // made if missing
        case "directory":
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            path = directory
        default:
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            path = directory + "/" + setting
        }
        for _ in 0..<2 {
            let run = try Self.run("nslock-abba", environment: ["LOCKVALIDATOR_REPORT": path])
            #expect(run.status == 66)
        }
        let reports = try Self.reports(in: directory, prefix: setting == "run-%p.json" ? "run-" : "lockvalidator-")
        #expect(reports.count == 2)
        for report in reports.values { #expect(report.violations.map(\.rule) == [.lockOrderInversion]) }
    }
}
