import Foundation
import LockValidatorReports
import SpinLocks
import TestSupport
import Testing

/// Reports of real inversions: the text and JSON, and every format `lockval` renders.
@Suite struct ReportTests {
    /// Whether llvm-symbolizer is on PATH (file:line are expected only then).
    static let hasSymbolizer: Bool = {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return paths.contains { FileManager.default.isExecutableFile(atPath: "\($0)/llvm-symbolizer") }
    }()

    @inline(never)
    static func takeInOrder(_ first: SpinLock, _ second: SpinLock) {
        first.withLock { second.withLock {} }
    }

    @inline(never)
    static func abbaInversion() -> ValidationReport {
        let prefix = uniqueClassPrefix("report-abba")
        let a = SpinLock("\(prefix).A")
        let b = SpinLock("\(prefix).B")
        let found = LockValidator.violations(during: {
            ProcessorThread { takeInOrder(a, b) }.join()
            ProcessorThread { takeInOrder(b, a) }.join()
        })
        var report = LockValidator.currentReport
        report.violations = found
        return report
    }

    @inline(never)
    static func threeLockInversion() -> ValidationReport {
        let prefix = uniqueClassPrefix("report-abc")
        let locks = ["A", "B", "C"].map { SpinLock("\(prefix).\($0)") }
        let found = LockValidator.violations(during: {
            ProcessorThread { takeInOrder(locks[0], locks[1]) }.join()
            ProcessorThread { takeInOrder(locks[1], locks[2]) }.join()
            ProcessorThread { takeInOrder(locks[2], locks[0]) }.join()
        })
        var report = LockValidator.currentReport
        report.violations = found
        return report
    }

    /// A class named by the first lock of it seen (a `Mutex` moved after it was made) is not said to be
    /// "created at" that lock: its line says where it was created is not known.
    @Test func aClassWhoseCreationWasNotSeenIsNotSaidToBeCreatedAtItsFirstLock() throws {
        let prefix = uniqueClassPrefix("report-moved")
        let a = SpinLock("Mutex first seen at Cache.swift:17 in \(prefix).A")
        let b = SpinLock("Mutex first seen at Cache.swift:23 in \(prefix).B")
        let found = LockValidator.violations(during: {
            ProcessorThread { Self.takeInOrder(a, b) }.join()
            ProcessorThread { Self.takeInOrder(b, a) }.join()
        })
        var report = LockValidator.currentReport
        report.violations = found
        let text = report.renderedText()
        let involved = text.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { $0 != "locks involved:" }.dropFirst().prefix { !$0.isEmpty }
        let lines = involved.filter { $0.hasPrefix("  \"Mutex first seen at ") }
        #expect(lines.count == 2, "\(text)")
        let unseen = ": where it was created is not known (moved after it was made); named by the first lock of it seen"
        #expect(lines.allSatisfy { $0.hasSuffix(unseen) }, "\(text)")
    }

