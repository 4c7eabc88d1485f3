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
        #expect(usages.allSatisfy { $0.site.source?.fileID == "SpinLocksTests/IRQLUsageTests.swift" })
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

    /// One driver, one interrupt object per device, connected at one site: each device's interrupt spin
    /// lock is taken at its own DIRQL, so the class is held at DIRQL 5 and 6 and that is no conflict.
    static func connect(_ name: String, _ level: UInt8, hits: Guarded<Int>) -> InterruptObject {
        InterruptObject(name, irql: .device(level)) { _ in
            hits.value += 1
            return true
        }
    }

    @Test func oneDriversInterruptObjectsAtSeveralDIRQLsAreClean() {
        let name = uniqueClassPrefix("dev")
        let hits = Guarded(0)
        let devices = [Self.connect(name, 5, hits: hits), Self.connect(name, 6, hits: hits)]
        let found = violationsOnFreshProcessor {
            for device in devices {
                device.trigger()
                device.synchronizeExecution {}
            }
            // A higher DIRQL's interrupt arriving inside a lower one's critical section is the normal
            // nesting: its ISR runs at once, in its own interrupt context.
            devices[0].synchronizeExecution { devices[1].trigger() }
        }
        #expect(found.map(\.rule) == [])
        #expect(hits.value == 3)
    }

    /// Locks of one class, one per device, each taken by its own device's ISR, one ISR interrupting
    /// the other: instances at different device levels cannot deadlock each other.
    @Test func perDeviceLocksOfOneClassAtTheirOwnDIRQLsAreClean() {
        let prefix = uniqueClassPrefix("perDevice")
        let data = [SpinLock("\(prefix).data"), SpinLock("\(prefix).data")]
        let high = InterruptObject("\(prefix).irq6", irql: .device(6)) { _ in
            data[1].acquireAtDpcLevel()
            data[1].releaseFromDpcLevel()
            return true
        }
        let low = InterruptObject("\(prefix).irq5", irql: .device(5)) { _ in
            data[0].acquireAtDpcLevel()
            high.trigger()  // DIRQL 6 preempts this ISR while it holds its lock
            data[0].releaseFromDpcLevel()
            return true
        }
        #expect(rulesBroken { low.trigger() } == [])
    }

    /// One lock taken by the ISRs of two devices at DIRQL 5 and 6: the DIRQL 6 interrupt arriving
    /// while the DIRQL 5 ISR holds it spins forever.
    @Test func oneLockHeldAtTwoDIRQLsIsReported() {
        let prefix = uniqueClassPrefix("shared")
        let statistics = SpinLock("\(prefix).statistics")
        let isr = { (level: UInt8) in
            InterruptObject("\(prefix).irq\(level)", irql: .device(level)) { _ in
                statistics.acquireAtDpcLevel()
                statistics.releaseFromDpcLevel()
                return true
            }
        }
        let (low, high) = (isr(5), isr(6))
        let found = violationsOnFreshProcessor {
            low.trigger()
            high.trigger()
        }
        #expect(found.map(\.rule) == [.irqlInconsistentUsage])
        #expect(found.first?.usages.map(\.irql) == [.device(6), .device(5)])
        #expect(found.first?.locks.first?.instance == statistics.instance)
    }
}
