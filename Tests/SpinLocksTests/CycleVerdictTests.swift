import SpinLocks
import TestSupport
import Testing

/// The verdict on each `lock-order-inversion` (SPEC §8f): for each reason a cycle cannot deadlock, a
/// program that has it and the same program with the one difference that lets it deadlock. Threads are
/// `ProcessorThread`s the test starts and joins; whether they ran at once is decided by start and join
/// alone, never by timing.
@Suite struct CycleVerdictTests {
    typealias Locks = LockOrderTests.Locks

    /// Takes `first` then `second` (both spin locks), with `gate` held around them when given.
    static func take(_ first: SpinLock, _ second: SpinLock, under gate: SpinLock? = nil) {
        let old = gate?.acquire()
        let inner = gate == nil ? first.acquire() : nil
        if gate != nil { first.acquireAtDpcLevel() }
        second.acquireAtDpcLevel()
        second.releaseFromDpcLevel()
        if let inner { first.release(inner) } else { first.releaseFromDpcLevel() }
        if let gate, let old { gate.release(old) }
    }

    /// The violations of a scope named `scopeName` in which this thread takes A then B, then B then A.
    static func bothOrders(of locks: Locks, scopeName: String) -> [Violation] {
        LockValidator.violations(
            during: {
                take(locks["A"], locks["B"])
                take(locks["B"], locks["A"])
            }, scopeName: scopeName)
    }

    /// Starts one thread per body, all before any runs (so that no start orders them), lets each run
    /// only once the one before it has finished (a wait the verdicts do not see: the threads could have
    /// met), then joins them all. Run one after the other, they never deadlock for real.
    static func inTurn(_ bodies: [@Sendable () -> Void]) {
        let turns = bodies.map { _ in Signal() }
        let threads = bodies.indices.map { index in
            ProcessorThread {
                if index > 0 { turns[index - 1].wait() }
                bodies[index]()
                turns[index].raise()
            }
        }
        threads.forEach { $0.join() }
    }

    /// Runs `body` on a parent thread of its own (so that the test's own thread and its history take no
    /// part), and returns the verdicts of the cycles it caused, as a report reads them at its end.
    static func verdicts(_ body: @escaping @Sendable () -> Void) -> [CycleVerdict?] {
        violationsOnFreshProcessor(body).filter { $0.rule == .lockOrderInversion }.map(\.verdict)
    }

    // MARK: One thread

    @Test func oneThreadTakingBothOrdersCannotDeadlock() {
        let locks = Locks("AB", test: "verdict-one")
        let found = Self.verdicts {
            Self.take(locks["A"], locks["B"])
            Self.take(locks["B"], locks["A"])
        }
        #expect(found.map { $0?.reason } == [.oneThread])
        #expect(found.first??.kind == .cannotDeadlock)
    }

    @Test func twoThreadsThatCanMeetCanDeadlock() throws {
        let locks = Locks("AB", test: "verdict-two")
        let found = Self.verdicts {
            Self.inTurn([{ Self.take(locks["A"], locks["B"]) }, { Self.take(locks["B"], locks["A"]) }])
        }
        #expect(found == [.canDeadlock])
        // It names the two threads that could meet, each with its order: what a report's edges may not show.
        let threads = try #require(found.first??.threads)
        #expect(threads.count == 2 && Set(threads.map { $0.prefix { $0 != " " } }) == ["thread"])
        #expect(threads.contains { $0.hasSuffix("took \"\(locks.name("A"))\" -> \"\(locks.name("B"))\"") })
        #expect(threads.contains { $0.hasSuffix("took \"\(locks.name("B"))\" -> \"\(locks.name("A"))\"") })
        #expect(Set(threads.map { $0.split(separator: " ")[1] }).count == 2, "two threads")
        #expect(found.first??.description.contains(threads[0]) == true)
    }

