import LockValidatorTesting
import SpinLocks
import TestSupport
import Testing

/// The `.lockValidation` trait and `expectLockViolation`, driven directly so that a faulty "test"
/// can be shown to fail (inside `withKnownIssue`) without failing this suite.
@Suite struct TraitAndExpectationTests {
    // Its tests are about the trait, not hold times (TestSupport.testHoldBudget says why).
    static let trait = LockValidationTrait.lockValidation(holdBudget: testHoldBudget)

    @Test func aFaultyTestFailsWithItsReportWhileACleanOneBesideItPasses() async throws {
        let test = try #require(Test.current)
        for round in 0..<50 {
            let faultyLock = SpinLock(uniqueClassPrefix("faulty-\(round)"))
            let cleanLock = SpinLock(uniqueClassPrefix("clean-\(round)"))
            let line = Guarded(0)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The clean test: any issue recorded here fails this suite.
                    try? await Self.trait.provideScope(for: test, testCase: nil) {
                        ProcessorThread { for _ in 0..<20 { cleanLock.withLock {} } }.join()
                        cleanLock.withLock {}
                    }
                }
                group.addTask {
                    await withKnownIssue {
                        try? await Self.trait.provideScope(for: test, testCase: nil) {
                            // The violation happens on a thread the test starts: still this test's.
                            ProcessorThread {
                                line.value = #line; faultyLock.withLock { faultyLock.withLock {} }
                            }.join()
                        }
                    } matching: { issue in
                        issue.comments.contains { $0.rawValue.contains("ERROR: recursive-acquire") }
                            && issue.sourceLocation?.line == line.value
                            && issue.sourceLocation?.fileID
                                == "LockValidatorTestingTests/TraitAndExpectationTests.swift"
                    }
                }
            }
        }
    }

    @Test func aTestThatEndsAtRaisedIRQLFailsWithScopeLeak() async throws {
        let test = try #require(Test.current)
        await withKnownIssue {
            try? await Self.trait.provideScope(for: test, testCase: nil) { _ = IRQL.raise(to: .dispatch) }
        } matching: { issue in
            issue.comments.contains { $0.rawValue.contains("scope-leak") && $0.rawValue.contains("DISPATCH_LEVEL") }
        }
        #expect(IRQL.current == .passive, "the leak check puts the IRQL back")
    }

    @Test func allowedRulesAndALongerHoldBudgetDoNotFailTheTest() async throws {
        let test = try #require(Test.current)
        let lenient = LockValidationTrait.lockValidation(holdBudget: .milliseconds(1), allowing: [.recursiveAcquire])
        let lock = SpinLock(uniqueClassPrefix("lenient"))
        try await lenient.provideScope(for: test, testCase: nil) {
            ProcessorThread {
                lock.withLock { lock.withLock {} }
                for _ in 0..<6 { lock.withLock { burnOwnTime(microseconds: 60) } }
            }.join()
        }
    }

    // MARK: Which cycles fail

    /// One thread takes A→B then B→A: a cycle that cannot deadlock in this run.
    static func oneThreadCycle(_ name: String) {
        let first = SpinLock(uniqueClassPrefix("\(name).A"))
        let second = SpinLock(uniqueClassPrefix("\(name).B"))
        ProcessorThread {
            first.withLock { second.withLock {} }
            second.withLock { first.withLock {} }
        }.join()
    }

    /// Two threads that could run at once take A→B and B→A (one after the other, so that they never do).
    static func twoThreadCycle(_ name: String) {
        let first = SpinLock(uniqueClassPrefix("\(name).A"))
        let second = SpinLock(uniqueClassPrefix("\(name).B"))
        let taken = Signal()
        let threads = [
            ProcessorThread {
                first.withLock { second.withLock {} }
                taken.raise()
            },
            ProcessorThread {
                taken.wait()
                second.withLock { first.withLock {} }
            },
        ]
        threads.forEach { $0.join() }
    }

    @Test func byDefaultACycleThatCannotDeadlockFailsTheTestWithItsVerdict() async throws {
        let test = try #require(Test.current)
        await withKnownIssue {
            try? await Self.trait.provideScope(for: test, testCase: nil) { Self.oneThreadCycle("verdict-default") }
        } matching: { issue in
            // The first line (what summaries show) says the rule, what happened and the verdict.
            let headline = issue.comments.first?.rawValue.prefix { $0 != "\n" } ?? ""
            return issue.severity == .error && headline.hasPrefix("lock-order-inversion: ")
                && headline.contains("; verdict: cannot deadlock in this run: one thread took every order")
                && issue.comments.contains { $0.rawValue.contains("\nERROR: lock-order-inversion: ") }
        }
    }

    @Test func failOnCanDeadlockLetsACycleThatCannotDeadlockPass() async throws {
        let test = try #require(Test.current)
        let name = uniqueClassPrefix("verdict-warning")
        // Any error issue recorded here fails this suite; the cycle is a warning.
        try await LockValidationTrait.lockValidation(holdBudget: testHoldBudget, failOn: .canDeadlock).provideScope(for: test, testCase: nil) {
            Self.oneThreadCycle(name)
        }
        // A warning for the process too: its report and exit status (which read the process log) agree.
        let logged = LockValidator.violations.filter {
            $0.rule == .lockOrderInversion && $0.locks.contains { $0.name.hasPrefix(name) }
        }
        #expect(logged.count == 1)
        #expect(logged.allSatisfy { $0.severity == .warning && $0.failOn == .canDeadlock })
        #expect(logged.allSatisfy { !$0.fails(underItsSettingOr: .everyCycle) })
    }

    @Test func failOnCanDeadlockStillFailsACycleThatCanDeadlock() async throws {
        let test = try #require(Test.current)
        await withKnownIssue {
            try? await LockValidationTrait.lockValidation(holdBudget: testHoldBudget, failOn: .canDeadlock).provideScope(for: test, testCase: nil) {
                Self.twoThreadCycle("verdict-fails")
            }
        } matching: { issue in
            issue.severity == .error
                && issue.comments.contains {
                    $0.rawValue.contains("lock-order-inversion") && $0.rawValue.contains("verdict: can deadlock")
                }
        }
    }

    /// Two tests of one process take the same cycle one after the other on one thread (an executor of its
    /// own, as XCTest's main thread): each fails, the second's issue naming the first report; the process
    /// log keeps one entry that counts both. Before, the chains stayed cached for the thread and the
    /// second test passed.
    @Test func aLaterTestThatTakesACycleAnotherTestReportedFailsToo() async throws {
        let test = try #require(Test.current)
        let name = uniqueClassPrefix("retold")
        let first = SpinLock("\(name).A")
        let second = SpinLock("\(name).B")
        let executor = OneThreadExecutor()
        defer { executor.stop() }
        await withTaskExecutorPreference(executor) {
            for round in 0..<2 {
                await withKnownIssue {
                    try? await Self.trait.provideScope(for: test, testCase: nil) {
                        first.withLock { second.withLock {} }
                        second.withLock { first.withLock {} }
                    }
                } matching: { issue in
                    issue.comments.contains { $0.rawValue.contains("ERROR: lock-order-inversion") }
                        && (round == 0
                            || issue.comments.contains { $0.rawValue.contains("; this cycle was reported first in") })
                }
            }
        }
        let logged = LockValidator.violations.filter { $0.locks.contains { $0.name == "\(name).A" } }
        #expect(logged.count == 1)
        #expect(logged.first?.occurrences == 2)
    }

    // MARK: expectLockViolation

    @Test func expectLockViolationPassesWhenTheBodyBreaksTheRule() async throws {
        let test = try #require(Test.current)
        let lock = SpinLock(uniqueClassPrefix("expected"), holdBudget: testHoldBudget)
        // Inside a validated test: the expected violation is consumed, so the test stays green.
        try await Self.trait.provideScope(for: test, testCase: nil) {
            expectLockViolation(.recursiveAcquire) { lock.withLock { lock.withLock {} } }
            await expectLockViolation(.releaseNotHeld) {
                await Task.yield()
                let old = IRQL.raise(to: .dispatch)
                lock.releaseFromDpcLevel()
                IRQL.lower(to: old)
            }
        }
    }

    @Test func expectLockViolationFailsWhenTheBodyIsClean() {
        let lock = SpinLock(uniqueClassPrefix("clean-expectation"), holdBudget: testHoldBudget)
        withKnownIssue {
            expectLockViolation(.lockOrderInversion) { lock.withLock {} }
        } matching: { issue in
            issue.comments.contains { $0.rawValue == "expected a lock-order-inversion violation; saw none" }
        }
    }

    @Test func expectLockViolationFailsWithTheRulesItSaw() {
        let lock = SpinLock(uniqueClassPrefix("other-rule"), holdBudget: testHoldBudget)
        withKnownIssue {
            expectLockViolation(.lockOrderInversion) { lock.withLock { lock.withLock {} } }
        } matching: { issue in
            issue.comments.contains {
                $0.rawValue == "expected a lock-order-inversion violation; saw recursive-acquire"
                    || $0.rawValue.contains("ERROR: recursive-acquire")
            }
        }
    }

    // MARK: withScope

    @Test func aRoutineThatReturnsHoldingItsLockIsAScopeLeak() {
        let lock = SpinLock(uniqueClassPrefix("dispatch-routine"))
        keepForever(lock)  // it stays held: freeing it later would be a violation of its own
        let rules = rulesBroken {
            LockValidator.withScope("DispatchRead") { _ = lock.acquire() }
            #expect(IRQL.current == .passive, "the leak check puts the IRQL back where the scope began")
        }
        // The routine leaks it, and then the thread ends holding it.
        #expect(rules == [.scopeLeak, .threadExitHoldingLock])
    }

    @Test func aRoutineThatReturnsCleanIsSilent() {
        let lock = SpinLock(uniqueClassPrefix("clean-routine"))
        let rules = rulesBroken {
            let old = IRQL.raise(to: .apc)
            LockValidator.withScope("DispatchWrite") { lock.withLock {} }
            IRQL.lower(to: old)
        }
        #expect(rules.isEmpty)
    }
}
