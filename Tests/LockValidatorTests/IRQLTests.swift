import LockValidator
import TestSupport
import Testing

@Suite struct IRQLTests {
    @Test func levelsAreNamedAsTheKernelNamesThem() {
        #expect(IRQL.passive.description == "PASSIVE_LEVEL")
        #expect(IRQL.apc.description == "APC_LEVEL")
        #expect(IRQL.dispatch.description == "DISPATCH_LEVEL")
        #expect(IRQL.device(5).description == "DIRQL(5)")
        #expect(IRQL.clock.description == "CLOCK_LEVEL")
        #expect(IRQL.ipi.description == "IPI_LEVEL")
        #expect(IRQL.high.description == "HIGH_LEVEL")
        #expect(IRQL.passive < .apc && .apc < .dispatch && .dispatch < .device(3) && .device(12) < .clock)
        #expect(IRQL(rawValue: 16) == nil)
        #expect(IRQL(rawValue: 2) == .dispatch)
    }

    @Test func eachThreadStartsAtPassiveLevelWithItsOwnIRQL() {
        let found = violationsOnFreshProcessor {
            #expect(IRQL.current == .passive)
            let old = IRQL.raise(to: .device(7))
            #expect(old == .passive)
            let other = ProcessorThread { #expect(IRQL.current == .passive) }
            other.join()
            #expect(IRQL.current == .device(7))
            IRQL.lower(to: old)
            #expect(IRQL.current == .passive)
        }
        #expect(found.isEmpty)
    }

    @Test func raisingToALowerLevelIsReportedAndLeavesTheIRQL() {
        let found = violationsOnFreshProcessor {
            let old = IRQL.raise(to: .dispatch)
            let returned = IRQL.raise(to: .apc)
            #expect(returned == .dispatch)
            #expect(IRQL.current == .dispatch)
            IRQL.lower(to: old)
        }
        #expect(found.map(\.rule) == [.irqlRaiseInvalid])
        #expect(found.first?.site?.source?.fileID == "LockValidatorTests/IRQLTests.swift")
    }

    @Test func loweringToAHigherLevelIsReportedAndLeavesTheIRQL() {
        let found = violationsOnFreshProcessor {
            IRQL.lower(to: .dispatch)
            #expect(IRQL.current == .passive)
        }
        #expect(found.map(\.rule) == [.irqlLowerInvalid])
    }

    @Test func raisingAndLoweringInOrderIsSilent() {
        let rules = rulesBroken {
            let a = IRQL.raise(to: .apc)
            let b = IRQL.raise(to: .dispatch)
            let c = IRQL.raise(to: .dispatch)
            IRQL.lower(to: c)
            IRQL.lower(to: b)
            IRQL.lower(to: a)
        }
        #expect(rules.isEmpty)
    }

    @Test func pageableCodeAboveAPCLevelIsReported() {
        let rules = rulesBroken {
            let old = IRQL.raise(to: .dispatch)
            pageableCode()
            IRQL.lower(to: old)
        }
        #expect(rules == [.pageableAtRaisedIRQL])
    }

    @Test func pageableCodeAtOrBelowAPCLevelIsSilent() {
        let rules = rulesBroken {
            pageableCode()
            let old = IRQL.raise(to: .apc)
            pageableCode()
            IRQL.lower(to: old)
        }
        #expect(rules.isEmpty)
    }

    @Test func mightSleepAtDispatchLevelIsReported() {
        let rules = rulesBroken {
            let old = IRQL.raise(to: .dispatch)
            mightSleep()
            IRQL.lower(to: old)
        }
        #expect(rules == [.blockingWhileHeld])
    }

    @Test func mightSleepAtPassiveLevelIsSilent() {
        #expect(rulesBroken { mightSleep() }.isEmpty)
    }
}
