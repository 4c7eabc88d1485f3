import Foundation
import LockValidator
import LockValidatorReports
import Synchronization
import Testing

/// Lock orders split across processes: each child takes part of a cycle and reports nothing; `lockval
/// merge` and `lockval check` find the cycle in the union of their reports.
@Suite(.serialized) struct CrossProcessTests {
    typealias Run = PthreadInterpositionTests.Run

    /// A fresh directory for one test's reports.
    static func scratchDirectory(_ name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "lockvalidator-\(name)-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs each scenario (name and arguments) in its own child process, one after the other, each
    /// writing its report into `directory`; returns the report paths.
    static func reports(of scenarios: [[String]], in directory: String) throws -> [String] {
        try scenarios.enumerated().map { index, scenario in
            let path = "\(directory)/child-\(index).json"
            let run = try PthreadInterpositionTests.run(
                scenario[0], Array(scenario.dropFirst()), environment: ["LOCKVALIDATOR_REPORT": path])
            #expect(run.status == 0, "\(scenario): \(run.error)")
            let report = try ValidationReport.load(from: path)
            #expect(report.violations.isEmpty, "\(scenario) alone is clean")
            return path
        }
    }

    static func lockval(_ arguments: [String]) throws -> Run {
        try PthreadInterpositionTests.run(arguments[0], Array(arguments.dropFirst()), executable: "lockval")
    }

    @Test func anInversionSplitAcrossTwoProcessesIsFoundWithBothStacks() throws {
        let directory = try Self.scratchDirectory("abba")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try Self.reports(
            of: [["bank-order", "accounts-ledger"], ["bank-order", "ledger-accounts"]], in: directory)
        let pids = try paths.map { try ValidationReport.load(from: $0).process.pid }

        let merged = ValidationReport.merged(try paths.map { try ValidationReport.load(from: $0) })
        let inversion = try #require(merged.violations.first { $0.rule == .lockOrderInversion })
        #expect(inversion.cycle.count == 2)
        // No one process took the whole cycle: its own verdict, which fails as can-deadlock does.
        #expect(inversion.verdict == .acrossProcesses)
        #expect(inversion.fails(under: .canDeadlock))
        #expect(inversion.cycle.allSatisfy { $0.contains("bankLocks") }, "classes by init site: \(inversion.cycle)")
        // Each lock names where its class's locks are created (the two lines of bankLocks()), not where an
        // edge acquired it (issue 28, point 9).
        let lines = try PthreadInterpositionTests.lines(
            containing: "let accounts = NSLock()", "let ledger = NSLock()", inFunction: "func bankLocks()")
        let creationLines = Set(inversion.locks.compactMap { $0.site?.code?.location.line })
        #expect(creationLines == Set(lines.map(\.line)), "\(inversion.locks.map(\.site))")
        #expect(Set(inversion.edges.compactMap(\.process?.pid)) == Set(pids))
        for edge in inversion.edges {
            let frames = edge.stack.symbolicated().compactMap(\.symbol)
            #expect(frames.contains { $0.contains("pthread_scenarios") }, "\(edge): \(frames)")
        }

        let sarifPath = directory + "/check.sarif"
        let check = try Self.lockval(["check", "--sarif", sarifPath] + paths)
        #expect(check.status == 1, "\(check.error)")
        #expect(check.output.contains("possible circular locking dependency"))
        // The class names say where the locks were created, once (no ", created at" after them).
        for line in lines { #expect(check.output.contains("\"NSLock created at main.swift:\(line.line):")) }
        #expect(!check.output.contains("in bankLocks\" #0, created at"), "\(check.output)")
        // No instance number for a class known across processes, and no claim that the thread held nothing.
        #expect(!check.output.contains("\" #0"), "\(check.output)")
        #expect(!check.output.contains("no locks held by"), "\(check.output)")
        for pid in pids { #expect(check.output.contains("in process \(pid) ("), "\(check.output)") }
        #expect(check.output.contains("and other processes took the orders that lead back:"), "\(check.output)")
        #expect(check.output.contains("\nverdict: can deadlock across processes: "), "\(check.output)")
        let sarif = try String(contentsOfFile: sarifPath, encoding: .utf8)
        #expect(sarif.contains("\"ruleId\" : \"lock-order-inversion\""))

        // A suppression covers an inversion found across processes as it does one found in a process.
        let suppressions = directory + "/check.supp"
        try "# the bank's order is known\nlock-order-inversion:*bankLocks*\n".write(
            toFile: suppressions, atomically: true, encoding: .utf8)
        let suppressed = try Self.lockval(["check", "--suppressions", suppressions] + paths)
        #expect(suppressed.status == 0, "\(suppressed.output)")
        #expect(suppressed.output.contains("0 violations (0 occurrences), 1 suppressed"), "\(suppressed.output)")
        try "lock-order-inversion\n".write(toFile: suppressions, atomically: true, encoding: .utf8)
        let badSuppressions = try Self.lockval(["check", "--suppressions", suppressions] + paths)
        #expect(badSuppressions.status == 2, "\(badSuppressions.error)")
        #expect(badSuppressions.error.contains("\(suppressions):1: expected rule:pattern"), "\(badSuppressions.error)")

        let mergeRun = try Self.lockval(["merge"] + paths)
        #expect(mergeRun.status == 0)
        #expect(mergeRun.output.contains("lock-order-inversion"))
    }

    @Test func aThreeProcessCycleIsFound() throws {
        let directory = try Self.scratchDirectory("abbcca")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try Self.reports(
            of: [
                ["named-order", "Cross.A", "Cross.B"], ["named-order", "Cross.B", "Cross.C"],
                ["named-order", "Cross.C", "Cross.A"],
            ], in: directory)
        let check = try Self.lockval(["check"] + paths)
        #expect(check.status == 1)
        let merged = ValidationReport.merged(try paths.map { try ValidationReport.load(from: $0) })
        let inversions = merged.violations.filter { $0.rule == .lockOrderInversion }
        #expect(inversions.count == 1)
        #expect(Set(inversions.first?.cycle ?? []) == ["Cross.A", "Cross.B", "Cross.C"])
        #expect(Set(inversions.first?.edges.compactMap(\.process?.pid) ?? []).count == 3)
    }

    @Test func consistentOrdersAcrossProcessesStayClean() throws {
        let directory = try Self.scratchDirectory("consistent")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try Self.reports(
            of: [
                ["named-order", "Cross.A", "Cross.B"], ["named-order", "Cross.A", "Cross.B", "Cross.C"],
                ["named-order", "Cross.B", "Cross.C"], ["bank-order", "accounts-ledger"],
            ], in: directory)
        let check = try Self.lockval(["check"] + paths)
        #expect(check.status == 0, "\(check.output)")
        #expect(ValidationReport.merged(try paths.map { try ValidationReport.load(from: $0) }).violations.isEmpty)
    }

    // MARK: One report file for a run

    @Test func theProcessesOfOneRunAddToOneReportFile() throws {
        let directory = try Self.scratchDirectory("shared")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/report.json"
        // A report an earlier run left (another parent process): replaced, not merged.
        var stale = ValidationReport.merged([
            try ValidationReport.load(
                from: try Self.reports(
                    of: [["named-order", "Stale.A", "Stale.B"]], in: directory)[0])
        ])
        stale.process.run = "1@1"
        stale.mergedFrom = nil
        try stale.jsonText().write(toFile: path, atomically: true, encoding: .utf8)

        for half in ["accounts-ledger", "ledger-accounts"] {
            let run = try PthreadInterpositionTests.run(
                "bank-order", [half], environment: ["LOCKVALIDATOR_REPORT": path])
            #expect(run.status == 0, "\(run.error)")
        }
        let report = try ValidationReport.load(from: path)
        #expect(report.processes.count == 2)
        #expect(Set(report.processes.map(\.pid)).count == 2)
        #expect(report.processes.allSatisfy { $0.arguments.first == "bank-order" })
        #expect(!report.graph.classes.contains { $0.name.hasPrefix("Stale.") })
        // Neither process alone had a cycle; the file of their run has it.
        #expect(report.violations.map(\.rule) == [.lockOrderInversion])
    }

    /// A process that found nothing looks nothing up in debug information (a large test binary made that
    /// a second or more per process): its report names sites from symbol tables and records the images;
    /// reading it (`lockval`, ``ValidationReport/load(from:resolvingDeferredLookUps:)``) looks the lines up.
    /// A process with a violation looks up its own (issue 31, point 2).
    @Test func aCleanProcessLeavesItsLinesToBeLookedUpWhenTheReportIsRead() throws {
        let directory = try Self.scratchDirectory("deferred")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.reports(of: [["bank-order", "accounts-ledger"]], in: directory)[0]
        let lines = try PthreadInterpositionTests.lines(
            containing: "let accounts = NSLock()", "let ledger = NSLock()", inFunction: "func bankLocks()")

        let written = try ValidationReport.load(from: path, resolvingDeferredLookUps: false)
        let images = try #require(written.process.deferredImages)
        let scenarios = try #require(images.first { $0.module == "pthread-scenarios" }, "\(images)")
        #expect(scenarios.path.hasSuffix("/pthread-scenarios") && scenarios.buildID?.isEmpty == false)
        let bank = written.graph.classes.filter { $0.name.contains("bankLocks") }
        #expect(bank.count == 2, "\(written.graph.classes.map(\.name))")
        #expect(bank.allSatisfy { $0.name.hasPrefix("NSLock created at bankLocks+0x") }, "\(bank.map(\.name))")
        #expect(bank.allSatisfy { $0.site?.code?.location.line == nil })

        let read = try ValidationReport.load(from: path)
        #expect(read.process.deferredImages == nil)
        let named = read.graph.classes.filter { $0.name.contains("bankLocks") }.map(\.name).sorted()
        #expect(named == lines.map { "NSLock created at main.swift:\($0.line):\($0.column) in bankLocks" }.sorted())
        let edge = try #require(read.graph.edges.first { $0.from.contains("bankLocks") })
        #expect(named.contains(edge.from) && named.contains(edge.to), "the edges are renamed with their classes")
        #expect(
            read.graph.classes.filter { $0.name.contains("bankLocks") }.allSatisfy {
                $0.site?.code?.location.line != nil
            })

        // A rebuilt image (another build id) is not asked: what the report named stays.
        var stale = written
        stale.process.deferredImages = images.map { image in
            var image = image
            image.buildID = String(repeating: "0", count: 40)
            return image
        }
        #expect(stale.resolvingDeferredLookUps().graph.classes.map(\.name) == written.graph.classes.map(\.name))

        // A process with a violation names its own sites from debug information.
        let abba = directory + "/abba.json"
        _ = try PthreadInterpositionTests.run("nslock-abba", environment: ["LOCKVALIDATOR_REPORT": abba])
        let found = try ValidationReport.load(from: abba, resolvingDeferredLookUps: false)
        #expect(found.process.deferredImages == nil && !found.violations.isEmpty)
        #expect(found.violations[0].cycle.allSatisfy { $0.contains(".swift:") }, "\(found.violations[0].cycle)")
    }

    /// Two commands one shell runs one after the other are two runs: the second's report replaces the
    /// first's, and counts its own occurrences (before, they blurred into one report, counts 1, 2, 3).
    @Test func twoCommandsOfOneShellAreTwoRuns() throws {
        let directory = try Self.scratchDirectory("shell")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/report.json"
        let scenarios = PthreadInterpositionTests.buildDirectory.appendingPathComponent("pthread-scenarios").path
        func shell(_ commands: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            // `; true` last: a shell may run its last command in its own place, leaving no shell as the parent.
            process.arguments = ["-c", commands + "; true"]
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LOCKVALIDATOR") }
            environment["LOCKVALIDATOR_REPORT"] = path
            environment["LOCKVALIDATOR_EXIT_CODE"] = "0"
            process.environment = environment
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        }
        try shell("'\(scenarios)' nslock-abba; '\(scenarios)' consistent")
        let second = try ValidationReport.load(from: path)
        #expect(second.processes.count == 1 && second.processes[0].arguments == ["consistent"])
        #expect(second.violations.isEmpty, "the first command's violation is not the second's")
        try shell("'\(scenarios)' nslock-abba; '\(scenarios)' nslock-abba")
        let third = try ValidationReport.load(from: path)
        #expect(third.violations.map(\.occurrences) == [1])
    }

    /// A report or store path never overwrites a file that is not one of ours (issue 30): one line says so.
    @Test func aFileThatIsNotOursIsNeverOverwritten() throws {
        let directory = try Self.scratchDirectory("not-ours")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notes = directory + "/notes.txt"
        let text = "my notes: not a report\n"
        try text.write(toFile: notes, atomically: true, encoding: .utf8)
        let run = try PthreadInterpositionTests.run("nslock-abba", environment: ["LOCKVALIDATOR_REPORT": notes])
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == text)
        #expect(run.error.contains("LOCKVALIDATOR_REPORT: \(notes) is not a LockValidator report; it is left as it is"))
        #expect(run.status == 66, "the violation still fails the process")
        for command in [["store", "reset", notes], ["store", "prune", "--runs", "1", notes]] {
            let lockval = try Self.lockval(command)
            #expect(lockval.status == 2, "\(command): \(lockval.output)")
            #expect(lockval.error.contains("not a learned-order store"), "\(command): \(lockval.error)")
            #expect(try String(contentsOfFile: notes, encoding: .utf8) == text)
        }
        // An empty file, or none, is ours to write.
        try "".write(toFile: notes, atomically: true, encoding: .utf8)
        #expect(try Self.lockval(["store", "reset", notes]).status == 0)
        #expect(try String(contentsOfFile: notes, encoding: .utf8).hasPrefix(LearnedOrderStore.schemaName))
    }

    // MARK: The learned-order store

    @Test func anOrderAnEarlierProcessLearnedIsValidatedAgainst() throws {
        let directory = try Self.scratchDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ["LOCKVALIDATOR_GRAPH": directory + "/"]
        let first = try PthreadInterpositionTests.run("named-order", ["Store.A", "Store.B"], environment: store)
        #expect(first.status == 0 && first.rules.isEmpty, "\(first.error)")
        let second = try PthreadInterpositionTests.run("named-order", ["Store.B", "Store.A"], environment: store)
        #expect(second.status == 66, "found while it runs, not after: \(second.error)")
        let inversion = try #require(second.report?.violations.first { $0.rule == .lockOrderInversion })
        let learned = try #require(inversion.edges.first { $0.process != nil })
        #expect(learned.from.name == "Store.A" && learned.to.name == "Store.B")
        #expect(learned.process?.arguments == ["named-order", "Store.A", "Store.B"])
        #expect(learned.stack.symbolicated().contains { $0.symbol?.contains("pthread_scenarios") == true })
        #expect(second.report?.graph.edges.map(\.from) == ["Store.B"], "a report shows only its own orders")

        // Both orders are in the store now, each from its process: `check` finds the cycle in it.
        let check = try Self.lockval(["check", directory])
        #expect(check.status == 1, "\(check.output)")
    }

    /// `NSLocking.withLock`, emitted into the program, calls `NSLock.lock` through a witness thunk of
    /// Foundation's that no symbol names, and `NSLock.lock` tail-calls `pthread_mutex_lock`: the interposed
    /// call returns into the thunk. Every site passes over it (and over `withLock`) to the program's line:
    /// the violation's, each held lock's, the learned order's, and `lockval store show`'s (it said
    /// `libFoundation.so+0x2cdae5`).
    @Test func anNSLockTakenThroughWithLockIsShownAtTheProgramsLine() throws {
        let directory = try Self.scratchDirectory("withlock-site")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ["LOCKVALIDATOR_GRAPH": directory + "/"]
        let first = try PthreadInterpositionTests.run("named-order", ["WithLock.A", "WithLock.B"], environment: store)
        #expect(first.status == 0 && first.rules.isEmpty, "\(first.error)")
        let second = try PthreadInterpositionTests.run("named-order", ["WithLock.B", "WithLock.A"], environment: store)
        let inversion = try #require(second.report?.violations.first { $0.rule == .lockOrderInversion })
        let line = try PthreadInterpositionTests.lines(
            containing: "first.withLock { take(rest.dropFirst()) }", inScenarioNamed: "named-order")[0].line
        func expectAtTheLine(_ site: Site?, _ what: String) {
            #expect(site?.code?.location.fileName == "main.swift", "\(what): \(String(describing: site))")
            #expect(site?.code?.location.line == line, "\(what): \(String(describing: site))")
        }
        expectAtTheLine(inversion.site, "the violation")
        #expect(inversion.heldLocks.count == 1)
        for held in inversion.heldLocks { expectAtTheLine(held.acquiredAt, "held \(held.lock)") }
        for edge in inversion.edges {
            expectAtTheLine(edge.fromAcquiredAt, "edge from")
            expectAtTheLine(edge.toAcquiredAt, "edge to")
        }
        let show = try Self.lockval(["store", "show", directory])
        #expect(show.status == 0 && show.output.contains("\"WithLock.A\" -> \"WithLock.B\" at main.swift:\(line)"))
        #expect(!show.output.contains("libFoundation"), "\(show.output)")
    }

    /// A cycle an earlier run left whole in the store is reported by each run that takes it again, once,
    /// and `lockval check` finds it in the store alone. Before, a run that took only orders the store knew
    /// added no edge and reported nothing, and `check` passed over a cycle one process had taken: a CI job
    /// that keeps its store went green after one red run with nothing fixed.
    @Test func aCycleTheStoreHoldsIsReportedByEachRunThatTakesItAgain() throws {
        let directory = try Self.scratchDirectory("store-cycle")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ["LOCKVALIDATOR_GRAPH": directory + "/"]
        for run in 1...3 {
            let abba = try PthreadInterpositionTests.run("nslock-abba", environment: store)
            #expect(abba.status == 66, "run \(run): \(abba.error)")
            let inversions = abba.report?.violations.filter { $0.rule == .lockOrderInversion } ?? []
            #expect(inversions.count == 1, "run \(run), one report for the one cycle: \(abba.error)")
            #expect(abba.report?.graph.edges.count == 2, "run \(run) shows the orders it took again as its own")
        }
        let check = try Self.lockval(["check", directory])
        #expect(check.status == 1, "\(check.output)")
        #expect(check.output.contains("was taken by one process, as the learned-order store keeps it"))
        // One process took it all: neither its verdict nor its chain may say other processes did (issue 33).
        #expect(!check.output.contains("other processes"), "\(check.output)")
        #expect(check.output.contains("\nverdict: can deadlock across processes: "), "\(check.output)")
        #expect(check.output.contains("and the same process took the orders that lead back:"), "\(check.output)")
        // Consistent orders in the store stay clean.
        let clean = try Self.scratchDirectory("store-clean")
        defer { try? FileManager.default.removeItem(atPath: clean) }
        for _ in 1...2 {
            let consistent = try PthreadInterpositionTests.run("consistent", environment: ["LOCKVALIDATOR_GRAPH": clean + "/"])
            #expect(consistent.status == 0 && consistent.rules.isEmpty, "\(consistent.error)")
        }
        #expect(try Self.lockval(["check", clean]).status == 0)
    }

    /// A read hold waits for no other reader: an order learned from one stays one when loaded (issue 33).
    /// Before the store kept the flag, the second run below made a readers node that copied the learned
    /// RW.A -> RW.B as if from a write hold, and reported a cycle the first run rightly did not.
    @Test func readHoldsOfLearnedOrdersStayReadHolds() throws {
        let directory = try Self.scratchDirectory("store-rw")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ["LOCKVALIDATOR_GRAPH": directory + "/"]
        func run(_ arguments: [String]) throws -> PthreadInterpositionTests.Run {
            try PthreadInterpositionTests.run("named-rw-order", arguments, environment: store)
        }
        // rwlock-write-then-read across processes: RW.A is only ever read-locked, so nothing deadlocks.
        for arguments in [["r:RW.A", "w:RW.B"], ["w:RW.B", "r:RW.A"], ["r:RW.A", "w:RW.B"], ["w:RW.B", "r:RW.A"]] {
            let clean = try run(arguments)
            #expect(clean.status == 0 && clean.rules.isEmpty, "\(arguments): \(clean.error)")
        }
        let path = LearnedOrderStore.file(for: directory + "/")
        let kept = try LearnedOrderStore.load(from: path).orders.filter { $0.edge.from == "RW.A" }
        #expect(kept.map { "\($0.edge.to) \($0.edge.heldShared == true)" } == ["RW.B true"], "\(kept)")
        // Read–read both ways: no writer, no cycle, in any run.
        for arguments in [["r:RR.A", "r:RR.B"], ["r:RR.B", "r:RR.A"], ["r:RR.A", "r:RR.B"]] {
            let clean = try run(arguments)
            #expect(clean.status == 0 && clean.rules.isEmpty, "\(arguments): \(clean.error)")
        }
        // The first run to take RW.A -> RW.B from a write hold meets the learned recursive reads of RW.A under
        // RW.B (runs 2 and 4): that reader waits for this writer, a true positive, found in this run since the
        // store keeps orders into a readers node as such (they were a class "RW.A (read)" of their own).
        let writer = try run(["w:RW.A", "w:RW.B"])
        #expect(writer.status == 66, "\(writer.error)")
        #expect(writer.rules == [.lockOrderInversion])
        let throughRead = try #require(writer.report?.violations.first { $0.rule == .lockOrderInversion })
        #expect(throughRead.cycle.contains("RW.B") && throughRead.cycle.contains("RW.A (read)"), "\(throughRead.cycle)")
        // The true positive: a writer of RW.A meets the learned read hold of RW.A around RW.B.
        let inversion = try run(["w:RW.B", "w:RW.A"])
        #expect(inversion.status == 66, "\(inversion.error)")
        let cycle = try #require(inversion.report?.violations.first { $0.rule == .lockOrderInversion })
        #expect(Set(cycle.cycle) == ["RW.A", "RW.B"])
        let learned = try #require(cycle.edges.first { $0.process != nil })
        #expect(learned.from.name == "RW.A" && learned.heldShared == nil, "taken from a write hold since")
    }

    /// A cycle through a recursive read, split across two runs (issue 33): the first run's order into the
    /// recursive read of RX.A is stored under RX.A's own name with a flag, and the second run puts it into
    /// its own readers node of RX.A, from which its write hold's order RX.A -> RX.B closes the cycle (a
    /// writer of RX.A blocks that reader: a true positive). Stored as a class "RX.A (read)", it was a
    /// class of its own in the second run, and the cycle was missed.
    @Test func aCycleThroughALearnedRecursiveReadIsFound() throws {
        let directory = try Self.scratchDirectory("store-recursive-read")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ["LOCKVALIDATOR_GRAPH": directory + "/"]
        let first = try PthreadInterpositionTests.run("named-rw-order", ["w:RX.B", "r:RX.A"], environment: store)
        #expect(first.status == 0 && first.rules.isEmpty, "\(first.error)")
        let kept = try LearnedOrderStore.load(from: LearnedOrderStore.file(for: directory + "/")).orders
        #expect(kept.map { "\($0.edge.from)>\($0.edge.to) \($0.edge.toRecursiveRead == true)" } == ["RX.B>RX.A true"])
        let second = try PthreadInterpositionTests.run("named-rw-order", ["w:RX.A", "w:RX.B"], environment: store)
        #expect(second.status == 66, "\(second.error)")
        let cycle = try #require(second.report?.violations.first { $0.rule == .lockOrderInversion })
        #expect(cycle.cycle.contains("RX.B") && cycle.cycle.contains { $0.hasPrefix("RX.A") }, "\(cycle.cycle)")
        #expect(cycle.edges.contains { $0.process?.arguments == ["named-rw-order", "w:RX.B", "r:RX.A"] })
        // Taken again in a third run: the order into the recursive read gets that run, as any order does,
        // and the cycle the store now holds whole is reported again, as every run that takes it is told.
        let third = try PthreadInterpositionTests.run("named-rw-order", ["w:RX.B", "r:RX.A"], environment: store)
        #expect(third.status == 66 && third.rules == [.lockOrderInversion], "\(third.error)")
        let again = try LearnedOrderStore.load(from: LearnedOrderStore.file(for: directory + "/")).orders
        let intoRead = try #require(again.first { $0.edge.to == "RX.A" && $0.edge.toRecursiveRead == true })
        #expect(intoRead.firstRun == 1 && intoRead.lastRun == 3, "\(intoRead)")
        #expect(again.count == 2, "no order listed twice: \(again.map(\.edge))")
    }

    @Test func aResetKeepsTheLearnedOrders() throws {
        let directory = try Self.scratchDirectory("reset")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ["LOCKVALIDATOR_GRAPH": directory + "/"]
        let first = try PthreadInterpositionTests.run("named-order", ["Reset.A", "Reset.B"], environment: store)
        #expect(first.status == 0 && first.rules.isEmpty, "\(first.error)")
        // The store is read once, at start; `LockValidator.reset()` forgets this process's orders, not it.
        let second = try PthreadInterpositionTests.run(
            "named-order", ["--reset", "Reset.B", "Reset.A"], environment: store)
        #expect(second.status == 66, "\(second.error)")
        let inversion = try #require(second.report?.violations.first { $0.rule == .lockOrderInversion })
        #expect(inversion.edges.contains { $0.process?.arguments == ["named-order", "Reset.A", "Reset.B"] })
    }

    @Test func eightProcessesAddingAtOnceLoseNoOrder() throws {
        let directory = try Self.scratchDirectory("writers")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/orders.graph"
        let statuses = Mutex([Int32](repeating: -1, count: 8))
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let run = try? PthreadInterpositionTests.run(
                "named-order", ["Writer\(index).A", "Writer\(index).B"], environment: ["LOCKVALIDATOR_GRAPH": path])
            statuses.withLock { $0[index] = run?.status ?? -2 }
        }
        #expect(statuses.withLock { $0 } == [Int32](repeating: 0, count: 8))
        let show = try Self.lockval(["store", "show", path])
        #expect(show.status == 0)
        #expect(show.output.hasPrefix("\(path): 8 orders, 8 runs"), "\(show.output)")
        for index in 0..<8 { #expect(show.output.contains("\"Writer\(index).A\" -> \"Writer\(index).B\"")) }
    }

    /// A file that is not a store is one warning and left alone; a store a crash cut off is used for what
    /// is whole, said in one warning, and written whole again at exit (issue 30).
    @Test(arguments: ["truncated", "foreign"])
    func aBadStoreIsOneWarning(kind: String) throws {
        let directory = try Self.scratchDirectory("bad-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/orders.graph"
        for names in [["Bad.A", "Bad.B"], ["Bad.C", "Bad.D"]] {
            let good = try PthreadInterpositionTests.run(
                "named-order", names, environment: ["LOCKVALIDATOR_GRAPH": path])
            #expect(good.status == 0)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // Cut inside the last order's line: what comes before it is whole.
        let bad = kind == "truncated" ? String(text.dropLast(12)) : "{\"not\": \"a store\"}\n"
        try bad.write(toFile: path, atomically: true, encoding: .utf8)

        let run = try PthreadInterpositionTests.run(
            "named-order", ["Bad.B", "Bad.A"], environment: ["LOCKVALIDATOR_GRAPH": path])
        let warnings = run.error.split(separator: "\n").filter { $0.contains("LOCKVALIDATOR_GRAPH") }
        #expect(warnings.count == 1 && warnings[0].contains(path), "\(run.error)")
        if kind == "foreign" {
            #expect(run.status == 0, "the store is ignored: \(run.error)")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == bad, "left as it is")
            for command in [["store", "show", path], ["check", path], ["store", "prune", "--runs", "1", path]] {
                let lockval = try Self.lockval(command)
                #expect(lockval.status == 2, "\(command)")
                #expect(lockval.error.split(separator: "\n").count == 1 && lockval.error.contains(path))
            }
            return
        }
        // What was whole (Bad.A -> Bad.B) was used: the reverse order closes a cycle with it.
        #expect(warnings[0].contains("dropped") && warnings[0].contains("the rest is used"), "\(warnings[0])")
        #expect(run.rules == [.lockOrderInversion], "\(run.error)")
        let healed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            healed.hasSuffix("\n") && healed.split(separator: "\n").last?.hasPrefix("end\t") == true, "written whole")
        let show = try Self.lockval(["store", "show", path])
        #expect(show.status == 0 && show.error.isEmpty, "\(show.error)")
        // lockval reads a damaged store for what is whole, and says how to repair it.
        try bad.write(toFile: path, atomically: true, encoding: .utf8)
        let damaged = try Self.lockval(["store", "show", path])
        #expect(damaged.status == 0 && damaged.output.contains("Bad.A"))
        #expect(damaged.error.contains("dropped") && damaged.error.contains("lockval store prune --runs"))
    }

    @Test func pruneDropsOrdersNotTakenForNRunsAndResetForgetsAll() throws {
        let directory = try Self.scratchDirectory("prune")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/orders.graph"
        for orders in [["Old.A", "Old.B"], ["New.A", "New.B"], ["New.A", "New.B"]] {
            let run = try PthreadInterpositionTests.run(
                "named-order", orders, environment: ["LOCKVALIDATOR_GRAPH": path])
            #expect(run.status == 0)
        }
        let prune = try Self.lockval(["store", "prune", "--runs", "2", path])
        #expect(prune.output.contains("dropped 1 order, kept 1"), "\(prune.output)")
        let show = try Self.lockval(["store", "show", path])
        #expect(show.output.hasPrefix("\(path): 1 order, 3 runs"), "\(show.output)")
        #expect(show.output.contains("\"New.A\" -> \"New.B\"") && !show.output.contains("Old.A"))
        #expect(show.output.contains("runs 2...3"), "taken again in run 3: \(show.output)")
        #expect(try Self.lockval(["store", "reset", path]).status == 0)
        #expect(try Self.lockval(["store", "show", path]).output.hasPrefix("\(path): 0 orders, 0 runs"))
    }
}
