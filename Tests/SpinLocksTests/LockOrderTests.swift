import SpinLocks
import TestSupport
import Testing

/// lockdep's selftest matrix for spin locks, through real locks and the process-wide graph.
@Suite struct LockOrderTests {
    /// A named set of locks, one class each, unique to the test run.
    final class Locks: Sendable {
        let prefix: String
        let locks: [Character: SpinLock]

        init(_ names: String, test: String) {
            prefix = uniqueClassPrefix(test)
            var locks: [Character: SpinLock] = [:]
            for name in Set(names) { locks[name] = SpinLock("\(prefix).\(name)") }
            self.locks = locks
        }

        subscript(_ name: Character) -> SpinLock { locks[name]! }

        func name(_ lock: Character) -> String { "\(prefix).\(lock)" }
    }

    /// Takes `first` then `second` and releases both, on a new processor; returns what it broke.
    static func lockUnlock2(_ first: SpinLock, _ second: SpinLock) -> [Violation] {
        violationsOnFreshProcessor {
            let old = first.acquire()
            second.acquireAtDpcLevel()
            second.releaseFromDpcLevel()
            first.release(old)
        }
    }

    /// The edge that closed a cycle is kept in the graph: a later, different cycle through it is still
    /// a new deadlock, reported at the edge that closes it.
    @Test func aLaterCycleThroughAnEdgeThatClosedOneIsReportedToo() {
        let locks = Locks("ABC", test: "later-cycle")
        #expect(Self.lockUnlock2(locks["A"], locks["B"]).isEmpty)
        #expect(Self.lockUnlock2(locks["B"], locks["A"]).map(\.rule) == [.lockOrderInversion])
        #expect(Self.lockUnlock2(locks["A"], locks["C"]).isEmpty)
        let later = Self.lockUnlock2(locks["C"], locks["B"])
        #expect(later.map(\.rule) == [.lockOrderInversion])
        #expect(later.first?.cycle == ["B", "A", "C"].map { locks.name($0) })
        // Taken again, the closing edges are known orders: nothing new.
        #expect(Self.lockUnlock2(locks["B"], locks["A"]).isEmpty)
        #expect(LockValidator.graphInvariantViolations().isEmpty)
    }

    /// An inversion's held list is what the thread holds: the lock it is trying to acquire (its entry
    /// pushed before the wait, as lockdep checks before it takes the lock) is named apart, not as held; and
    /// the headline names the cycle without saying whether it deadlocks (the verdict says).
    @Test func anInversionListsOnlyTheLocksHeldAndLeavesDeadlockToTheVerdict() throws {
        let locks = Locks("AB", test: "held-list")
        #expect(Self.lockUnlock2(locks["A"], locks["B"]).isEmpty)
        let inversion = try #require(Self.lockUnlock2(locks["B"], locks["A"]).first)
        #expect(inversion.heldLocks.map(\.lock.name) == [locks.name("B")])
        #expect(inversion.locks.first?.name == locks.name("A"))
        #expect(inversion.summary.hasSuffix("was taken before: a cycle of 2 locks"))
        // One processor took both orders: the verdict says it cannot deadlock, and nothing contradicts it.
        #expect(inversion.verdict?.canDeadlock == false)
        let text = inversion.rendered(.text)
        #expect(text.contains("1 lock held by") && !text.contains("deadlocks when its threads meet"))
    }

    /// "locks involved" names the instances this thread is trying to take and holds, not the instances
    /// that took the old order first: a second account pair inverting the first pair's order is #3 and #4
    /// in the report, never the first pair's #1 for the held one.
    @Test func anInversionNamesTheInstancesThisThreadHolds() throws {
        let prefix = uniqueClassPrefix("involved-instances")
        let (checking, savings) = (SpinLock("\(prefix).checking"), SpinLock("\(prefix).savings"))
        #expect(Self.lockUnlock2(checking, savings).isEmpty)
        let (otherChecking, otherSavings) = (SpinLock("\(prefix).checking"), SpinLock("\(prefix).savings"))
        let inversion = try #require(Self.lockUnlock2(otherSavings, otherChecking).first)
        #expect(inversion.rule == .lockOrderInversion)
        #expect(inversion.locks.map(\.instance) == [otherChecking.instance, otherSavings.instance])
    }

