import Foundation
import LockValidator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SPEC §7: every variable read once and validated; a bad value is one line naming the variable.
@Suite struct ConfigurationTests {
    @Test func theDefaultsHoldWithAnEmptyEnvironment() throws {
        let configuration = try Configuration(environment: [:])
        #expect(configuration == Configuration())
        #expect(configuration.isEnabled && configuration.onViolation == .report)
        #expect(configuration.holdBudgetMicroseconds == 25 && configuration.spinTimeoutMilliseconds == 5_000)
    }

    @Test func everyVariableIsRead() throws {
        let configuration = try Configuration(environment: [
            "LOCKVALIDATOR": "off", "LOCKVALIDATOR_REPORT": "/tmp/r.json", "LOCKVALIDATOR_HOLD_BUDGET_US": "12.5",
            "LOCKVALIDATOR_ON_VIOLATION": "trap", "LOCKVALIDATOR_SPIN_TIMEOUT_MS": "900",
            "LOCKVALIDATOR_EXIT_CODE": "3", "LOCKVALIDATOR_FAIL_ON": "Can-Deadlock",
        ])
        #expect(configuration.exitCode == 3)
        #expect(configuration.failOn == .canDeadlock)
        #expect(!configuration.isEnabled)
        #expect(configuration.reportPath == "/tmp/r.json")
        #expect(configuration.holdBudgetMicroseconds == 12.5)
        #expect(configuration.onViolation == .trap)
        #expect(configuration.spinTimeoutMilliseconds == 900)
    }

    @Test(arguments: [
        ("LOCKVALIDATOR", "maybe"), ("LOCKVALIDATOR", ""), ("LOCKVALIDATOR", "0"),
        ("LOCKVALIDATOR_HOLD_BUDGET_US", "abc"), ("LOCKVALIDATOR_HOLD_BUDGET_US", "-3"),
        ("LOCKVALIDATOR_HOLD_BUDGET_US", "1e99"), ("LOCKVALIDATOR_HOLD_BUDGET_US", "99999999999999999999"),
        ("LOCKVALIDATOR_HOLD_BUDGET_US", "nan"), ("LOCKVALIDATOR_HOLD_BUDGET_US", "0"),
        ("LOCKVALIDATOR_ON_VIOLATION", "explode"), ("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "1.5"),
        ("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "10000000000000"), ("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "0"),
        ("LOCKVALIDATOR_EXIT_CODE", "256"), ("LOCKVALIDATOR_EXIT_CODE", "66x"), ("LOCKVALIDATOR_EXIT_CODE", "-1"),
        ("LOCKVALIDATOR_EXIT_CODE", ""), ("LOCKVALIDATOR_PTHREADS", "maybe"), ("LOCKVALIDATOR_PTHREADS", "0"),
        ("LOCKVALIDATOR_PTHREADS", ""), ("LOCKVALIDATOR_GRAPH", ""), ("LOCKVALIDATOR_CONFIRM", "1"),
        ("LOCKVALIDATOR_CONFIRM", ""), ("LOCKVALIDATOR_CONFIRM_MS", "0"), ("LOCKVALIDATOR_CONFIRM_MS", "60001"),
        ("LOCKVALIDATOR_CONFIRM_MS", "2.5"),
        ("LOCKVALIDATOR_SUPPRESSIONS", "/nonexistent/suppressions.txt"), ("LOCKVALIDATOR_FAIL_ON", "deadlocks"),
        ("LOCKVALIDATOR_FAIL_ON", ""),
    ])
    func aBadValueIsOneLineNamingItsVariable(variable: String, value: String) {
        #expect(throws: ConfigurationError.self) { try Configuration(environment: [variable: value]) }
        let (configuration, errors) = Configuration.parse([variable: value, "LOCKVALIDATOR_REPORT": "/tmp/kept.json"])
        #expect(errors.count == 1)
        let line = errors.first?.description ?? ""
        #expect(line.hasPrefix("\(variable)=\"\(value)\" is not valid: expected "))
        #expect(!line.contains("\n"))
        // It says what is used instead (a bad value keeps the default, or the stricter choice).
        #expect(
            line.contains("meanwhile)") || line.contains("(it stays on)") || line.contains("(it stays off)"), "\(line)")
        // The other variables are still honoured, and the bad one keeps its default.
        #expect(configuration.reportPath == "/tmp/kept.json")
    }

