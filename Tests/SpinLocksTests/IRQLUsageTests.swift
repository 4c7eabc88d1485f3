import SpinLocks
import TestSupport
import Testing

/// `irql-inconsistent-usage`: lockdep's irq-safe / irq-unsafe cases in the IRQL model. A lock held
/// at a device IRQL somewhere (irq-safe) and at a lower IRQL elsewhere (irq-unsafe) deadlocks when the
/// interrupt arrives on a processor holding it at the lower level.
@Suite struct IRQLUsageTests {
    /// The events of one scenario; each runs on a new processor.
    enum Event: Character, CaseIterable, Sendable {
        /// 1: an ISR takes A (A is irq-safe).
        case isrTakesA = "1"
        /// 2: the ISR, holding A, takes B (A → B, B used at DIRQL).
        case isrTakesAThenB = "2"
        /// 3: ordinary code takes B at DISPATCH_LEVEL (B is irq-unsafe).
        case dispatchTakesB = "3"
    }

    final class Scenario: Sendable {
        let a: SpinLock
        let b: SpinLock
        let takeA: InterruptObject
        let takeAThenB: InterruptObject

        init(_ name: String) {
            let prefix = uniqueClassPrefix(name)
            let a = SpinLock("\(prefix).A")
            let b = SpinLock("\(prefix).B")
            self.a = a
            self.b = b
            takeA = InterruptObject("\(prefix).irqA", irql: .device(6)) { _ in
                a.acquireAtDpcLevel()
                a.releaseFromDpcLevel()
                return true
            }
            takeAThenB = InterruptObject("\(prefix).irqAB", irql: .device(6)) { _ in
                a.acquireAtDpcLevel()
                b.acquireAtDpcLevel()
                b.releaseFromDpcLevel()
                a.releaseFromDpcLevel()
                return true
            }
        }

        func run(_ event: Event) -> [Violation] {
            violationsOnFreshProcessor {
                switch event {
                case .isrTakesA: self.takeA.trigger()
                case .isrTakesAThenB: self.takeAThenB.trigger()
                case .dispatchTakesB: self.b.withLock {}
                }
            }
        }
    }

    @Test(arguments: ["13", "31"])
    func aLockTakenInAnISRAndAtDispatchLevelIsReportedAtTheSecondUsage(order: String) {
        let scenario = Scenario("irqsafe1-\(order)")
        // Here event 1 and 3 act on one lock: the ISR's A and ordinary code's A.
        let isrTakesB = InterruptObject("irqsafe1-\(order).irqB", irql: .device(4)) { _ in
            scenario.b.acquireAtDpcLevel()
            scenario.b.releaseFromDpcLevel()
            return true
        }
        let events = order.map { $0 == "1" ? "isr" : "dispatch" }
        var found: [[Violation]] = []
        for event in events {
            found.append(
                violationsOnFreshProcessor {
                    if event == "isr" { isrTakesB.trigger() } else { scenario.b.withLock {} }
                })
        }
        #expect(found[0].isEmpty)
        #expect(found[1].map(\.rule) == [.irqlInconsistentUsage])
        let usages = found[1].first?.usages ?? []
        #expect(usages.map(\.irql) == [.device(4), .dispatch])
        #expect(usages.allSatisfy { $0.site.fileID == "SpinLocksTests/IRQLUsageTests.swift" })
    }

    /// lockdep's irq inversion "123 … 321": every order of the three events is one report, on B.
    @Test(arguments: ["123", "132", "213", "231", "312", "321"])
    func theIRQSafeToUnsafeInversionIsReportedOnceInEveryOrder(order: String) {
        let scenario = Scenario("inversion-\(order)")
        let found = order.compactMap(Event.init(rawValue:)).flatMap { scenario.run($0) }
        #expect(found.map(\.rule) == [.irqlInconsistentUsage], "order \(order)")
        #expect(found.first?.locks.first?.name == "\(scenario.b.name)")
        #expect(found.first?.usages.map(\.irql) == [.device(6), .dispatch])
    }

    @Test func aDpcLevelAcquireAtDIRQLConflictsWithAnAcquireAtDispatchLevel() {
        let lock = SpinLock(uniqueClassPrefix("dirql"))
        let found = violationsOnFreshProcessor {
            lock.withLock {}
            let old = IRQL.raise(to: .device(9))
            lock.acquireAtDpcLevel()
            lock.releaseFromDpcLevel()
            IRQL.lower(to: old)
        }
        #expect(found.map(\.rule) == [.irqlInconsistentUsage])
    }

    @Test func locksHeldAtOneIRQLEachStaySilent() {
        let prefix = uniqueClassPrefix("consistent")
        let deviceData = SpinLock("\(prefix).deviceData")
        let dpcData = SpinLock("\(prefix).dpcData")
        let dpc = Dpc("\(prefix).dpc") { _ in dpcData.withLock {} }
        let interrupt = InterruptObject("\(prefix).irq", irql: .device(5)) { _ in
            deviceData.acquireAtDpcLevel()
            deviceData.releaseFromDpcLevel()
            dpc.queue()
            return true
        }
        let rules = rulesBroken {
            for _ in 0..<10 {
                interrupt.trigger()
                // Code that shares the ISR's data goes through the interrupt's synchronize IRQL.
                interrupt.synchronizeExecution {
                    deviceData.acquireAtDpcLevel()
                    deviceData.releaseFromDpcLevel()
                }
                dpcData.withLock {}
            }
        }
        #expect(rules.isEmpty)
    }
}
