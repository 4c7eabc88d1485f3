/// What the validator does, read once from the environment (SPEC §7) and overridable in code through
/// ``LockValidator/configuration``.
///
/// | variable | values | default |
/// |---|---|---|
/// | `LOCKVALIDATOR` | `on`, `off` | `on` |
/// | `LOCKVALIDATOR_REPORT` | a path (`%p`: the process id; a directory: one file per process) | none |
/// | `LOCKVALIDATOR_GRAPH` | a learned-order store: a file, or a directory to keep it in | none |
/// | `LOCKVALIDATOR_HOLD_BUDGET_US` | a number of microseconds from 0.1 to 60,000,000 | 25 |
/// | `LOCKVALIDATOR_ON_VIOLATION` | `report`, `trap` (print and abort, like a bug check) | `report` |
/// | `LOCKVALIDATOR_SUPPRESSIONS` | a path to a suppressions file | none |
/// | `LOCKVALIDATOR_SPIN_TIMEOUT_MS` | a whole number of milliseconds from 1 to 3,600,000 | 5000 |
/// | `LOCKVALIDATOR_EXIT_CODE` | 0...255: the exit status of a process that found violations | none |
/// | `LOCKVALIDATOR_PTHREADS` | `on`, `off`: interpose pthread locks (with LockValidatorPthreads) | `on` |
/// | `LOCKVALIDATOR_CONFIRM` | `on`, `off`: steer the schedule so that predicted cycles deadlock for real | `off` |
/// | `LOCKVALIDATOR_CONFIRM_MS` | the longest one confirmation pause lasts: 1 to 60,000 ms (20 of them in all) | 500 |
/// | `LOCKVALIDATOR_FAIL_ON` | `every-cycle`, `can-deadlock` (a cycle that cannot deadlock warns) | `every-cycle` |
///
/// A bad value (empty included) is one line naming the variable, and never weakens a check: the default is
/// kept, an on/off switch stays on, and a bad `LOCKVALIDATOR_EXIT_CODE` still fails a process with
/// violations (``Configuration/exitCodeForABadSetting``).
public struct Configuration: Sendable, Codable, Equatable {
    /// Whether the checks run (`LOCKVALIDATOR=off` leaves plain spin locks that keep IRQL semantics).
    public var isEnabled = true
    /// Where to write the JSON report at process exit: a file (the processes of one run, those one
    /// `swift test` starts, add to it), a path with `%p` (the process id), or a directory (one
    /// `lockvalidator-<pid>.json` per process, so no process overwrites another's).
    public var reportPath: String?
    /// The learned-order store (``LearnedOrderStore``): loaded at start and validated against, added to at
    /// exit; a directory keeps `lockvalidator-graph.txt`.
    public var learnedOrderStorePath: String?
    /// The longest a spin lock may be held, in microseconds.
    public var holdBudgetMicroseconds: Double = 25
    /// What a violation does.
    public var onViolation: ViolationAction = .report
    /// The suppressions file the ``suppressions`` came from.
    public var suppressionsPath: String?
    /// Violations that are counted in the report but do not fail anything.
    public var suppressions: [Suppression] = []
    /// How long a spin wait may last before it is a `spin-timeout`, in milliseconds.
    public var spinTimeoutMilliseconds = 5_000
    /// The most entries each validator table may grow to.
    public var capacity = Capacity()
    /// The exit status a process that found unsuppressed violations ends with (as TSan's exitcode);
    /// nil leaves the status alone.
    public var exitCode: Int?
    /// Confirmation mode (<doc:ConfirmingDeadlocks>): a thread about to take a lock along an edge of a
    /// predicted lock-order cycle is held back, so that the deadlock forms for real and the watchdog
    /// reports it as *confirmed*. Off by default: it slows the program down where it pauses.
    public var confirmDeadlocks = false
    /// The longest one confirmation pause lasts, in milliseconds; all of a process's pauses together last
    /// at most ``confirmBudgetPauses`` times this.
    public var confirmPauseMilliseconds = 500