    /// Tests of one process share its graph: one closes a cycle on one thread; another then takes the
    /// same orders on threads that can meet. Each is told of the cycle in its own scope, once, with the
    /// stack of its own order and the verdict of what its own threads did. A test that takes only one
    /// order of the cycle, or only orders of no cycle, is told nothing. Before, the second added no edge
    /// and passed, and the first alone wore its can-deadlock verdict.
    @Test func aScopeThatTakesTheOrdersOfACycleAnotherScopeFoundIsToldOfIt() {
        let locks = Locks("ABCD", test: "verdict-two-scopes")
        let first = Self.verdicts {
            Self.take(locks["A"], locks["B"])
            Self.take(locks["B"], locks["A"])
        }
        #expect(first.map { $0?.reason } == [.oneThread])
        let second = violationsOnFreshProcessor {
            Self.inTurn([
                { Self.take(locks["A"], locks["B"]) }, { Self.take(locks["B"], locks["A"]) },
                { Self.take(locks["A"], locks["B"]) },
            ])
        }
        #expect(second.map(\.rule) == [.lockOrderInversion])
        #expect(second.first?.verdict == .canDeadlock)
        #expect(Set(second.first?.locks.map(\.name) ?? []) == [locks["A"].name, locks["B"].name])
        let oneOrder = violationsOnFreshProcessor {
            Self.inTurn([{ Self.take(locks["A"], locks["B"]) }, { Self.take(locks["A"], locks["B"]) }])
        }
        #expect(oneOrder.isEmpty)
        let noCycle = violationsOnFreshProcessor {
            Self.inTurn([{ Self.take(locks["C"], locks["D"]) }, { Self.take(locks["C"], locks["D"]) }])
        }
        #expect(noCycle.isEmpty)
        let oneThread = violationsOnFreshProcessor {
            Self.take(locks["B"], locks["A"])
            Self.take(locks["A"], locks["B"])
        }
        #expect(oneThread.map { $0.verdict?.reason } == [.oneThread])
    }

    /// Two scopes one after the other on one thread (an XCTest process's main thread runs every test), each
    /// taking both orders of a cycle: the second is told too, its summary naming the first report, and the
    /// process log keeps one entry that counts both. A third that takes one order is told nothing. Before,
    /// the chains the first validated stayed cached for the thread and the second passed.
    @Test func aLaterScopeOnTheSameThreadThatTakesTheCycleIsToldOfIt() throws {
        let locks = Locks("AB", test: "verdict-same-thread")
        let found = Guarded<[[Violation]]>([])
        ProcessorThread {
            for name in ["first", "second"] {
                found.value.append(Self.bothOrders(of: locks, scopeName: name))
                // As the test integrations do: each test's violations go on to the process log.
                found.value.last?.forEach(ViolationScope.logHandled)
            }
            found.value.append(LockValidator.violations(during: { Self.take(locks["A"], locks["B"]) }))
        }.join()
        let (first, second, oneOrder) = (found.value[0], found.value[1], found.value[2])
        #expect(first.map(\.rule) == [.lockOrderInversion])
        #expect(second.map(\.rule) == [.lockOrderInversion])
        #expect(second.first?.verdict?.reason == .oneThread)
        #expect(second.first?.summary.hasSuffix("; this cycle was reported first in \"first\"") == true)
        #expect(oneOrder.isEmpty)
        let logged = LockValidator.violations.filter { $0.locks.contains { $0.name == locks.name("A") } }
        #expect(logged.count == 1)
        #expect(logged.first?.occurrences == 2 && logged.first?.scope == "first, second")
    }

