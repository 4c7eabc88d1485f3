import LockValidator
import TestSupport
import Testing

@Suite struct ViolationLogTests {
    @inline(never)
    func lowerToDispatchFromPassive() { IRQL.lower(to: .dispatch) }

    @Test func theSameViolationAtTheSameSiteIsOneEntryWithACount() {
        let found = violationsOnFreshProcessor {
            for _ in 0..<3 { lowerToDispatchFromPassive() }
            IRQL.lower(to: .dispatch)
        }
        #expect(found.map(\.rule) == [.irqlLowerInvalid, .irqlLowerInvalid])
        #expect(found.map(\.occurrences) == [3, 1])
        #expect(found[0].site != found[1].site)
    }

    @Test func theInnermostScopeCollectsAndThreadsInheritTheirStartersScope() {
        var inner: [Violation] = []
        let outer = LockValidator.violations(during: {
            inner = LockValidator.violations(during: {
                let thread = ProcessorThread { IRQL.lower(to: .high) }
                thread.join()
            })
            let thread = ProcessorThread { IRQL.lower(to: .clock) }
            thread.join()
        })
        #expect(inner.map(\.summary).contains { $0.contains("HIGH_LEVEL") })
        #expect(inner.count == 1)
        #expect(outer.count == 1)
        #expect(outer.first?.summary.contains("CLOCK_LEVEL") == true)
    }

    /// `reset()` forgets process-wide state that parallel tests rely on, so this runs in a child process.
    @Test func violationsOutsideAnyScopeGoToTheProcessLogUntilReset() async {
        await #expect(processExitsWith: .success) {
            let thread = ProcessorThread(name: "unscoped") { IRQL.lower(to: .ipi) }
            thread.join()
            let logged = LockValidator.violations.filter { $0.summary.contains("IPI_LEVEL") }
            precondition(logged.count == 1, "expected one logged violation, got \(logged)")
            precondition(logged.first?.thread.name == "unscoped")
            precondition(LockValidator.report(.text).contains("irql-lower-invalid"))
            LockValidator.reset()
            precondition(LockValidator.violations.isEmpty, "reset kept \(LockValidator.violations)")
            precondition(LockValidator.lockOrderEdges.isEmpty, "reset kept the graph")
        }
    }

    @Test func aViolationSeenOnlyInAChildProcessFailsTheExitTest() async {
        // The check above is real: the same child fails when its expectation does not hold.
        await #expect(processExitsWith: .failure) {
            precondition(LockValidator.violations.count == 1, "no violation was logged")
        }
    }

    @Test func everyRuleHasAStableKebabCaseIdAndAnAnchor() {
        #expect(Rule.allCases.count == 23)
        #expect(Rule.lockOrderInversion.rawValue == "lock-order-inversion")
        for rule in Rule.allCases {
            #expect(rule.rawValue.allSatisfy { $0.isLowercase || $0 == "-" })
            #expect(!rule.headline.isEmpty && !rule.anchor.isEmpty)
            #expect(Rule(rawValue: rule.rawValue) == rule)
        }
    }
}

@Suite struct TextReportTests {
    @inline(never)
    func misbehavingRoutine() { pageableCode() }

    @Test func aViolationReadsLikeAStoryWithNamedStackFrames() {
        let found = violationsOnFreshProcessor {
            let old = IRQL.raise(to: .dispatch)
            misbehavingRoutine()
            IRQL.lower(to: old)
        }
        #expect(found.count == 1)
        guard let violation = found.first else { return }
        #expect(violation.irql == .dispatch)
        #expect(violation.thread.name == "test-cpu")
        let frames = violation.stack.symbolicated()
        #expect(frames.first?.symbol?.contains("misbehavingRoutine") == true, "\(frames)")
        let text = violation.rendered(.text)
        #expect(text.contains("pageable-at-raised-irql: pageable code called above APC_LEVEL"))
        #expect(text.contains("thread \(violation.thread.serial) \"test-cpu\""))
        #expect(text.contains("at DISPATCH_LEVEL"))
        // A source site as code sites and Swift Testing show a line: the file's name, no module.
        #expect(text.contains("  at ViolationLogTests.swift:"), "\(text)")
        #expect(text.contains("misbehavingRoutine"))
        #expect(text.contains("bug checks 0xA, 0xD1"))
    }
}