    /// The deadlock patterns of lockdep's selftest, written as the pairs they lock in order: "ABBA" is
    /// A then B, then B then A. Each must fail exactly at its last, closing pair.
    @Test(arguments: ["ABBA", "ABBCCA", "ABCABC", "ABBCCDDA", "ABCDBDDA", "ABCDBCDA"])
    func eachCycleIsFoundExactlyAtItsClosingEdge(pattern: String) {
        let locks = Locks(pattern, test: pattern)
        let pairs = stride(from: 0, to: pattern.count, by: 2).map {
            (
                pattern[pattern.index(pattern.startIndex, offsetBy: $0)],
                pattern[pattern.index(pattern.startIndex, offsetBy: $0 + 1)]
            )
        }
        for (index, (first, second)) in pairs.enumerated() {
            let found = Self.lockUnlock2(locks[first], locks[second])
            if index < pairs.count - 1 {
                #expect(found.isEmpty, "\(pattern): pair \(first)\(second) reported \(found)")
                continue
            }
            #expect(found.map(\.rule) == [.lockOrderInversion], "\(pattern)")
            guard let inversion = found.first else { return }
            // The closing edge comes first, then the chain back to its tail: a closed cycle.
            let edges = inversion.edges
            #expect(edges.first?.from.name == locks.name(first))
            #expect(edges.first?.to.name == locks.name(second))
            for (edge, next) in zip(edges, edges.dropFirst() + [edges[0]]) { #expect(edge.to.name == next.from.name) }
            #expect(inversion.locks.first?.name == locks.name(second))
            #expect(edges.allSatisfy { !$0.stack.addresses.isEmpty })
        }
    }

    @Test(arguments: [1, 3])
    func theSameCycleSpreadOverThreadsIsFound(threads: Int) {
        let locks = Locks("ABC", test: "spread\(threads)")
        let found = LockValidator.violations(during: {
            let orders: [(Character, Character)] = [("A", "B"), ("B", "C"), ("C", "A")]
            // One thread after another: run at once, these three orders can deadlock for real, which is
            // what the validator exists to predict without it happening.
            for index in 0..<threads {
                let worker = ProcessorThread(name: "order-\(index)") {
                    for (step, (first, second)) in orders.enumerated() where step % threads == index {
                        let old = locks[first].acquire()
                        locks[second].withLock {}
                        locks[first].release(old)
                    }
                }
                worker.join()
            }
        })
        #expect(found.map(\.rule) == [.lockOrderInversion])
        #expect(found.first?.edges.count == 3)
    }

    @Test func consistentOrdersOverManyInstancesAndADiamondStaySilent() {
        let prefix = uniqueClassPrefix("diamond")
        let a = (0..<3).map { _ in SpinLock("\(prefix).A") }
        let b = (0..<3).map { _ in SpinLock("\(prefix).B") }
        let c = SpinLock("\(prefix).C")
        let d = SpinLock("\(prefix).D")
        let found = LockValidator.violations(during: {
            let workers = (0..<2).map { index in
                ProcessorThread {
                    for step in 0..<200 {
                        a[(step + index) % 3].withLock {
                            if step % 2 == 0 {
                                b[step % 3].withLock { d.withLock {} }
                            } else {
                                c.withLock { d.withLock {} }
                            }
                        }
                        c.withLock { d.withLock {} }
                    }
                }
            }
            workers.forEach { $0.join() }
        })
        #expect(found.isEmpty)
    }

    /// An edge's record keeps no instances when both are their classes' first to make an edge, and its
    /// own when not: each edge of a cycle names the instances that first took it.
    @Test func eachEdgeNamesTheInstancesThatFirstTookIt() throws {
        let prefix = uniqueClassPrefix("instances")
        let (a1, a2) = (SpinLock("\(prefix).A"), SpinLock("\(prefix).A"))
        let (b, c) = (SpinLock("\(prefix).B"), SpinLock("\(prefix).C"))
        #expect(Self.lockUnlock2(a1, b).isEmpty)  // A's and B's first instances
        #expect(Self.lockUnlock2(a2, c).isEmpty)  // A's second instance
        func instances(_ violation: Violation) -> [[UInt64]] {
            violation.edges.map { [$0.from.instance, $0.to.instance] }
        }
        let throughC = try #require(Self.lockUnlock2(c, a1).first)
        #expect(instances(throughC) == [[c.instance, a1.instance], [a2.instance, c.instance]])
        let throughB = try #require(Self.lockUnlock2(b, a2).first)
        #expect(instances(throughB) == [[b.instance, a2.instance], [a1.instance, b.instance]])
        #expect(LockValidator.graphInvariantViolations().isEmpty)
    }

    // MARK: AA

    @Test func aaOnOneInstanceIsRecursion() {
        let locks = Locks("A", test: "AA")
        #expect(Self.lockUnlock2(locks["A"], locks["A"]).map(\.rule) == [.recursiveAcquire])
    }

    @Test func aaOnTwoInstancesOfOneClassIsSameClassNesting() {
        let name = uniqueClassPrefix("AA2")
        let parent = SpinLock(name)
        let child = SpinLock(name)
        let found = Self.lockUnlock2(parent, child)
        #expect(found.map(\.rule) == [.sameClassNesting])
        #expect(found.first?.locks.map(\.name) == [name, name])
    }

    @Test func aDeclaredNestingLevelMakesSameClassNestingLegal() {
        let name = uniqueClassPrefix("nested")
        let parent = SpinLock(name)
        let child = SpinLock(name)
        let other = SpinLock(uniqueClassPrefix("other"))
        let rules = rulesBroken {
            parent.withLock { child.withLock(nesting: 1) { other.withLock {} } }
            var handle = LockQueueHandle()
            parent.acquireInStackQueued(&handle)
            child.acquireInStackQueuedAtDpcLevel(&LockQueueHandleBox.shared.handle, nesting: 1)
            child.releaseInStackQueuedFromDpcLevel(&LockQueueHandleBox.shared.handle)
            parent.releaseInStackQueued(&handle)
        }
        // The queued acquires mix kinds with the ordinary ones on the same locks; nothing else.
        #expect(rules == [.mixedAcquireKinds, .mixedAcquireKinds])
        #expect(LockValidator.lockOrderEdges.contains { $0.from.name == name && $0.to.name == "\(name)/1" })
    }

    @Test func nestingLevelsAreSeparateNodesOfTheGraph() {
        let name = uniqueClassPrefix("levels")
        let parent = SpinLock(name)
        let child = SpinLock(name)
        // child/1 then parent/0 is the reverse of parent/0 then child/1: a real inversion.
        #expect(
            rulesBroken {
                parent.withLock { child.withLock(nesting: 1) {} }
                child.withLock(nesting: 1) { parent.withLock {} }
            } == [.lockOrderInversion])
    }