    /// Which `lock-order-inversion`s fail a test or process: every one (lockdep's rule), or only those
    /// whose verdict is can-deadlock, the others being warnings that say why they cannot.
    public var failOn: FailOn = .everyCycle

    /// Which `lock-order-inversion`s fail.
    public enum FailOn: String, Sendable, Codable, CaseIterable {
        /// Every cycle, whatever its verdict: another caller or schedule can close it (lockdep).
        case everyCycle = "every-cycle"
        /// Only cycles that can deadlock in this run; the others are warnings with their reason.
        case canDeadlock = "can-deadlock"
    }

    /// Caps on the validator's tables. They grow on the heap as needed up to these; reaching one is a
    /// `capacity-exhausted` violation, said once, and checks that need no new entry keep working.
    public struct Capacity: Sendable, Codable, Equatable {
        /// Lock classes (subclasses included); locks created past the cap share one untracked class.
        public var classes = 1 << 17
        /// Lock-order edges; past the cap, a new order is still checked for closing a cycle but not kept.
        public var edges = 1 << 21
        /// Validated chains in the chain cache; past the cap, new chains are validated every time.
        public var chains = 1 << 22
        /// Stacks kept for edges and IRQL usages (identical stacks are kept once); past the cap, new
        /// ones are kept without a stack.
        public var stacks = 1 << 20

        public init() {}
    }

    /// What a violation does.
    public enum ViolationAction: String, Sendable, Codable, CaseIterable {
        /// Record it, print it once, go on.
        case report
        /// Print the report and abort the process, like a bug check.
        case trap
    }

    /// The defaults.
    public init() {}

    /// Every environment variable the configuration reads.
    public static let environmentVariables = [
        "LOCKVALIDATOR", "LOCKVALIDATOR_REPORT", "LOCKVALIDATOR_HOLD_BUDGET_US", "LOCKVALIDATOR_ON_VIOLATION",
        "LOCKVALIDATOR_SUPPRESSIONS", "LOCKVALIDATOR_SPIN_TIMEOUT_MS", "LOCKVALIDATOR_EXIT_CODE", "LOCKVALIDATOR_GRAPH",
        "LOCKVALIDATOR_PTHREADS", "LOCKVALIDATOR_FAIL_ON", "LOCKVALIDATOR_CONFIRM", "LOCKVALIDATOR_CONFIRM_MS",
    ]

    /// Variables of the `LOCKVALIDATOR_` family that are not settings of a process but are known, so that
    /// they draw no "not a setting" line: the benchmark package's manifest reads this one.
    static let otherKnownVariables = ["LOCKVALIDATOR_BENCH_VALIDATION"]

    /// One line for each `LOCKVALIDATOR_…` variable of `environment` that no setting reads (a typo such as
    /// `FAILON` for `FAIL_ON` would otherwise change nothing, silently), with the setting it most likely
    /// meant; in name order.
    static func unknownVariables(in environment: [String: String]) -> [ConfigurationError] {
        let known = Set(environmentVariables + otherKnownVariables)
        return environment.keys.filter { $0.hasPrefix("LOCKVALIDATOR_") && !known.contains($0) }.sorted().map {
            name in
            let hint = NearestName.nearest(to: name, in: environmentVariables).map { " (did you mean \($0)?)" } ?? ""
            return ConfigurationError(
                variable: name, value: environment[name] ?? "",
                description: "\(name) is not a LockValidator setting and is ignored\(hint)")
        }
    }

    /// The hold budgets a setting may ask for, in microseconds.
    public static let holdBudgetRange = 0.1...60_000_000.0
    /// The spin timeouts a setting may ask for, in milliseconds.
    public static let spinTimeoutRange = 1...3_600_000
    /// The confirmation pauses a setting may ask for, in milliseconds.
    public static let confirmPauseRange = 1...60_000
    /// A process's confirmation pauses last at most this many times the longest pause, in all.
    public static let confirmBudgetPauses = 20
    /// The exit status of a process with violations when `LOCKVALIDATOR_EXIT_CODE` is set to something that
    /// is not one: the run still fails (TSan's 66).
    public static let exitCodeForABadSetting = 66