    @Test(arguments: [2, 3])
    func theTextReportTellsTheWholeStory(locks: Int) throws {
        let report = locks == 2 ? Self.abbaInversion() : Self.threeLockInversion()
        let violation = try #require(report.violations.first)
        #expect(report.violations.map(\.rule) == [.lockOrderInversion])
        #expect(violation.edges.count == locks)
        let text = violation.rendered(.text)
        #expect(text.contains("ERROR: lock-order-inversion: possible circular locking dependency detected"))
        #expect(text.contains("is trying to acquire:"))
        #expect(text.contains("but already holds:"))
        #expect(text.contains("the existing dependency chain (in reverse order) is:"))
        #expect(text.contains("CPU0") && text.contains("CPU1") && text.contains("*** DEADLOCK ***"))
        #expect(text.contains("Chain exists of:") == (locks > 2))
        // The stacks name this file's functions, and where llvm-symbolizer runs, its lines.
        #expect(text.contains("ReportTests.takeInOrder"))
        for edge in violation.edges {
            let frames = edge.stack.symbolicated()
            #expect(frames.first?.symbol?.contains("takeInOrder") == true, "\(frames.prefix(3))")
            if Self.hasSymbolizer {
                #expect(frames.first?.file?.hasSuffix("Tests/LockValidatorReportsTests/ReportTests.swift") == true)
                #expect((frames.first?.line ?? 0) > 0)
            }
        }
        if Self.hasSymbolizer { #expect(text.contains("ReportTests.swift:")) }
    }

    @Test(arguments: [2, 3])
    func theJSONReportRoundTripsWithItsSchema(locks: Int) throws {
        let report = locks == 2 ? Self.abbaInversion() : Self.threeLockInversion()
        let json = report.jsonText()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "lockvalidator-report/1")
        for key in ["process", "config", "violations", "suppressed", "graph", "statistics"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let violation = try #require((object["violations"] as? [[String: Any]])?.first)
        #expect(violation["rule"] as? String == "lock-order-inversion")
        #expect((violation["cycle"] as? [String])?.count == locks)
        #expect(violation["irql"] as? String == "DISPATCH_LEVEL")
        let frame = try #require((violation["stack"] as? [[String: Any]])?.first)
        #expect((frame["address"] as? String)?.hasPrefix("0x") == true)
        #expect((frame["symbol"] as? String)?.contains("takeInOrder") == true)
        if Self.hasSymbolizer { #expect((frame["file"] as? String)?.hasSuffix("ReportTests.swift") == true) }
        let lock = try #require((violation["locks"] as? [[String: Any]])?.first)
        #expect(lock["name"] is String && lock["site"] is String && lock["instance"] is Int)

        let decoded = try ValidationReport.decode(Data(json.utf8), from: "report.json")
        #expect(decoded.violations.map(\.identity) == report.violations.map(\.identity))
        #expect(decoded.violations.first?.edges.count == locks)
        // A decoded report renders the same text without the process that wrote it.
        let frames = decoded.violations.first?.stack.symbolicated() ?? []
        #expect(frames.first?.symbol?.contains("takeInOrder") == true)
        #expect(decoded.renderedText().contains("possible circular locking dependency detected"))
        // Counts of one in the singular.
        let text = decoded.renderedText()
        #expect(text.contains("\n1 violation (1 occurrence), 0 suppressed; "), "\(text)")
    }

    @Test func dotDrawsTheCycleInRedAndTheClosingEdgeDashed() {
        let report = Self.threeLockInversion()
        let dot = report.dot(cyclesOnly: true)
        let cycle = report.violations[0].cycle
        #expect(dot.hasPrefix("digraph LockOrder {"))
        for name in cycle { #expect(dot.contains("\"\(name)\" [label=")) }
        #expect(dot.components(separatedBy: "color=red, fontcolor=red, penwidth=2").count - 1 == 2)
        #expect(dot.contains("style=dashed"))
        #expect(dot.hasSuffix("}\n"))
    }

    @Test func sarifHasTheRequiredFieldsOf210AndLocatesTheAcquire() throws {
        let report = Self.abbaInversion()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let sarif = report.sarif(sourceRoot: root)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
        // sarifLog requires version and runs; run requires tool; tool requires driver; driver requires
        // name; reportingDescriptor requires id; result requires message (text); location uses
        // physicalLocation.artifactLocation.uri and region.startLine.
        #expect(log["version"] as? String == "2.1.0")
        #expect(log["$schema"] as? String == "https://json.schemastore.org/sarif-2.1.0.json")
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "LockValidator")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.allSatisfy { $0["id"] is String })
        let result = try #require((run["results"] as? [[String: Any]])?.first)
        #expect(result["ruleId"] as? String == "lock-order-inversion")
        #expect(((result["message"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
        #expect(["error", "warning", "note", "none"].contains(result["level"] as? String ?? ""))
        let location = try #require(
            (result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        let uri = (location["artifactLocation"] as? [String: Any])?["uri"] as? String
        let line = (location["region"] as? [String: Any])?["startLine"] as? Int
        #expect((line ?? 0) >= 1)
        if Self.hasSymbolizer {
            #expect(uri == "Tests/LockValidatorReportsTests/ReportTests.swift")
        } else {
            #expect(uri == "LockValidatorReportsTests/ReportTests.swift")
        }
        #expect((result["relatedLocations"] as? [Any])?.count == 2)
    }

    /// The verdict (SPEC §8f) in every output: the second thread of `abbaInversion` starts after the first
    /// was joined, so its cycle cannot deadlock in this run, ordered by join.
    @Test func everyOutputCarriesTheCyclesVerdict() throws {
        let report = Self.abbaInversion()
        let verdict = try #require(report.violations.first?.verdict)
        #expect(verdict.kind == .cannotDeadlock && verdict.reason == .orderedByJoin)
        #expect(report.violations[0].rendered(.text).contains("verdict: cannot deadlock in this run: the threads of"))
        let decoded = try ValidationReport.decode(Data(report.jsonText().utf8), from: "report.json")
        #expect(decoded.violations.first?.verdict == verdict)
        #expect(decoded.renderedText().contains("verdict: cannot deadlock in this run"))
        let sarif = report.sarif(sourceRoot: nil)
        #expect(try SarifSchema.errors(in: sarif) == [])
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
        let result = try #require(((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])?.first)
        let properties = try #require((result["properties"] as? [String: Any])?["verdict"] as? [String: Any])
        #expect(properties["kind"] as? String == "cannot-deadlock")
        #expect(properties["reason"] as? String == "ordered-by-join")
        #expect(report.html().contains("verdict: cannot deadlock in this run"))
    }

    @Test func htmlIsOneSelfContainedPageWithTheViolationsAndTheGraph() {
        let report = Self.threeLockInversion()
        let html = report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg"))
        #expect(html.contains("lock-order-inversion"))
        #expect(html.contains("stroke-dasharray"))
        #expect(!html.contains("<script src") && !html.contains("<link "))
        for name in report.violations[0].cycle { #expect(html.contains(name)) }
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test func mergingAddsOccurrencesAndUnitesGraphs() {
        let first = Self.abbaInversion()
        let second = Self.threeLockInversion()
        let merged = ValidationReport.merged([first, first, second])
        #expect(merged.violations.count == 2)
        #expect(merged.violations.map(\.occurrences) == [2, 1])
        #expect(merged.mergedFrom?.count == 3)
        #expect(merged.statistics.occurrences == 3)
        let diff = ReportDiff(baseline: first, current: merged)
        #expect(diff.new.map(\.identity) == second.violations.map(\.identity))
        #expect(diff.fixed.isEmpty)
        #expect(ReportDiff(baseline: merged, current: first).fixed.count == 1)
    }
}

/// The `lockval` executable itself: its formats and exit statuses.
@Suite struct LockValCommandTests {
    struct Run {
        let status: Int32
        let output: String
        let error: String
    }

    static func lockval(_ arguments: [String]) throws -> Run {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            directory.appendingPathComponent("lockval"),
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent("lockval"),
        ]
        let executable = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) })
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self))
    }

    /// A directory for the files these tests write, removed when the test process exits: Swift Testing has
    /// no suite teardown, and a file per test per run piled up in /tmp.
    static let scratchDirectory: String = {
        let directory = NSTemporaryDirectory() + "lockval-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: LockValCommandTests.scratchDirectory) }
        return directory
    }()

    /// The path of `name` in ``scratchDirectory``.
    static func scratchPath(_ name: String) -> String { scratchDirectory + "/" + name }

    static func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let path = scratchPath(name)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func everySubcommandRendersARealReport() throws {
        let report = try Self.temporaryFile("abc.json", ReportTests.threeLockInversion().jsonText())
        let show = try Self.lockval(["show", report])
        #expect(show.status == 0 && show.output.contains("possible circular locking dependency detected"))
        let stats = try Self.lockval(["show", report, "--stats"])
        #expect(stats.status == 0 && stats.output.hasPrefix("class") && stats.output.contains("hold p99"))
        let rows = stats.output.split(separator: "\n").dropFirst(2)
        let maxima = rows.map { $0.split(separator: " ").filter { !$0.isEmpty } }.filter { $0.count >= 9 }
        #expect(!maxima.isEmpty, "\(stats.output)")
        let graph = try Self.lockval(["graph", report, "--cycles-only"])
        #expect(graph.status == 0 && graph.output.hasPrefix("digraph LockOrder {"))
        let sarif = try Self.lockval(["sarif", report])
        #expect(sarif.status == 0 && sarif.output.contains("\"version\" : \"2.1.0\""))
        let htmlPath = Self.scratchPath("page.html")
        let html = try Self.lockval(["html", report, "-o", htmlPath])
        #expect(html.status == 0)
        #expect(try String(contentsOfFile: htmlPath, encoding: .utf8).contains("<svg"))
        let merged = try Self.lockval(["merge", report, report])
        #expect(merged.status == 0 && merged.output.contains("\"occurrences\" : 2"))
    }

    /// `lockval check` fails on every inversion whatever its verdict (lockdep's rule, as its help says);
    /// `--fail-on can-deadlock` prints one whose verdict is cannot-deadlock as a warning and exits 0, and
    /// still fails one that can deadlock. Before, it exited 1 on a cannot-deadlock cycle with no way to
    /// say otherwise, while its help said "exit 1 when together they show a deadlock".
    @Test func checkFailsOnEveryCycleUnlessFailOnCanDeadlock() throws {
        let ordered = ReportTests.abbaInversion()
        #expect(ordered.violations.first?.verdict?.canDeadlock == false)
        let report = try Self.temporaryFile("check-verdict.json", ordered.jsonText())
        let byDefault = try Self.lockval(["check", report])
        #expect(byDefault.status == 1 && byDefault.output.contains("ERROR: lock-order-inversion"), "\(byDefault)")
        let lenient = try Self.lockval(["check", "--fail-on", "can-deadlock", report])
        #expect(lenient.status == 0, "\(lenient)")
        #expect(lenient.output.contains("WARNING: lock-order-inversion") && !lenient.output.contains("ERROR:"))
        #expect(lenient.output.contains("(a warning: only cycles that can deadlock fail)"), "\(lenient.output)")
        // The same report with the verdict of threads that could meet.
        let canDeadlock = ordered.jsonText().replacingOccurrences(
            of: "\"kind\" : \"cannot-deadlock\"", with: "\"kind\" : \"can-deadlock\"")
        let meeting = try Self.temporaryFile("check-can-deadlock.json", canDeadlock)
        #expect(try Self.lockval(["check", "--fail-on", "can-deadlock", meeting]).status == 1)
        let bad = try Self.lockval(["check", "--fail-on", "sometimes", report])
        #expect(bad.status != 0 && bad.error.contains("--fail-on must be every-cycle or can-deadlock"), "\(bad)")
        let help = try Self.lockval(["check", "--help"])
        #expect(help.output.contains("Every inversion fails, whatever its verdict"), "\(help.output)")
    }

    /// Counts in lockval's output agree with their nouns: "1 violation (1 occurrence)", "1 edge".
    @Test func countsHaveTheirNounInTheRightNumber() throws {
        var one = ReportTests.abbaInversion()
        one.violations = Array(one.violations.prefix(1))
        let html = one.html()
        #expect(html.contains("<b>1 violation</b> (1 occurrence)"), "\(html.prefix(2_000))")
        #expect(!html.contains("(1 occurrences)"))
    }

    /// `lockval check` refuses a suppressions file with bad lines, naming each: its lines must not say the
    /// line "is ignored" (the runtime's words, where the others are kept), and every line is lockval's.
    @Test func checkRefusesBadSuppressionsNamingEachLine() throws {
        let report = try Self.temporaryFile("supp-report.json", ReportTests.abbaInversion().jsonText())
        let suppressions = try Self.temporaryFile(
            "bad.supp", "lock-order-inversion:*A*\nthis line is wrong\n*:[unclosed\n")
        let check = try Self.lockval(["check", "--suppressions", suppressions, report])
        #expect(check.status == 2)
        let lines = check.error.split(separator: "\n")
        #expect(lines.count == 3, "\(check.error)")
        #expect(lines.allSatisfy { $0.hasPrefix("lockval: ") }, "\(check.error)")
        #expect(lines[0].contains("\(suppressions):2: expected rule:pattern"))
        #expect(lines[1].contains("\(suppressions):3: the class \"[\""))
        #expect(lines[2] == "lockval: \(suppressions): 2 bad lines; nothing was checked", "\(check.error)")
        #expect(!check.error.contains("ignored"), "\(check.error)")
    }

    @Test func diffExitsOneOnlyWhenAViolationIsNew() throws {
        let baseline = try Self.temporaryFile("base.json", ReportTests.abbaInversion().jsonText())
        let merged = ValidationReport.merged([
            try ValidationReport.load(from: baseline), ReportTests.threeLockInversion(),
        ])
        let current = try Self.temporaryFile("new.json", merged.jsonText())
        let same = try Self.lockval(["diff", "--baseline", baseline, baseline])
        #expect(same.status == 0 && same.output.contains("0 new, 0 fixed"))
        let worse = try Self.lockval(["diff", "--baseline", baseline, current])
        #expect(worse.status == 1 && worse.output.contains("new: lock-order-inversion"))
        let better = try Self.lockval(["diff", "--baseline", current, baseline])
        #expect(better.status == 0 && better.output.contains("0 new, 1 fixed"))
    }

    @Test(arguments: [
        "missing", "not-json", "wrong-schema", "no-schema", "malformed", "truncated", "directory", "missing-field",
        "negative-count",
    ])
    func badInputIsOneLineAndExitStatusTwo(kind: String) throws {
        let path: String
        // What the line must say, beyond the path: where, and what.
        var says: String?
        let real = ReportTests.abbaInversion().jsonText()
        switch kind {
        case "missing": path = "/nonexistent/report.json"
        case "not-json":
            path = try Self.temporaryFile("text.json", "this is not JSON")
            says = "not valid JSON at line 1, column 1 (byte 0): expected a value"
        case "wrong-schema":
            path = try Self.temporaryFile("schema.json", #"{"schema": "other/2"}"#)
            says = #"not a LockValidator report: its schema is "other/2" (expected "lockvalidator-report/1")"#
        case "no-schema":
            path = try Self.temporaryFile("empty.json", "{}")
            says = #"not a LockValidator report: no "schema" field (expected "lockvalidator-report/1")"#
        case "truncated":
            path = try Self.temporaryFile("truncated.json", String(real.prefix(real.utf8.count / 2)))
            says = "cut off at line"
        case "directory":
            path = Self.scratchPath("a-directory")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            says = "is a directory"
        case "missing-field":
            var object = try #require(try JSONSerialization.jsonObject(with: Data(real.utf8)) as? [String: Any])
            var violations = try #require(object["violations"] as? [[String: Any]])
            violations[0]["rule"] = nil
            object["violations"] = violations
            path = try Self.temporaryFile(
                "field.json", String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
            says = "missing field \"rule\" in violations[0]"
        case "negative-count":
            path = try Self.temporaryFile(
                "negative.json", real.replacingOccurrences(of: "\"occurrences\" : 1", with: "\"occurrences\" : -3"))
            // A place is spelled as in "missing field … in violations[0]": no leading dot.
            says = "(violations[0].occurrences: occurrences must be at least 1, not -3)"
        default: path = try Self.temporaryFile("bad.json", #"{"schema": "lockvalidator-report/1", "violations": 3}"#)
        }
        if let says { #expect(try Self.lockval(["show", path]).error.contains(says), "\(kind)") }
        for command in [["show", path], ["graph", path], ["sarif", path], ["html", path], ["merge", path]] {
            let run = try Self.lockval(command)
            #expect(run.status == 2, "\(command)")
            #expect(run.output.isEmpty)
            let lines = run.error.split(separator: "\n")
            #expect(lines.count == 1, "\(run.error)")
            // merge reads a directory as a learned-order store's (LOCKVALIDATOR_GRAPH's).
            let named = kind == "directory" && command[0] == "merge" ? path + "/lockvalidator-graph.txt" : path
            #expect(lines.first?.hasPrefix("lockval: \(named): ") == true, "\(run.error)")
        }
    }
}