    // MARK: Trylock

    @Test func aTryAcquireAddsNoEdgeIntoItself() {
        let locks = Locks("AB", test: "try")
        let rules = rulesBroken {
            let old = locks["B"].acquire()
            #expect(locks["A"].tryAcquireAtDpcLevel())  // B held while A is tried: no B→A edge
            locks["A"].releaseFromDpcLevel()
            locks["B"].release(old)
            locks["A"].withLock { locks["B"].withLock {} }  // A→B: no cycle
        }
        #expect(rules.isEmpty)
        #expect(!LockValidator.lockOrderEdges.contains { $0.from.name == locks.name("B") })
    }

    @Test func aTryAcquiredLockHeldWhileAnotherIsTakenAddsThatEdge() {
        let locks = Locks("AB", test: "try-held")
        let rules = rulesBroken {
            let old = IRQL.raise(to: .dispatch)
            #expect(locks["A"].tryAcquireAtDpcLevel())
            locks["B"].acquireAtDpcLevel()  // A (tried) → B
            locks["B"].releaseFromDpcLevel()
            locks["A"].releaseFromDpcLevel()
            locks["B"].acquireAtDpcLevel()
            locks["A"].acquireAtDpcLevel()  // B → A closes the cycle
            locks["A"].releaseFromDpcLevel()
            locks["B"].releaseFromDpcLevel()
            IRQL.lower(to: old)
        }
        #expect(rules == [.lockOrderInversion])
    }