    /// Confirmation mode is off unless asked for, and a typo keeps it off: it changes the schedule.
    @Test func confirmationIsOffByDefaultAndOnOnlyWhenAskedFor() {
        let defaults = Configuration.parse([:]).0
        #expect(!defaults.confirmDeadlocks && defaults.confirmPauseMilliseconds == 500)
        let on = Configuration.parse(["LOCKVALIDATOR_CONFIRM": " On ", "LOCKVALIDATOR_CONFIRM_MS": "60000"])
        #expect(on.1.isEmpty && on.0.confirmDeadlocks && on.0.confirmPauseMilliseconds == 60_000)
        let bad = Configuration.parse(["LOCKVALIDATOR_CONFIRM": "yes", "LOCKVALIDATOR_CONFIRM_MS": "0"])
        #expect(!bad.0.confirmDeadlocks && bad.0.confirmPauseMilliseconds == 500 && bad.1.count == 2)
        #expect(bad.1.first { $0.variable == "LOCKVALIDATOR_CONFIRM" }?.expected == "on or off (it stays off)")
    }

    /// Every cycle fails unless the setting says only those that can deadlock; a typo keeps every one failing.
    @Test func failOnKeepsEveryCycleFailingUnlessItIsCanDeadlock() {
        #expect(Configuration().failOn == .everyCycle)
        #expect(Configuration.parse(["LOCKVALIDATOR_FAIL_ON": "every-cycle"]).0.failOn == .everyCycle)
        #expect(Configuration.parse(["LOCKVALIDATOR_FAIL_ON": " can-deadlock "]).0.failOn == .canDeadlock)
        for value in ["can_deadlock", "cannot-deadlock", "none", "0"] {
            let (configuration, errors) = Configuration.parse(["LOCKVALIDATOR_FAIL_ON": value])
            #expect(configuration.failOn == .everyCycle && errors.count == 1)
        }
    }

    /// A bad value never weakens a check: numbers keep their defaults, switches stay on, and a bad exit code
    /// still fails a process with violations (issue 30).
    @Test func aBadValueNeverWeakensACheck() {
        for value in ["66x", "256", "-1", ""] {
            let (configuration, errors) = Configuration.parse(["LOCKVALIDATOR_EXIT_CODE": value])
            #expect(configuration.exitCode == Configuration.exitCodeForABadSetting && errors.count == 1, "\(value)")
            #expect(errors.first?.description.contains("exits with 66") == true)
        }
        for value in ["", "0", "maybe", "of"] {
            #expect(Configuration.parse(["LOCKVALIDATOR": value]).0.isEnabled, "\(value)")
        }
        #expect(!Configuration.parse(["LOCKVALIDATOR": " OFF "]).0.isEnabled)
        let (configuration, errors) = Configuration.parse([
            "LOCKVALIDATOR_HOLD_BUDGET_US": "1e99", "LOCKVALIDATOR_SPIN_TIMEOUT_MS": "10000000000000",
        ])
        #expect(configuration.holdBudgetMicroseconds == 25 && configuration.spinTimeoutMilliseconds == 5_000)
        #expect(errors.map(\.variable).sorted() == ["LOCKVALIDATOR_HOLD_BUDGET_US", "LOCKVALIDATOR_SPIN_TIMEOUT_MS"])
        // The ends of each range are valid.
        let ends = Configuration.parse([
            "LOCKVALIDATOR_HOLD_BUDGET_US": "60000000", "LOCKVALIDATOR_SPIN_TIMEOUT_MS": "3600000",
        ])
        #expect(ends.1.isEmpty && ends.0.holdBudgetMicroseconds == 60_000_000)
    }

