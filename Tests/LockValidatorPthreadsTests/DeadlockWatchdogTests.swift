import Foundation
import LockValidator
import Testing

/// The deadlock watchdog, end to end: each scenario of the C corpus (`deadlock-corpus`, plain C run under
/// `LD_PRELOAD=libLockValidatorPreload.so`) and of `pthread-scenarios` runs as a child process, killed
/// after 60 s; the test reads its exit status, standard error and report. A deadlock must end the run
/// with the `deadlock` report naming every thread of the cycle; a long wait that is not one must not.
@Suite(.serialized) struct DeadlockWatchdogTests {
    typealias Run = ChildProcess

    static let buildDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent()

    /// Runs `executable scenario`, the C corpus under the preload library; kills it after 60 s.
    static func run(
        _ scenario: String, executable name: String = "deadlock-corpus", environment: [String: String] = [:]
    ) throws -> Run {
        let executable = buildDirectory.appendingPathComponent(name)
        let library = buildDirectory.appendingPathComponent("libLockValidatorPreload.so")
        try #require(
            FileManager.default.isExecutableFile(atPath: executable.path)
                && FileManager.default.fileExists(atPath: library.path),
            "\(executable.path) or \(library.path) is missing: `swift build --build-tests` builds them")
        let preload = name == "deadlock-corpus" ? ["LD_PRELOAD": library.path] : [:]
        return try ChildProcess.run(
            executable, [scenario], environment: preload.merging(environment) { _, new in new },
            reportName: "deadlock-\(scenario)", limit: .seconds(60))
    }

    // MARK: Deadlocks end the run, with the cycle

    /// Checks what every deadlocked run must show: ended in time, not killed, non-zero, the report on
    /// standard error and in the file, every thread of the cycle with what it waits for and holds.
    static func expectDeadlock(_ run: Run, among threads: Set<String>) throws {
        #expect(!run.killed, "hung until killed after 60 s")
        #expect(run.seconds < 10, "took \(run.seconds) s")
        #expect(run.status == 66)
        #expect(run.scenarioResult == nil, "the scenario finished: \(run.output)")
        #expect(run.error.contains("ERROR: deadlock: threads blocked on each other's locks"))
        #expect(run.error.contains("the wait-for cycle:"))
        #expect(run.error.contains("LockValidator: deadlock among \(threads.count) threads; exiting with status 66"))
        let violation = try #require(run.deadlock, "no deadlock in the report: \(run.rules)")
        #expect(Set(violation.waits.compactMap(\.thread.name)) == threads)
        #expect(violation.waits.count == threads.count)
        #expect(violation.locks.count == threads.count)
        for (index, wait) in violation.waits.enumerated() {
            // Each waits for a lock the next one holds; the last for one the first holds.
            let next = violation.waits[(index + 1) % violation.waits.count]
            #expect(wait.holder == next.thread.serial)
            // The holder named as reports name threads everywhere: in the summary (so SARIF and HTML) and the
            // wait-for cycle, not "held by thread 2".
            #expect(wait.holderThread == next.thread)
            #expect(violation.summary.contains("held by \(next.thread)"), "\(violation.summary)")
            #expect(run.error.contains("), held by \(next.thread)\n"), "the wait-for cycle names \(next.thread)")
            let lock = try #require(wait.waitingFor)
            #expect(next.heldLocks.contains { $0.lock.instance == lock.instance }, "\(next.thread) holds \(lock)")
            #expect(!wait.heldLocks.contains { $0.lock.instance == lock.instance }, "its pending acquire is not held")
            #expect(!wait.stack.addresses.isEmpty)
            // The thread that found the cycle looked after a second; the others may have begun to wait later.
            #expect(wait.waitedNanoseconds >= (index == 0 ? 1e9 : 1e8))
        }
    }

    @Test(arguments: [
        ("abba", ["abba-one", "abba-two"]),
        ("three-cycle", ["cycle-one", "cycle-two", "cycle-three"]),
        ("rwlock-writers", ["writer-one", "writer-two"]),
        ("rwlock-reader-writer", ["reader", "writer"]),
        ("mutex-spin", ["mutex-holder", "spin-holder"]),
        ("timed-abba", ["timed-one", "timed-two"]),  // its deadline a minute away
    ])
    func aDeadlockEndsTheRunWithItsCycle(scenario: String, threads: [String]) throws {
        let run = try Self.run(scenario)
        try Self.expectDeadlock(run, among: Set(threads))
        // The inversion is found first, by the thread that closed the cycle, before it waited.
        #expect(run.rules.last == .deadlock)
        let ways = Dictionary(
            (run.deadlock?.waits ?? []).map { ($0.thread.name ?? "", ($0.isBlocking, $0.forReading)) },
            uniquingKeysWith: { first, _ in first })
        switch scenario {
        case "rwlock-reader-writer":
            #expect(ways["reader"]! == (true, true) && ways["writer"]! == (true, false))
            #expect(run.error.contains("to read (asked at"))
        case "mutex-spin":
            #expect(ways["spin-holder"]! == (true, nil) && ways["mutex-holder"]! == (false, nil))
            #expect(run.error.contains("\"mutex-holder\"") && run.error.contains("has spun"))
        default:
            #expect(ways.values.allSatisfy { $0 == (true, nil) || $0 == (true, false) })
        }
    }

    @Test func anNSLockDeadlockIsReportedAsTheInversionThenEndsTheRun() throws {
        let run = try Self.run("nslock-deadlock", executable: "pthread-scenarios")
        try Self.expectDeadlock(run, among: ["transfer", "audit"])
        #expect(run.rules == [.lockOrderInversion, .deadlock])
        let inversion = try #require(run.error.range(of: "ERROR: lock-order-inversion"))
        let deadlock = try #require(run.error.range(of: "ERROR: deadlock"))
        #expect(inversion.lowerBound < deadlock.lowerBound)
    }

    /// The same deadlock inside a test (a collecting scope, as the trait and `LockValidatedTestCase` make):
    /// the inversion the scope collected before the closing thread waited would be reported when the test
    /// ends, which never comes. It is reported before the deadlock, in the report file too, and the
    /// framework's lines name the test.
    @Test func aDeadlockInsideATestReportsTheInversionTheTestCollected() throws {
        let run = try Self.run(
            "nslock-deadlock", executable: "pthread-scenarios",
            environment: ["PTHREAD_SCENARIO_TEST": "realDeadlock()"])
        try Self.expectDeadlock(run, among: ["transfer", "audit"])
        #expect(run.rules == [.lockOrderInversion, .deadlock])
        let inversion = try #require(run.error.range(of: "ERROR: lock-order-inversion"))
        let deadlock = try #require(run.error.range(of: "ERROR: deadlock"))
        #expect(inversion.lowerBound < deadlock.lowerBound)
        #expect(
            run.error.contains("1 violation found in \"realDeadlock()\", printed now: the run ends before its scope"))
        #expect(run.deadlock?.scope == "realDeadlock()")
        #expect(run.report?.violations.first?.scope == "realDeadlock()")
        // The test's own lines, after the deadlock's report: its issue, then the deadlock that ended it.
        let lines = try #require(run.error.range(of: "TEST realDeadlock() issue: lock-order-inversion\n"))
        #expect(run.error[lines.upperBound...].hasPrefix("TEST realDeadlock() ended by deadlock\n"))
        #expect(deadlock.lowerBound < lines.lowerBound)
    }

    /// A rule the test allows is not reported for it when the run ends inside it either.
    @Test func aDeadlockInsideATestLeavesOutWhatTheTestAllows() throws {
        let run = try Self.run(
            "nslock-deadlock", executable: "pthread-scenarios",
            environment: ["PTHREAD_SCENARIO_TEST": "allows()", "PTHREAD_SCENARIO_ALLOW": "lock-order-inversion"])
        try Self.expectDeadlock(run, among: ["transfer", "audit"])
        #expect(run.rules == [.deadlock])
        #expect(!run.error.contains("ERROR: lock-order-inversion") && !run.error.contains("printed now: the run ends"))
        #expect(run.error.contains("TEST allows() ended by deadlock"))
    }

    /// A held list shows what is held: the lock a thread waits for (its entry pushed before the wait) is
    /// not among the held locks of the deadlock's reporting thread, nor of the inversion's.
    @Test func theLockAThreadWaitsForIsNotListedAsHeld() throws {
        let run = try Self.run("nslock-deadlock", executable: "pthread-scenarios")
        let deadlock = try #require(run.deadlock)
        let awaited = try #require(deadlock.waits.first?.waitingFor)
        #expect(deadlock.heldLocks.count == 1)
        #expect(!deadlock.heldLocks.contains { $0.lock.instance == awaited.instance })
        let inversion = try #require(run.report?.violations.first { $0.rule == .lockOrderInversion })
        let acquired = try #require(inversion.locks.first)
        #expect(inversion.heldLocks.count == 1)
        #expect(!inversion.heldLocks.contains { $0.lock.instance == acquired.instance })
        #expect(run.error.contains("1 lock held by"))
    }

    /// Two threads blocked in `sync` onto each other's serial queues (issue 32, point 2): Dispatch has no
    /// timed `sync`, so the queue monitor finds the cycle; the run ends with the inversion, then the deadlock.
    @Test func aDeadlockOfTwoSerialQueuesEndsTheRun() throws {
        let run = try Self.run("queue-deadlock", executable: "pthread-scenarios")
        try Self.expectDeadlock(run, among: ["teller", "auditor"])
        #expect(run.rules == [.lockOrderInversion, .deadlock])
        let violation = try #require(run.deadlock)
        let names = violation.locks.map(\.name).sorted()
        #expect(names.count == 2 && names[0].hasPrefix("serial queue bank.accounts created at main.swift:"), "\(names)")
        #expect(names.count == 2 && names[1].hasPrefix("serial queue bank.ledger created at main.swift:"), "\(names)")
        for wait in violation.waits { #expect(wait.waitingAt?.fileNameAndLine?.fileName == "main.swift") }
        // Found by the queue monitor, reported as the first member's: its thread, not the monitor's.
        #expect(violation.waits.contains { $0.thread.serial == violation.thread.serial })
    }

    /// Inside a test, the queues' deadlock belongs to the test whose code waits (the monitor that finds it
    /// runs in no scope), and the inversion the test collected is reported before it.
    @Test func aQueueDeadlockInsideATestIsTheTests() throws {
        let run = try Self.run(
            "queue-deadlock", executable: "pthread-scenarios", environment: ["PTHREAD_SCENARIO_TEST": "queues()"])
        try Self.expectDeadlock(run, among: ["teller", "auditor"])
        #expect(run.rules == [.lockOrderInversion, .deadlock])
        #expect(run.deadlock?.scope == "queues()")
        #expect(run.error.contains("TEST queues() ended by deadlock"))
    }

    @Test func theExitStatusIsTheConfiguredOneButNeverZero() throws {
        let chosen = try Self.run("abba", environment: ["LOCKVALIDATOR_EXIT_CODE": "3"])
        #expect(chosen.status == 3 && chosen.deadlock != nil)
        // LOCKVALIDATOR_EXIT_CODE=0 lets violations pass, not a process that never finished its work.
        let passing = try Self.run("abba", environment: ["LOCKVALIDATOR_EXIT_CODE": "0"])
        #expect(passing.status == 66 && passing.deadlock != nil)
    }

    @Test func theLearnedOrderStoreIsWritten() throws {
        let directory = NSTemporaryDirectory() + "deadlock-store-\(getpid())/"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try Self.run("abba", environment: ["LOCKVALIDATOR_GRAPH": directory])
        #expect(run.deadlock != nil)
        let store = try String(contentsOfFile: directory + "lockvalidator-graph.txt", encoding: .utf8)
        // The classes by their init lines, with their code sites (image, address and source).
        #expect(store.contains("C\tmutex created at main.c:") && store.contains(" in set_up\t@deadlock-corpus\u{1F}0x"))
    }

    @Test func aSelfDeadlockIsStillARecursiveAcquire() throws {
        let run = try Self.run("self-deadlock")
        #expect(run.rules == [.recursiveAcquire])
        #expect(run.scenarioResult == 0)
    }

    // MARK: Long waits that are not deadlocks

    /// A holder sleeping 3 s, a condition wait of 3 s at the end of a chain, a chain ending at a thread
    /// that runs for 3 s, and a cycle that a wait's own 2 s deadline breaks: none is a deadlock.
    @Test(arguments: ["slow-holder", "condition-wait", "running-chain", "timed-backoff"])
    func aLongWaitThatIsNotACycleIsNotReported(scenario: String) throws {
        let run = try Self.run(scenario)
        #expect(!run.killed)
        #expect(!run.rules.contains(.deadlock), "\(run.report?.violations.map(\.summary) ?? [])")
        #expect(!run.error.contains("ERROR: deadlock"))
        #expect(run.scenarioResult == 0, "\(run.output)")
        // Only the backoff's ABBA is an inversion (reported, as any is).
        #expect(run.rules == (scenario == "timed-backoff" ? [.lockOrderInversion] : []))
        #expect(run.status == (scenario == "timed-backoff" ? 66 : 0))
    }

    /// The sliced wait keeps the C library's semantics: a robust mutex's dead owner is EOWNERDEAD, a
    /// recursive mutex waited for is taken twice.
    @Test(arguments: ["robust-owner-died", "recursive-contended"])
    func aWaitKeepsTheLocksSemantics(scenario: String) throws {
        let run = try Self.run(scenario)
        #expect(run.scenarioResult == 0, "\(run.output)")
        #expect(!run.rules.contains(.deadlock))
    }
}