    /// Tests that run at once: the test told of a cycle again ends before the one that reported it first.
    /// The process log still keeps one entry, the first report's, counting both.
    @Test func theFirstReportArrivingAfterATestToldAgainTakesItsEntry() throws {
        let locks = Locks("AB", test: "verdict-first-last")
        let found = Guarded<[[Violation]]>([])
        ProcessorThread {
            for name in ["first", "second"] {
                found.value.append(Self.bothOrders(of: locks, scopeName: name))
            }
        }.join()
        // As the test integrations pass them on, the second test's first.
        found.value[1].forEach(ViolationScope.logHandled)
        found.value[0].forEach(ViolationScope.logHandled)
        let logged = LockValidator.violations.filter { $0.locks.contains { $0.name == locks.name("A") } }
        #expect(logged.count == 1)
        #expect(logged.first?.occurrences == 2 && logged.first?.scope == "first, second")
        #expect(logged.first?.summary.contains("reported first") == false)
    }

    /// After the cycle is reported (one thread took both orders), another thread that could run at the same
    /// time takes A and B. Nested, it takes an order the first validated (a chain the C and Swift fast paths
    /// would find), the weakest evidence: the report says can-deadlock. Never nested, the cycle stays one
    /// thread's.
    @Test(arguments: [true, false]) func aSecondThreadAfterTheReport(nests: Bool) {
        let locks = Locks("AB", test: "verdict-later-\(nests ? "nested" : "none")")
        let reported = Signal()
        let found = Self.verdicts {
            let first = ProcessorThread {
                Self.take(locks["A"], locks["B"])
                Self.take(locks["B"], locks["A"])
                reported.raise()
            }
            let second = ProcessorThread {
                reported.wait()
                guard !nests else { return Self.take(locks["A"], locks["B"]) }
                for name: Character in ["A", "B"] {
                    let old = locks[name].acquire()
                    locks[name].release(old)
                }
            }
            first.join()
            second.join()
        }
        if nests {
            #expect(found == [.canDeadlock])
        } else {
            #expect(found.map { $0?.reason } == [.oneThread])
        }
    }

    /// One thread takes an order in more epochs than an edge keeps sightings of (each start and join of
    /// another thread begins a new epoch; an XCTest process's main thread runs every test and starts
    /// threads in many): GRDB's suite had a cycle its main thread alone took reported can-deadlock.
    @Test func oneThreadTakingAnOrderInManyEpochsCannotDeadlock() {
        let locks = Locks("AB", test: "verdict-one-many-epochs")
        let found = Self.verdicts {
            Self.take(locks["A"], locks["B"])
            Self.take(locks["B"], locks["A"])
            for _ in 0..<130 {  // twice the sightings an edge keeps one by one (EdgeEvidence.maxOccurrences)
                ProcessorThread {}.join()
                Self.take(locks["A"], locks["B"])
            }
        }
        #expect(found.map { $0?.reason } == [.oneThread])
    }

    /// The same, with another thread, started before and able to run alongside, taking the order after
    /// its sightings stopped being kept one by one: no longer one thread's.
    @Test func anotherThreadTakingAnOrderPastItsKeptSightingsCanDeadlock() {
        let locks = Locks("AB", test: "verdict-many-epochs-two")
        let found = Self.verdicts {
            let go = Signal()
            let other = ProcessorThread {
                go.wait()
                Self.take(locks["A"], locks["B"])
            }
            Self.take(locks["A"], locks["B"])
            Self.take(locks["B"], locks["A"])
            for _ in 0..<130 {  // twice the sightings an edge keeps one by one (EdgeEvidence.maxOccurrences)
                ProcessorThread {}.join()
                Self.take(locks["A"], locks["B"])
            }
            go.raise()
            other.join()
        }
        #expect(found == [.canDeadlock])
    }

    // MARK: A gate lock

    @Test func aGateHeldAcrossBothOrdersCannotDeadlock() {
        let locks = Locks("ABG", test: "verdict-gate")
        let found = Self.verdicts {
            let first = ProcessorThread { Self.take(locks["A"], locks["B"], under: locks["G"]) }
            let second = ProcessorThread { Self.take(locks["B"], locks["A"], under: locks["G"]) }
            first.join()
            second.join()
        }
        #expect(found.map { $0?.reason } == [.gateLock])
        #expect(found.first??.gate == locks.name("G"))
    }