    /// Out-of-range settings once killed the process at its first SpinLock ("Double value cannot be converted
    /// to UInt64"): now one line each, and the lock works.
    @Test func outOfRangeSettingsAreOneLineNotACrash() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_HOLD_BUDGET_US", "1e99", 1)
            setenv("LOCKVALIDATOR_SPIN_TIMEOUT_MS", "10000000000000", 1)
            let thread = ProcessorThread {
                let lock = LockID("OutOfRange.lock", sleeps: false)  // a spin lock: timed against the budget
                LockValidator.acquire(lock)
                LockValidator.acquired(lock)
                LockValidator.release(lock)
            }
            thread.join()
            precondition(LockValidator.configuration.holdBudgetMicroseconds == 25)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("LOCKVALIDATOR_HOLD_BUDGET_US=\"1e99\" is not valid"))
        #expect(standardError.contains("LOCKVALIDATOR_SPIN_TIMEOUT_MS=\"10000000000000\" is not valid"))
    }

    @Test func theProcessPrintsTheLineWhenItReadsABadEnvironment() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_HOLD_BUDGET_US", "fast", 1)
            precondition(LockValidator.configuration.holdBudgetMicroseconds == 25)
            precondition(LockValidator.configurationErrors.count == 1)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("LockValidator: LOCKVALIDATOR_HOLD_BUDGET_US=\"fast\" is not valid"))
    }

    @Test func offLeavesPlainLocksThatKeepIRQLSemantics() async {
        await #expect(processExitsWith: .success) {
            setenv("LOCKVALIDATOR", "off", 1)
            precondition(!LockValidator.configuration.isEnabled)
            let thread = ProcessorThread {
                IRQL.lower(to: .dispatch)  // would be irql-lower-invalid
                let old = IRQL.raise(to: .dispatch)
                precondition(IRQL.current == .dispatch)
                pageableCode()  // would be pageable-at-raised-irql
                IRQL.lower(to: old)
            }
            thread.join()
            precondition(LockValidator.violations.isEmpty, "\(LockValidator.violations)")
        }
    }

    @Test func theReportIsWrittenAtExitWhereTheVariableSays() async throws {
        let path = "/tmp/lockvalidator-exit-report-\(getpid()).json"
        unlink(path)
        await #expect(processExitsWith: .success) {
            setenv("LOCKVALIDATOR_REPORT", "/tmp/lockvalidator-exit-report-\(getppid()).json", 1)
            ProcessorThread { IRQL.lower(to: .high) }.join()
            exit(0)
        }
        let text = try #require(TextFile.read(path))
        #expect(text.contains("\"schema\" : \"lockvalidator-report/1\""))
        #expect(text.contains("\"rule\" : \"irql-lower-invalid\""))
        unlink(path)
    }

    @Test func trapPrintsTheReportAndAbortsLikeABugCheck() async {
        let store = "/tmp/lockvalidator-trap-store-\(getpid())/"
        defer { try? FileManager.default.removeItem(atPath: store) }
        let result = await #expect(processExitsWith: .signal(SIGABRT), observing: [\.standardErrorContent]) {
            setenv("LOCKVALIDATOR_ON_VIOLATION", "trap", 1)
            // The learned-order store is written before the abort, as the report is.
            setenv("LOCKVALIDATOR_GRAPH", "/tmp/lockvalidator-trap-store-\(getppid())/", 1)
            ProcessorThread { IRQL.lower(to: .high) }.join()
        }
        #expect(TextFile.read(store + "lockvalidator-graph.txt")?.hasPrefix(LearnedOrderStore.schemaName) == true)
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("ERROR: irql-lower-invalid"))
        #expect(
            standardError.contains("LOCKVALIDATOR_ON_VIOLATION=trap: stopping at this irql-lower-invalid violation"))
    }
}

