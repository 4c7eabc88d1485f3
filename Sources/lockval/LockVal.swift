import ArgumentParser
import LockValidator
import LockValidatorReports

#if canImport(Glibc)
    import Glibc
#endif

/// `lockval`: reads LockValidator's JSON reports (`LOCKVALIDATOR_REPORT=path`) and renders, merges and
/// compares them. A file that cannot be used is a one-line error and exit status 2.
@main
struct LockVal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockval",
        abstract: "Render, merge and compare LockValidator reports (schema lockvalidator-report/1).",
        subcommands: [
            Show.self, Graph.self, SarifCommand.self, HTML.self, Merge.self, Check.self, Diff.self, Store.self,
            Rules.self, Overlay.self,
        ])
}

/// Output to a file (atomically) or to standard output.
struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func emit(_ text: String) throws {
        guard let output else {
            print(text, terminator: "")
            return
        }
        do {
            try TextFile.writeAtomically(text, to: output)
        } catch {
            throw Failure("\(error)")
        }
    }
}

/// A one-line error that ends the command with exit status 2.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ParsableCommand {
    /// Runs `body`, turning a bad report file into one line on standard error and exit status 2.
    func handlingBadInput(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ReportFileError {
            printError("lockval: \(error)")
            throw ExitCode(2)
        } catch let error as Failure {
            printError("lockval: \(error)")
            throw ExitCode(2)
        }
    }
}

func printError(_ line: String) { printToStandardError(line) }

/// The current directory.
var currentDirectory: String {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return "." }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a report as lockdep-style text.")
    @Argument(help: "The report.") var report: String
    @Flag(help: "Print lock statistics (lock_stat) as a table sorted by longest hold instead.") var stats = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        try handlingBadInput {
            let loaded = try ValidationReport.load(from: report)
            try output.emit(stats ? loaded.statisticsTable() : loaded.renderedText())
        }
    }
}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the lock-order graph in Graphviz DOT, reported cycles in red.")
    @Argument(help: "The report.") var report: String
    @Flag(help: "Only the classes and edges of reported cycles.") var cyclesOnly = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        try handlingBadInput { try output.emit(try ValidationReport.load(from: report).dot(cyclesOnly: cyclesOnly)) }
    }
}

struct SarifCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sarif", abstract: "Print a SARIF 2.1.0 log for CI code scanning.")
    @Argument(help: "The report.") var report: String
    @Option(help: "Make file paths relative to this directory (default: the current directory).")
    var sourceRoot: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try handlingBadInput {
            let root = sourceRoot ?? currentDirectory
            try output.emit(try ValidationReport.load(from: report).sarif(sourceRoot: root))
        }
    }
}