    @Test func aGateOnOneOrderOnlyCanDeadlock() {
        let locks = Locks("ABG", test: "verdict-gate-one")
        let found = Self.verdicts {
            Self.inTurn([
                { Self.take(locks["A"], locks["B"], under: locks["G"]) }, { Self.take(locks["B"], locks["A"]) },
            ])
        }
        #expect(found == [.canDeadlock])
    }

    /// An order seen once under the gate and once without it is no longer gated.
    @Test func anOrderTakenOnceWithoutTheGateIsNoLongerGated() {
        let locks = Locks("ABG", test: "verdict-gate-sometimes")
        let found = Self.verdicts {
            Self.inTurn([
                { Self.take(locks["A"], locks["B"], under: locks["G"]) },
                {
                    Self.take(locks["B"], locks["A"], under: locks["G"])
                    Self.take(locks["B"], locks["A"])
                },
            ])
        }
        #expect(found == [.canDeadlock])
    }

    /// A gate freed before the report is read (a test's local lock, gone when the test ends and its
    /// report is read) is still the one lock it was.
    @Test func aGateFreedBeforeTheReportIsReadIsStillAGate() {
        let locks = Locks("AB", test: "verdict-gate-freed")
        let gateClass = uniqueClassPrefix("verdict-gate-freed-class")
        let found = Self.verdicts {
            let gate = SpinLock(gateClass)
            let first = ProcessorThread { Self.take(locks["A"], locks["B"], under: gate) }
            let second = ProcessorThread { Self.take(locks["B"], locks["A"], under: gate) }
            first.join()
            second.join()
        }
        #expect(found.map { $0?.reason } == [.gateLock])
        #expect(found.first??.gate == gateClass)
    }

    /// A gate class that had two locks alive at once is no gate, after both are freed too.
    @Test func aGateClassOfTwoLocksIsNoGateAfterBothAreFreed() {
        let locks = Locks("AB", test: "verdict-gate-two-freed")
        let gateClass = uniqueClassPrefix("verdict-gate-two-freed-class")
        let found = Self.verdicts {
            let gates = [SpinLock(gateClass), SpinLock(gateClass)]
            Self.inTurn([
                {
                    Self.take(locks["A"], locks["B"], under: gates[0])
                    Self.take(locks["A"], locks["B"], under: gates[1])
                },
                { Self.take(locks["B"], locks["A"], under: gates[0]) },
            ])
        }
        #expect(found == [.canDeadlock])
    }

    /// Two locks of one class are two gates, not one: each thread could hold its own.
    @Test func twoInstancesOfTheGatesClassAreNoGate() {
        let locks = Locks("AB", test: "verdict-gate-instances")
        let gateClass = uniqueClassPrefix("verdict-gate-class")
        let gates = [SpinLock(gateClass), SpinLock(gateClass)]
        let found = Self.verdicts {
            Self.inTurn([
                { Self.take(locks["A"], locks["B"], under: gates[0]) },
                { Self.take(locks["B"], locks["A"], under: gates[1]) },
            ])
        }
        #expect(found == [.canDeadlock])
    }

    /// One thread takes A→B under each of two gates of one class, in one epoch (the second time, a chain
    /// it validated): the other thread's gate excludes only one of them.
    @Test func aGateClassOfTwoLocksIsNoGateEvenWhenOneIsSeen() {
        let locks = Locks("AB", test: "verdict-gate-two-locks")
        let gateClass = uniqueClassPrefix("verdict-gate-pair")
        let gates = [SpinLock(gateClass), SpinLock(gateClass)]
        let found = Self.verdicts {
            Self.inTurn([
                {
                    Self.take(locks["A"], locks["B"], under: gates[0])
                    Self.take(locks["A"], locks["B"], under: gates[1])
                },
                { Self.take(locks["B"], locks["A"], under: gates[0]) },
            ])
        }
        #expect(found == [.canDeadlock])
    }