/// TSan-style suppressions: counted in the report, not hidden, failing nothing.
@Suite struct SuppressionTests {
    @Test func linesParseAsRuleColonPattern() throws {
        #expect(try Suppression.parse(line: "  # comment") == nil)
        #expect(try Suppression.parse(line: "") == nil)
        #expect(
            try Suppression.parse(line: "lock-order-inversion:Legacy.*")
                == Suppression(rule: .lockOrderInversion, pattern: "Legacy.*"))
        #expect(
            try Suppression.parse(line: "*:fun:*OldDriver*")
                == Suppression(rule: nil, pattern: "*OldDriver*", matchesFunctions: true))
        #expect(throws: SuppressionSyntaxError.self) { try Suppression.parse(line: "no-such-rule:x") }
        #expect(throws: SuppressionSyntaxError.self) { try Suppression.parse(line: "missing colon") }
        #expect(throws: SuppressionSyntaxError.self) { try Suppression.parse(line: "recursive-acquire:") }
        #expect(throws: SuppressionSyntaxError.self) { try Suppression.parse(line: "*:[unclosed") }
        #expect(throws: SuppressionSyntaxError.self) { try Suppression.parse(line: "*:fun:a[!b") }
        // A pattern may start with a combining mark: the colon before it is still the separator.
        #expect(try Suppression.parse(line: "*:\u{301}x") == Suppression(rule: nil, pattern: "\u{301}x"))
        #expect(throws: SuppressionSyntaxError.self) { try Suppression.parse(line: "*\u{301}x") }
    }

    @Test func classesMatchOneCharacterOfThem() {
        let scalars = { (text: String) in Array(text.unicodeScalars) }
        #expect(Suppression.glob(scalars("Bank.[al]*"), scalars("Bank.accounts")))
        #expect(Suppression.glob(scalars("Bank.[al]*"), scalars("Bank.ledger")))
        #expect(!Suppression.glob(scalars("Bank.[al]*"), scalars("Bank.vault")))
        #expect(Suppression.glob(scalars("Bank.[!al]*"), scalars("Bank.vault")))
        #expect(Suppression.glob(scalars("lock[0-9]"), scalars("lock7")) && !Suppression.glob(scalars("lock[0-9]"), scalars("lockx")))
        #expect(Suppression.glob(scalars("[]]x"), scalars("]x")))
    }

    /// Every bad line is reported with its number and what was wrong, and the valid lines are kept: a typo
    /// drops only itself (issue 30; before, the first bad line dropped the whole file).
    @Test func everyBadLineIsReportedAndTheValidOnesKept() throws {
        let path = NSTemporaryDirectory() + "suppressions-\(getpid()).txt"
        defer { unlink(path) }
        try """
            # third-party code
            lock-order-inversion:ThirdParty.*
            no-such-rule:Foo
            missing colon
            *:[unclosed
            recursive-acquire:fun:*Legacy*
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let (configuration, errors) = Configuration.parse(["LOCKVALIDATOR_SUPPRESSIONS": path])
        #expect(configuration.suppressions.map(\.description) == ["lock-order-inversion:ThirdParty.*", "recursive-acquire:fun:*Legacy*"])
        #expect(errors.count == 3)
        for (error, line) in zip(errors, [3, 4, 5]) {
            #expect(error.description.hasPrefix("\(path):\(line): "), "\(error)")
            #expect(error.description.hasSuffix("; the line is ignored"), "\(error)")
            #expect(!error.description.contains("\n"))
        }
        #expect(errors[2].description.contains("never closed"))
    }

    /// A file saved with Windows line ends reads as the same file with Unix ones: before, "\r\n" (one
    /// Character) never split, and the whole file was one line, its suppressions lost without an error.
    @Test func windowsLineEndsReadAsUnixOnes() {
        let lines = ["# third-party code", "lock-order-inversion:ThirdParty.*", "missing colon", "*:fun:*Legacy*"]
        let unix = Suppression.parse(text: lines.joined(separator: "\n") + "\n")
        let windows = Suppression.parse(text: lines.joined(separator: "\r\n") + "\r\n")
        #expect(windows.suppressions.map(\.description) == ["lock-order-inversion:ThirdParty.*", "*:fun:*Legacy*"])
        #expect(windows.suppressions == unix.suppressions)
        #expect(windows.errors.map(\.line) == [3] && unix.errors.map(\.line) == [3])
        #expect(windows.errors.first?.message == "expected rule:pattern, got \"missing colon\"")
    }

    @inline(never)
    static func legacyRoutine() { IRQL.lower(to: .clock) }

    @Test func patternsMatchLockClassesAndFunctions() {
        let found = violationsOnFreshProcessor { Self.legacyRoutine() }
        let violation = found[0]
        #expect(
            Suppression(rule: .irqlLowerInvalid, pattern: "*legacyRoutine*", matchesFunctions: true).matches(violation))
        #expect(
            !Suppression(rule: .recursiveAcquire, pattern: "*legacyRoutine*", matchesFunctions: true).matches(violation)
        )
        #expect(!Suppression(rule: nil, pattern: "*other*", matchesFunctions: true).matches(violation))
        #expect(!Suppression(rule: nil, pattern: "*").matches(violation), "no lock is involved")
    }

    /// A bad line reads as a compiler's (`file:line: what`), and a misspelled rule names the one meant.
    @Test func aSuppressionsFileErrorNamesTheFileAndTheLine() throws {
        let path = "/tmp/lockvalidator-suppressions-\(getpid()).txt"
        defer { unlink(path) }
        try #require(writeTextFile("# ok\nrecursive-acquire:Legacy.*\nrecursive-aquire:*\nbogus-rule:X\n", to: path))
        let (_, errors) = Configuration.parse(["LOCKVALIDATOR_SUPPRESSIONS": path])
        #expect(
            errors.map(\.description) == [
                "\(path):3: unknown rule \"recursive-aquire\" (did you mean \"recursive-acquire\"?); the line is ignored",
                "\(path):4: unknown rule \"bogus-rule\"; the line is ignored",
            ])
        #expect(errors.allSatisfy { $0.variable == "LOCKVALIDATOR_SUPPRESSIONS" && $0.value == path })
    }

    @Test func suppressedViolationsAreCountedApart() async {
        await #expect(processExitsWith: .success) {
            let path = "/tmp/lockvalidator-suppressions-child-\(getpid()).txt"
            precondition(writeTextFile("irql-lower-invalid:fun:*legacyRoutine*\n", to: path))
            setenv("LOCKVALIDATOR_SUPPRESSIONS", path, 1)
            precondition(LockValidator.configuration.suppressions.count == 1)
            ProcessorThread { SuppressionTests.legacyRoutine() }.join()
            ProcessorThread { IRQL.lower(to: .ipi) }.join()
            unlink(path)
            precondition(LockValidator.suppressedViolations.count == 1)
            precondition(LockValidator.violations.count == 1)
            let report = LockValidator.currentReport
            precondition(report.statistics.suppressed == 1 && report.suppressed.count == 1)
        }
    }
}