    /// The configuration `environment` asks for.
    ///
    /// - Throws: the first bad value, naming its variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        let (configuration, errors) = Self.parse(environment)
        if let first = errors.first { throw first }
        self = configuration
    }

    /// The configuration `environment` asks for, keeping the default for each bad value, and the
    /// errors found (one per bad variable).
    public static func parse(_ environment: [String: String]) -> (Configuration, [ConfigurationError]) {
        var configuration = Configuration()
        var errors: [ConfigurationError] = []
        /// The value of `variable`, converted; nil (and an error) for one that does not convert, empty included.
        func read<Value>(_ variable: String, expected: String, _ convert: (String) -> Value?) -> Value? {
            guard let text = environment[variable] else { return nil }
            if let value = convert(text.trimmingSpaces) { return value }
            errors.append(ConfigurationError(variable: variable, value: text, expected: expected))
            return nil
        }
        func path(_ text: String) -> String? { text.isEmpty ? nil : text }
        if let enabled = read("LOCKVALIDATOR", expected: switchValues, Self.switchValue) {
            configuration.isEnabled = enabled
        }
        // Read for its error line; the interposer acts on it (only `off` turns it off).
        _ = read("LOCKVALIDATOR_PTHREADS", expected: switchValues, Self.switchValue)
        configuration.reportPath = read(
            "LOCKVALIDATOR_REPORT", expected: "a file or directory path (no report is written meanwhile)", path)
        configuration.learnedOrderStorePath = read(
            "LOCKVALIDATOR_GRAPH", expected: "a file or directory path (no store is used meanwhile)", path)
        if let budget = read(
            "LOCKVALIDATOR_HOLD_BUDGET_US",
            expected: "a number of microseconds from 0.1 to 60,000,000 (the default, 25, meanwhile)",
            { Double($0).flatMap { holdBudgetRange.contains($0) ? $0 : nil } })
        {
            configuration.holdBudgetMicroseconds = budget
        }
        if let action = read(
            "LOCKVALIDATOR_ON_VIOLATION", expected: "report or trap (report meanwhile)",
            { ViolationAction(rawValue: $0.lowercased()) })
        {
            configuration.onViolation = action
        }
        // A bad value keeps every cycle failing: a typo never lets one pass.
        if let failOn = read(
            "LOCKVALIDATOR_FAIL_ON", expected: "every-cycle or can-deadlock (every cycle fails meanwhile)",
            { FailOn(rawValue: $0.lowercased()) })
        {
            configuration.failOn = failOn
        }
        if let timeout = read(
            "LOCKVALIDATOR_SPIN_TIMEOUT_MS",
            expected: "a whole number of milliseconds from 1 to 3,600,000 (the default, 5000, meanwhile)",
            { Int($0).flatMap { spinTimeoutRange.contains($0) ? $0 : nil } })
        {
            configuration.spinTimeoutMilliseconds = timeout
        }
        // A bad value keeps it off: confirmation changes the schedule, which no typo should turn on.
        if let confirm = read("LOCKVALIDATOR_CONFIRM", expected: "on or off (it stays off)", Self.switchValue) {
            configuration.confirmDeadlocks = confirm
        }
        if let pause = read(
            "LOCKVALIDATOR_CONFIRM_MS",
            expected: "a whole number of milliseconds from 1 to 60,000 (the default, 500, meanwhile)",
            { Int($0).flatMap { confirmPauseRange.contains($0) ? $0 : nil } })
        {
            configuration.confirmPauseMilliseconds = pause
        }
        if environment["LOCKVALIDATOR_EXIT_CODE"] != nil {
            // A typo must not let a violating run pass: a bad value fails it with 66.
            configuration.exitCode =
                read(
                    "LOCKVALIDATOR_EXIT_CODE",
                    expected: "a whole number from 0 to 255 (a process with violations exits with"
                        + " \(exitCodeForABadSetting) meanwhile)",
                    { Int($0).flatMap { (0...255).contains($0) ? $0 : nil } }) ?? exitCodeForABadSetting
        }
        if let path = read(
            "LOCKVALIDATOR_SUPPRESSIONS", expected: "a file path (nothing is suppressed meanwhile)", path)
        {
            do throws(ConfigurationError) {
                let (suppressions, lineErrors) = try Suppression.load(from: path, variable: "LOCKVALIDATOR_SUPPRESSIONS")
                configuration.suppressions = suppressions
                configuration.suppressionsPath = path
                errors += lineErrors
            } catch {
                errors.append(
                    ConfigurationError(
                        variable: error.variable, value: error.value,
                        expected: error.expected + " (nothing is suppressed meanwhile)"))
            }
        }
        errors += unknownVariables(in: environment)
        return (configuration, errors)
    }

    /// What an on/off switch accepts; anything else (a typo, `0`, an empty value) keeps it on.
    static let switchValues = "on or off (it stays on)"

    /// `on` or `off`, in any case; nil for anything else.
    static func switchValue(_ text: String) -> Bool? { ["on": true, "off": false][text.lowercased()] }

    private enum CodingKeys: String, CodingKey {
        case isEnabled = "enabled", reportPath = "report", holdBudgetMicroseconds = "holdBudgetMicroseconds"
        case onViolation, suppressionsPath = "suppressionsFile", suppressions, spinTimeoutMilliseconds, capacity
        case exitCode, learnedOrderStorePath = "graph", failOn, confirmDeadlocks = "confirm", confirmPauseMilliseconds
    }

    /// Settings a report does not carry keep their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Configuration()
        isEnabled = try container.decodeIfPresent(Bool.self, forKey: .isEnabled) ?? defaults.isEnabled
        reportPath = try container.decodeIfPresent(String.self, forKey: .reportPath)
        holdBudgetMicroseconds =
            try container.decodeIfPresent(Double.self, forKey: .holdBudgetMicroseconds)
            ?? defaults.holdBudgetMicroseconds
        onViolation = try container.decodeIfPresent(ViolationAction.self, forKey: .onViolation) ?? defaults.onViolation
        suppressionsPath = try container.decodeIfPresent(String.self, forKey: .suppressionsPath)
        suppressions = try container.decodeIfPresent([Suppression].self, forKey: .suppressions) ?? []
        spinTimeoutMilliseconds =
            try container.decodeIfPresent(Int.self, forKey: .spinTimeoutMilliseconds)
            ?? defaults.spinTimeoutMilliseconds
        capacity = try container.decodeIfPresent(Capacity.self, forKey: .capacity) ?? defaults.capacity
        exitCode = try container.decodeIfPresent(Int.self, forKey: .exitCode)
        learnedOrderStorePath = try container.decodeIfPresent(String.self, forKey: .learnedOrderStorePath)
        confirmDeadlocks =
            try container.decodeIfPresent(Bool.self, forKey: .confirmDeadlocks) ?? defaults.confirmDeadlocks
        confirmPauseMilliseconds =
            try container.decodeIfPresent(Int.self, forKey: .confirmPauseMilliseconds)
            ?? defaults.confirmPauseMilliseconds
        failOn = try container.decodeIfPresent(FailOn.self, forKey: .failOn) ?? defaults.failOn
    }
}

/// A bad configuration value: one line that names the variable.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable.
    public let variable: String
    /// The value it had.
    public let value: String
    /// What it should have been.
    public let expected: String

    /// The line when it is not of the `VARIABLE="value" is not valid` form: a suppressions file's bad line
    /// (`supp.txt:3: unknown rule …`), a variable that is no setting.
    private let otherDescription: String?

    public init(variable: String, value: String, expected: String) {
        self.variable = variable
        self.value = value
        self.expected = expected
        otherDescription = nil
    }

    /// An error that reads as `description`, whole.
    package init(variable: String, value: String, expected: String = "", description: String) {
        self.variable = variable
        self.value = value
        self.expected = expected
        otherDescription = description
    }

    /// `LOCKVALIDATOR_HOLD_BUDGET_US="abc" is not valid: expected a number of microseconds from 0.1 to 60,000,000
    /// (the default, 25, meanwhile)`: what is expected, and what is used instead.
    public var description: String {
        otherDescription ?? "\(variable)=\"\(value)\" is not valid: expected \(expected)"
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