struct HTML: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one self-contained HTML page: violations, stacks, the graph.")
    @Argument(help: "The report.") var report: String
    @OptionGroup var output: OutputOptions

    func run() throws { try handlingBadInput { try output.emit(try ValidationReport.load(from: report).html()) } }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge the reports of several processes into one report, with the inversions only the union shows.")
    @Argument(help: "The reports and learned-order stores (LOCKVALIDATOR_GRAPH).") var reports: [String]
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if reports.isEmpty { throw ValidationError("give at least one report") }
    }

    func run() throws {
        try handlingBadInput {
            try output.emit(ValidationReport.merged(try reports.map(loadReportOrStore)).jsonText())
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Merge the reports of several processes; exit 1 when together they show a lock-order inversion or an"
            + " IRQL-usage conflict.",
        discussion: """
            The CI step after the tests: the reports' graphs are united by class name, and a lock-order \
            inversion or an IRQL-usage conflict is found even when no one process took every order of it. \
            Every inversion fails, whatever its verdict, as lockdep's rule (LOCKVALIDATOR_FAIL_ON's default); \
            with --fail-on can-deadlock one whose verdict is cannot-deadlock is printed as a warning and fails \
            nothing. An inversion a test already decided under its own failOn keeps that decision. \
            Exit status 0: none that fails (warnings only, or nothing); 1: at least one (printed \
            lockdep-style, each edge with its process and stack); 2: an input could not be read.
            """)
    @Argument(help: "The reports and learned-order stores (LOCKVALIDATOR_GRAPH).") var reports: [String]
    @Option(help: "Also write the merged violations as a SARIF 2.1.0 log to this file.") var sarif: String?
    @Option(help: "Make SARIF file paths relative to this directory (default: the current directory).")
    var sourceRoot: String?
    @Option(
        help: """
            A suppressions file, as LOCKVALIDATOR_SUPPRESSIONS (rule:pattern lines): what it matches is \
            listed as suppressed and fails nothing.
            """)
    var suppressions: String?
    @Option(
        help: """
            Which lock-order inversions fail: every-cycle (lockdep's rule) or can-deadlock (a cannot-deadlock \
            verdict is a warning). Default: LOCKVALIDATOR_FAIL_ON's, every-cycle unless set.
            """)
    var failOn: String?

    /// The rules whose violations say the program can deadlock.
    static let deadlockRules: Set<Rule> = [.lockOrderInversion, .irqlInconsistentUsage]

    func validate() throws {
        if reports.isEmpty { throw ValidationError("give at least one report") }
        if let failOn, Configuration.FailOn(rawValue: failOn) == nil {
            let values = Configuration.FailOn.allCases.map(\.rawValue).joined(separator: " or ")
            throw ValidationError("--fail-on must be \(values), not \"\(failOn)\"")
        }
    }

    func run() throws {
        let failOn = failOn.flatMap(Configuration.FailOn.init(rawValue:)) ?? LockValidator.configuration.failOn
        var deadlocks: [Violation] = []
        try handlingBadInput {
            var patterns: [Suppression] = []
            if let suppressions {
                do {
                    let (loaded, errors) = try Suppression.load(
                        from: suppressions, variable: "--suppressions", ignoring: nil)
                    // Every bad line at once: a CI step is fixed in one go, not one line per run.
                    guard errors.isEmpty else {
                        let count = "\(errors.count) bad line\(errors.count == 1 ? "" : "s")"
                        throw Failure(
                            (errors.map(\.description) + ["\(suppressions): \(count); nothing was checked"])
                                .joined(separator: "\nlockval: "))
                    }
                    patterns = loaded
                } catch let failure as Failure {
                    throw failure
                } catch {
                    throw Failure("\(error)")
                }
            }
            var merged = ValidationReport.merged(try reports.map(loadReportOrStore))
            if !patterns.isEmpty {
                let suppressed = merged.violations.filter { violation in patterns.contains { $0.matches(violation) } }
                merged.violations.removeAll { violation in patterns.contains { $0.matches(violation) } }
                merged.suppressed += suppressed
            }
            if let sarif {
                do {
                    try TextFile.writeAtomically(merged.sarif(sourceRoot: sourceRoot ?? currentDirectory), to: sarif)
                } catch {
                    throw Failure("\(error)")
                }
            }
            // Each decided under its test's own setting if it had one, else under --fail-on: a warning or not.
            deadlocks = merged.violations.filter { Self.deadlockRules.contains($0.rule) }.map {
                $0.decided(underTestSetting: $0.failOn ?? failOn)
            }
            merged.violations = deadlocks
            print(merged.renderedText(), terminator: "")
        }
        if deadlocks.contains(where: { $0.fails(underItsSettingOr: failOn) }) { throw ExitCode(1) }
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a report with a baseline; exit status 1 when it has a violation the baseline lacks.")
    @Option(help: "The baseline report.") var baseline: String
    @Argument(help: "The new report.") var report: String

    func run() throws {
        var diff: ReportDiff?
        try handlingBadInput {
            diff = ReportDiff(
                baseline: try ValidationReport.load(from: baseline), current: try ValidationReport.load(from: report))
        }
        guard let diff else { return }
        print(diff.text, terminator: "")
        if !diff.new.isEmpty { throw ExitCode(1) }
    }
}

/// A report, or a learned-order store read as a report of its orders.
func loadReportOrStore(_ given: String) throws(ReportFileError) -> ValidationReport {
    // A directory is a store's, as LOCKVALIDATOR_GRAPH takes it.
    let path = LearnedOrderStore.file(for: given)
    guard let text = TextFile.read(path), text.hasPrefix(LearnedOrderStore.schemaName.prefix { $0 != "/" } + "/")
    else {
        return try ValidationReport.load(from: path)
    }
    return try loadStore(parsing: text, from: path).asReport(path: path)
}

/// A learned-order store, what reading it dropped said on standard error with how to repair it.
func loadStore(from path: String) throws(ReportFileError) -> LearnedOrderStore {
    guard let text = TextFile.read(path) else { return try LearnedOrderStore.load(from: path) }
    return try loadStore(parsing: text, from: path)
}

private func loadStore(parsing text: String, from path: String) throws(ReportFileError) -> LearnedOrderStore {
    let store = try LearnedOrderStore(parsing: text, from: path)
    for line in store.droppedLines { printError("lockval: \(path): \(line); dropped") }
    if !store.droppedLines.isEmpty {
        printError(
            "lockval: \(path): the rest is used; the next process that writes it writes it whole, as does"
                + " `lockval store prune --runs \(max(store.runs, 1)) \(path)` now (`lockval store reset` empties it)")
    }
    return store
}

struct Store: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, prune or reset a learned-order store (LOCKVALIDATOR_GRAPH).",
        subcommands: [ShowStore.self, PruneStore.self, ResetStore.self])

    /// The store a subcommand works on.
    struct StoreArgument: ParsableArguments {
        @Argument(help: "The store (a file, or the directory that keeps it).") var store: String
        var path: String { LearnedOrderStore.file(for: store) }
    }

    struct ShowStore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "List the learned orders: from, to, who learned them, when last taken.")
        @OptionGroup var store: StoreArgument

        func run() throws {
            try handlingBadInput {
                let loaded = try loadStore(from: store.path)
                var lines = [
                    "\(store.path): \(counted(loaded.orders.count, "order")), \(counted(loaded.runs, "run"))"
                ]
                for order in loaded.orders {
                    let process = order.edge.process.map { " by pid \($0.pid) (\($0.executable))" } ?? ""
                    lines.append(
                        "\"\(order.edge.from)\" -> \"\(order.edge.to)\" at \(order.edge.toAcquiredAt)\(process),"
                            + " runs \(order.firstRun)...\(order.lastRun)")
                }
                print(lines.joined(separator: "\n"))
            }
        }
    }

    struct PruneStore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Drop the orders that no run took in the last N runs.")
        @Option(help: "Drop orders not taken in this many runs.") var runs: Int
        @OptionGroup var store: StoreArgument

        func validate() throws {
            if runs < 1 { throw ValidationError("--runs must be at least 1") }
        }

        func run() throws {
            try handlingBadInput {
                var loaded = try loadStore(from: store.path)
                let dropped = loaded.prune(notSeenFor: runs)
                try write(loaded, to: store.path)
                print("\(store.path): dropped \(counted(dropped, "order")), kept \(loaded.orders.count)")
            }
        }
    }

    struct ResetStore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset", abstract: "Forget every learned order (the store is left empty, its runs at 0).")
        @OptionGroup var store: StoreArgument

        func run() throws {
            try handlingBadInput {
                try write(LearnedOrderStore(), to: store.path)
                print("\(store.path): reset")
            }
        }
    }
}

/// Replaces the store under the lock its writers take.
func write(_ store: LearnedOrderStore, to path: String) throws(Failure) {
    let failure = DirectoryLock.withLock(containing: path) { () -> String? in
        guard TextFile.mayReplace(path, holding: LearnedOrderStore.schemaName.prefix { $0 != "/" } + "/") else {
            return "\(path) is not a learned-order store (no \(LearnedOrderStore.schemaName) line); it is left as it is"
        }
        do {
            try TextFile.writeAtomically(store.text(), to: path)
            return nil
        } catch {
            return "\(error)"
        }
    }
    if let failure { throw Failure(failure) }
}

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the rule table: each rule id, its severity, what breaks it, and its anchor (Markdown).")

    func run() { print(Rule.markdownTable, terminator: "") }
}