    // MARK: The rest of lockdep's list

    @Test func doubleUnlockBadUnlockOrderAndInitOfAHeldLock() {
        let locks = Locks("AB", test: "misc")
        #expect(
            rulesBroken {
                let old = locks["A"].acquire()
                locks["A"].release(old)
                locks["A"].release(old)
            } == [.releaseNotHeld])
        #expect(
            rulesBroken {
                let old = locks["A"].acquire()
                locks["B"].acquireAtDpcLevel()
                locks["A"].releaseFromDpcLevel()
                locks["B"].releaseFromDpcLevel()
                IRQL.lower(to: old)
            } == [.releaseOutOfOrder])
        // Swift cannot re-run an initializer on a live object; the nearest case is a held lock that
        // is deinitialised (and replaced) while held.
        #expect(
            rulesBroken {
                var lock = SpinLock(uniqueClassPrefix("reinit"))
                let old = lock.acquire()
                lock = SpinLock(uniqueClassPrefix("reinit"))
                IRQL.lower(to: old)
                _ = lock
            } == [.lockFreedWhileHeld])
    }

    /// Instances are numbered, never identified by address: a lock freed while held and a new lock
    /// that may reuse its memory are different instances, and nothing is confused between them.
    @Test func aFreedLocksAddressReusedByANewLockIsANewInstance() {
        let name = uniqueClassPrefix("reuse")
        let found = violationsOnFreshProcessor {
            var instances: Set<UInt64> = []
            var addresses: Set<ObjectIdentifier> = []
            for _ in 0..<200 {
                let lock = SpinLock(name)
                addresses.insert(ObjectIdentifier(lock))
                let old = lock.acquire()
                instances.insert(lock.instance)
                lock.release(old)
            }
            #expect(instances.count == 200)
            #expect(addresses.count < 200, "the allocator reused no address; the test proves less")
            // Freed while held, then a new lock of the class: neither recursion nor nesting.
            var held: SpinLock? = SpinLock(name)
            _ = held!.acquire()
            held = nil
            let fresh = SpinLock(name)
            fresh.acquireAtDpcLevel()
            fresh.releaseFromDpcLevel()
            IRQL.lower(to: .passive)
        }
        #expect(found.map(\.rule) == [.lockFreedWhileHeld])
    }

    /// After a reported out-of-order release the chain key is recomputed: the locks still held keep
    /// teaching the graph correctly.
    @Test func chainKeysStayRightAfterAnOutOfOrderRelease() {
        let locks = Locks("ABCD", test: "rekey")
        let found = violationsOnFreshProcessor {
            let old = locks["A"].acquire()
            locks["B"].acquireAtDpcLevel()
            locks["C"].acquireAtDpcLevel()
            locks["B"].releaseFromDpcLevel()  // out of order: A, C remain
            locks["D"].acquireAtDpcLevel()  // edges A→D and C→D, not B→D
            locks["D"].releaseFromDpcLevel()
            locks["C"].releaseFromDpcLevel()
            locks["A"].release(old)
        }
        #expect(found.map(\.rule) == [.releaseOutOfOrder])
        let intoD = Set(LockValidator.lockOrderEdges.filter { $0.to.name == locks.name("D") }.map(\.from.name))
        #expect(intoD == [locks.name("A"), locks.name("C")])
    }
}

/// A handle stored outside the closure, since an `inout` to a captured `var` is not allowed across
/// a `@Sendable` closure boundary.
final class LockQueueHandleBox: @unchecked Sendable {
    static let shared = LockQueueHandleBox()
    var handle = LockQueueHandle()
}