    // MARK: Ordered by join

    @Test func anOrderTakenAfterJoiningTheOtherThreadCannotDeadlock() {
        let locks = Locks("AB", test: "verdict-join")
        let found = Self.verdicts {
            let first = ProcessorThread { Self.take(locks["A"], locks["B"]) }
            first.join()
            let second = ProcessorThread { Self.take(locks["B"], locks["A"]) }
            second.join()
        }
        #expect(found.map { $0?.reason } == [.orderedByJoin])
    }

    @Test func anOrderTakenBeforeJoiningTheOtherThreadCanDeadlock() {
        let locks = Locks("AB", test: "verdict-join-late")
        let found = Self.verdicts {
            let taken = Signal()
            let first = ProcessorThread {
                Self.take(locks["A"], locks["B"])
                taken.raise()
            }
            let second = ProcessorThread {
                taken.wait()
                Self.take(locks["B"], locks["A"])
            }
            // The second is joined first: when it took its order, the first was not joined yet.
            second.join()
            first.join()
        }
        #expect(found == [.canDeadlock])
    }

    // MARK: Ordered by create

    @Test func anOrderTakenBeforeStartingTheOtherThreadCannotDeadlock() {
        let locks = Locks("AB", test: "verdict-create")
        let found = Self.verdicts {
            Self.take(locks["A"], locks["B"])
            let second = ProcessorThread { Self.take(locks["B"], locks["A"]) }
            second.join()
        }
        #expect(found.map { $0?.reason } == [.orderedByCreate])
    }

    /// The creator takes its order again after the start, while the new thread may run: a chain it had
    /// validated before, taken in its new epoch.
    @Test func theSameOrderTakenAgainAfterTheStartCanDeadlock() {
        let locks = Locks("AB", test: "verdict-create-again")
        let found = Self.verdicts {
            Self.take(locks["A"], locks["B"])
            let taken = Signal()
            let second = ProcessorThread {
                taken.wait()
                Self.take(locks["B"], locks["A"])
            }
            Self.take(locks["A"], locks["B"])
            taken.raise()
            second.join()
        }
        #expect(found == [.canDeadlock])
    }

    /// A lock held across the start: the order it makes afterwards is in the creator's new epoch.
    @Test func anOrderCompletedAfterTheStartUnderALockHeldAcrossItCanDeadlock() {
        let locks = Locks("AB", test: "verdict-create-held")
        let found = Self.verdicts {
            Self.take(locks["A"], locks["B"])
            let old = locks["A"].acquire()
            let released = Signal()
            let second = ProcessorThread {
                released.wait()
                Self.take(locks["B"], locks["A"])
            }
            locks["B"].acquireAtDpcLevel()
            locks["B"].releaseFromDpcLevel()
            locks["A"].release(old)
            released.raise()
            second.join()
        }
        #expect(found == [.canDeadlock])
    }

    // MARK: Pairs of a longer cycle

    /// Three threads, A→B, B→C, C→A: the gate on two of the three orders keeps those two apart, which is
    /// enough (Goodlock's pairwise condition); on one order only, it excludes nothing.
    @Test(arguments: [2, 1]) func aGateOnSomeOrdersOfAThreeLockCycle(gated: Int) {
        let locks = Locks("ABCG", test: "verdict-3-gate-\(gated)")
        let orders: [(Character, Character)] = [("A", "B"), ("B", "C"), ("C", "A")]
        let found = Self.verdicts {
            Self.inTurn(
                orders.enumerated().map { index, order in
                    { Self.take(locks[order.0], locks[order.1], under: index < gated ? locks["G"] : nil) }
                })
        }
        if gated == 2 {
            #expect(found.map { $0?.reason } == [.gateLock])
        } else {
            #expect(found == [.canDeadlock])
        }
    }
}
