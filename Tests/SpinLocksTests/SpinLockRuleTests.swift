import SpinLocks
import Synchronization
import TestSupport
import Testing

/// One true-positive and one true-negative test per rule the locks check by themselves.
@Suite struct SpinLockRuleTests {
    // MARK: recursive-acquire

    @Test func recursiveAcquireIsReportedInsteadOfSpinning() {
        let lock = SpinLock("RecursiveRoutineLock")
        let depthReached = Guarded(0)
        @Sendable func routine(_ depth: Int) {
            let old = lock.acquire()
            depthReached.value = depth
            if depth < 3 { routine(depth + 1) }
            lock.release(old)
        }
        let found = violationsOnFreshProcessor {
            routine(1)
            #expect(IRQL.current == .passive)
            #expect(!lock.isLocked)
        }
        #expect(depthReached.value == 3)
        #expect(found.map(\.rule) == [.recursiveAcquire])
        #expect(found.first?.occurrences == 2)
        #expect(found.first?.locks.first?.name == "RecursiveRoutineLock")
    }

    @Test func recursiveQueuedAndScopedAcquiresAreReportedAndFinish() {
        let lock = SpinLock("RecursiveQueuedLock")
        let scoped = SpinLock("RecursiveScopedLock")
        let found = violationsOnFreshProcessor {
            lock.withQueuedLock { lock.withQueuedLock {} }
            scoped.withLock { scoped.withLock {} }
            var outer = LockQueueHandle()
            var inner = LockQueueHandle()
            lock.acquireInStackQueued(&outer)
            lock.acquireInStackQueued(&inner)
            lock.releaseInStackQueued(&inner)
            #expect(lock.isLocked)
            lock.releaseInStackQueued(&outer)
            #expect(!lock.isLocked)
            #expect(IRQL.current == .passive)
        }
        #expect(found.map(\.rule) == [.recursiveAcquire, .recursiveAcquire, .recursiveAcquire])
    }

    @Test func acquiringTwoDifferentLocksIsNotRecursion() {
        let a = SpinLock("NotRecursiveA")
        let b = SpinLock("NotRecursiveB")
        #expect(rulesBroken { a.withLock { b.withLock {} } }.isEmpty)
    }

    @Test func tryAcquireOfAHeldLockFailsWithoutAReport() {
        let lock = SpinLock("TryHeldLock")
        let rules = rulesBroken {
            let old = lock.acquire()
            let triedWhileHeld = lock.tryAcquireAtDpcLevel()
            lock.release(old)
            #expect(!triedWhileHeld)  // outside the hold: an expectation takes longer than the budget
            let raised = IRQL.raise(to: .dispatch)
            #expect(lock.tryAcquireAtDpcLevel())
            lock.releaseFromDpcLevel()
            IRQL.lower(to: raised)
        }
        #expect(rules.isEmpty)
    }

    // MARK: irql-too-high

    @Test func acquireAboveDispatchLevelIsReported() {
        let lock = SpinLock("AcquiredAtDIRQL")
        let found = violationsOnFreshProcessor {
            let old = IRQL.raise(to: .device(5))
            let lockOld = lock.acquire()
            #expect(lockOld == .device(5))
            #expect(IRQL.current == .device(5))
            lock.release(lockOld)
            let queued = SpinLock("QueuedAtDIRQL")
            var handle = LockQueueHandle()
            queued.acquireInStackQueued(&handle)
            #expect(IRQL.current == .device(5))
            queued.releaseInStackQueued(&handle)
            IRQL.lower(to: old)
        }
        #expect(found.map(\.rule) == [.irqlTooHigh, .irqlTooHigh])
    }

    @Test func synchronizeExecutionAboveTheSynchronizeIRQLIsReported() {
        let interrupt = InterruptObject("TooHighInterrupt", irql: .device(4)) { _ in true }
        let rules = rulesBroken {
            let old = IRQL.raise(to: .device(9))
            interrupt.synchronizeExecution {}
            #expect(IRQL.current == .device(9))
            IRQL.lower(to: old)
        }
        #expect(rules == [.irqlTooHigh])
    }

    @Test func acquireAtOrBelowDispatchLevelIsSilent() {
        let lock = SpinLock("AcquiredAtDispatch")
        let interrupt = InterruptObject("InRangeInterrupt", irql: .device(4), synchronizeIRQL: .device(6)) { _ in true }
        let rules = rulesBroken {
            lock.withLock {}
            let old = IRQL.raise(to: .dispatch)
            lock.withLock {}
            interrupt.synchronizeExecution { #expect(IRQL.current == .device(6)) }
            IRQL.lower(to: old)
        }
        #expect(rules.isEmpty)
    }

    // MARK: irql-too-low

    @Test func dpcLevelRoutinesBelowDispatchLevelAreReported() {
        let lock = SpinLock("DpcLevelAtPassive")
        let found = violationsOnFreshProcessor {
            lock.acquireAtDpcLevel()
            lock.releaseFromDpcLevel()
            var handle = LockQueueHandle()
            let other = SpinLock("DpcLevelQueuedAtPassive")
            other.acquireInStackQueuedAtDpcLevel(&handle)
            other.releaseInStackQueuedFromDpcLevel(&handle)
            #expect(IRQL.current == .passive)
        }
        #expect(found.map(\.rule) == [.irqlTooLow, .irqlTooLow, .irqlTooLow, .irqlTooLow])
    }

    @Test func dpcLevelRoutinesAtDispatchLevelAreSilent() {
        let lock = SpinLock("DpcLevelAtDispatch")
        let queued = SpinLock("DpcLevelQueuedAtDispatch")
        let rules = rulesBroken {
            let old = IRQL.raise(to: .dispatch)
            lock.acquireAtDpcLevel()
            lock.releaseFromDpcLevel()
            var handle = LockQueueHandle()
            queued.acquireInStackQueuedAtDpcLevel(&handle)
            queued.releaseInStackQueuedFromDpcLevel(&handle)
            IRQL.lower(to: old)
        }
        #expect(rules.isEmpty)
    }

    // MARK: release-wrong-irql

    @Test func releaseAtAnotherIRQLIsReported() {
        let lock = SpinLock("ReleasedAtDIRQL")
        let found = violationsOnFreshProcessor {
            let old = lock.acquire()
            _ = IRQL.raise(to: .device(3))
            lock.release(old)
            #expect(IRQL.current == .passive)
            #expect(!lock.isLocked)
        }
        #expect(found.map(\.rule) == [.releaseWrongIRQL])
    }

    @Test func releaseAtTheIRQLTheLockRunsAtIsSilent() {
        // The first raise to a device level runs cold code inside the hold: once, on a loaded host, a
        // hold-time report. The budget is not what this test is about.
        let lock = SpinLock("ReleasedAtDispatch", holdBudget: .seconds(1))
        let rules = rulesBroken {
            let old = lock.acquire()
            let raised = IRQL.raise(to: .device(3))
            IRQL.lower(to: raised)
            lock.release(old)
        }
        #expect(rules.isEmpty)
    }

    // MARK: release-not-held

    @Test func doubleReleaseIsReportedAndDoesNotUnlockAnotherOwner() {
        // The owner holds it until the other thread has released it wrongly: a long hold, on purpose.
        let lock = SpinLock("DoubleReleased", holdBudget: .seconds(1))
        let ownerHolds = Signal()
        let doubleReleased = Signal()
        let found = violationsOnFreshProcessor {
            let old = lock.acquire()
            lock.release(old)
            lock.release(old)
            #expect(IRQL.current == .passive)
            // Now another thread holds it: a third release must not free it under that thread.
            let owner = ProcessorThread {
                let ownerOld = lock.acquire()
                ownerHolds.raise()
                doubleReleased.wait()
                #expect(lock.isLocked)
                lock.release(ownerOld)
            }
            ownerHolds.wait()
            lock.release(old)
            #expect(lock.isLocked)
            doubleReleased.raise()
            owner.join()
        }
        #expect(found.map(\.rule) == [.releaseNotHeld, .releaseWrongThread])
        #expect(found.first?.locks.first?.name == "DoubleReleased")
    }

    @Test func releaseOfANeverAcquiredLockIsReported() {
        let lock = SpinLock("NeverAcquired")
        let rules = rulesBroken {
            let old = IRQL.raise(to: .dispatch)
            lock.releaseFromDpcLevel()
            IRQL.lower(to: old)
        }
        #expect(rules == [.releaseNotHeld])
    }

    @Test func balancedAcquireAndReleaseIsSilent() {
        let lock = SpinLock("Balanced")
        #expect(rulesBroken { for _ in 0..<100 { lock.withLock {} } }.isEmpty)
    }

    // MARK: release-wrong-thread

    @Test func releaseByANonOwnerIsReportedAndIgnored() throws {
        // The owner holds it until the other thread has tried: a long hold, on purpose.
        let lock = SpinLock("ReleasedByAnother", holdBudget: .seconds(1))
        let held = Signal()
        let tried = Signal()
        let found = violationsOnFreshProcessor {
            let owner = ProcessorThread(name: "owner") {
                let old = lock.acquire()
                held.raise()
                tried.wait()
                lock.release(old)
            }
            held.wait()
            let old = IRQL.current
            lock.release(old)
            #expect(lock.isLocked)
            #expect(IRQL.current == .passive)
            tried.raise()
            owner.join()
            #expect(!lock.isLocked)
        }
        #expect(found.map(\.rule) == [.releaseWrongThread])
        // The holder named as reports name threads, not by its number alone.
        let summary = found.first?.summary ?? ""
        #expect(summary.contains(try Regex(#"which thread \d+ "owner" \(tid \d+\) holds"#)), "\(summary)")
    }

    @Test func handingALockOverBetweenThreadsByAcquireAndReleaseIsSilent() {
        let lock = SpinLock("HandedOver")
        let first = Signal()
        let rules = rulesBroken {
            let a = ProcessorThread {
                lock.withLock {}
                first.raise()
            }
            first.wait()
            lock.withLock {}
            a.join()
        }
        #expect(rules.isEmpty)
    }

    // MARK: release-out-of-order

    @Test func releasingTheOlderLockFirstIsReported() {
        let a = SpinLock("OutOfOrderA")
        let b = SpinLock("OutOfOrderB")
        let found = violationsOnFreshProcessor {
            let oldA = a.acquire()
            b.acquireAtDpcLevel()
            a.release(oldA)
            // B still runs at DISPATCH_LEVEL: the release of A must not drop the IRQL under it.
            #expect(IRQL.current == .dispatch)
            b.releaseFromDpcLevel()
            IRQL.lower(to: oldA)
            #expect(!a.isLocked && !b.isLocked)
        }
        #expect(found.map(\.rule) == [.releaseOutOfOrder])
        #expect(found.first?.locks.first?.name == "OutOfOrderA")
    }

    @Test func releasingInReverseOrderIsSilent() {
        let a = SpinLock("InOrderA")
        let b = SpinLock("InOrderB")
        let rules = rulesBroken {
            let oldA = a.acquire()
            b.acquireAtDpcLevel()
            b.releaseFromDpcLevel()
            a.release(oldA)
        }
        #expect(rules.isEmpty)
    }

    // MARK: mixed-acquire-kinds

    @Test func queuedAndOrdinaryRoutinesOnOneLockAreReported() {
        let lock = SpinLock("MixedKinds")
        let found = violationsOnFreshProcessor {
            lock.withLock {}
            lock.withQueuedLock {}
            lock.withLock {}
        }
        #expect(found.map(\.rule) == [.mixedAcquireKinds])
    }

    @Test func releasingAQueuedAcquireWithTheOrdinaryRoutineIsReportedAndReleasesAsAcquired() {
        let lock = SpinLock("MixedRelease")
        let found = violationsOnFreshProcessor {
            var handle = LockQueueHandle()
            lock.acquireInStackQueued(&handle)
            lock.release(handle.oldIRQL)
            #expect(!lock.isLocked)
            #expect(IRQL.current == .passive)
            // The queue still works.
            lock.withQueuedLock {}
            #expect(!lock.isLocked)
        }
        #expect(found.map(\.rule) == [.mixedAcquireKinds])
    }

    @Test func oneKindPerLockIsSilent() {
        let ordinary = SpinLock("OnlyOrdinary")
        let queued = SpinLock("OnlyQueued")
        let rules = rulesBroken {
            ordinary.withLock { queued.withQueuedLock {} }
            let old = IRQL.raise(to: .dispatch)
            #expect(ordinary.tryAcquireAtDpcLevel())
            ordinary.releaseFromDpcLevel()
            IRQL.lower(to: old)
        }
        #expect(rules.isEmpty)
    }

    // MARK: error-while-held

    @Test func anErrorThrownOutOfACriticalSectionIsReportedAndTheLockReleased() {
        // A first throw runs the Swift runtime's cold paths inside the hold (on a loaded machine, past
        // 25 µs once in a while): hold time is not this test's subject.
        let lock = SpinLock("ThrowingSection", holdBudget: .seconds(1))
        let interrupt = InterruptObject("ThrowingInterrupt", irql: .device(5), holdBudget: .seconds(1)) { _ in true }
        let found = violationsOnFreshProcessor {
            #expect(throws: DeviceError.self) { try lock.withLock { throw DeviceError() } }
            #expect(throws: DeviceError.self) { try lock.withLock { throw DeviceError() } }
            let queued = SpinLock("ThrowingQueuedSection", holdBudget: .seconds(1))
            #expect(throws: DeviceError.self) { try queued.withQueuedLock { throw DeviceError() } }
            #expect(throws: DeviceError.self) { try interrupt.synchronizeExecution { throw DeviceError() } }
            #expect(!lock.isLocked && !queued.isLocked && !interrupt.spinLock.isLocked)
            #expect(IRQL.current == .passive)
        }
        #expect(found.map(\.rule) == [.errorWhileHeld, .errorWhileHeld, .errorWhileHeld, .errorWhileHeld])
        #expect(found.first?.summary.contains("device not ready") == true)
    }

    @Test func anErrorThrownAfterTheCriticalSectionIsSilent() {
        let lock = SpinLock("ThrowAfterSection")
        let rules = rulesBroken {
            #expect(throws: DeviceError.self) {
                let ready = lock.withLock { false }
                if !ready { throw DeviceError() }
            }
        }
        #expect(rules.isEmpty)
    }

    // MARK: lock-freed-while-held

    @Test func freeingAHeldLockIsReported() {
        let found = violationsOnFreshProcessor {
            var lock: SpinLock? = SpinLock("FreedWhileHeld")
            _ = lock!.acquire()
            lock = nil
            IRQL.lower(to: .passive)
            // The freed lock no longer counts as held here.
            mightSleep()
        }
        #expect(found.map(\.rule) == [.lockFreedWhileHeld])
        #expect(found.first?.locks.first?.name == "FreedWhileHeld")
    }

    @Test func freeingAReleasedLockIsSilent() {
        let rules = rulesBroken {
            var lock: SpinLock? = SpinLock("FreedAfterRelease")
            lock!.withLock {}
            lock = nil
        }
        #expect(rules.isEmpty)
    }

    // MARK: blocking-while-held

    @Test func mightSleepWithASpinLockHeldIsReported() {
        let lock = SpinLock("HeldWhileSleeping")
        let found = violationsOnFreshProcessor { lock.withLock { mightSleep() } }
        #expect(found.map(\.rule) == [.blockingWhileHeld])
        #expect(found.first?.heldLocks.map(\.lock.name) == ["HeldWhileSleeping"])
    }

    // The thread's count of held spin locks (what the interposer's blocking calls read) follows every way a
    // hold ends: a release out of order, a queued release, a try-acquire's.

    @Test func mightSleepAfterAnOutOfOrderReleaseNamesTheSpinLockStillHeld() {
        let a = SpinLock("SleepAfterOutOfOrder.a")
        let b = SpinLock("SleepAfterOutOfOrder.b")
        let found = violationsOnFreshProcessor {
            let oldA = a.acquire()
            b.acquireAtDpcLevel()
            a.release(oldA)
            mightSleep()  // B is still held
            b.releaseFromDpcLevel()
            IRQL.lower(to: oldA)
            mightSleep()  // nothing is
        }
        #expect(found.map(\.rule) == [.releaseOutOfOrder, .blockingWhileHeld])
        #expect(found.last?.locks.map(\.name) == ["SleepAfterOutOfOrder.b"])
    }

    @Test func mightSleepAfterQueuedAndTryHoldsEndIsSilent() {
        let queued = SpinLock("SleepAfterQueued")
        let tried = SpinLock("SleepAfterTry")
        let rules = rulesBroken {
            queued.withQueuedLock {
                if tried.tryAcquireAtDpcLevel() {
                    mightSleep()
                    tried.releaseFromDpcLevel()
                }
            }
            mightSleep()
        }
        #expect(rules == [.blockingWhileHeld])
    }

    @Test func aSleepingLockHeldAloneLetsTheThreadBlock() {
        let mutex = ValidatedMutex(uniqueClassPrefix("SleepUnderMutex"), 0)
        let rules = rulesBroken { mutex.withLock { _ in mightSleep() } }
        #expect(rules.isEmpty)
    }

    @Test func mightSleepAfterTheLockIsReleasedIsSilent() {
        let lock = SpinLock("ReleasedBeforeSleeping")
        let rules = rulesBroken {
            lock.withLock {}
            mightSleep()
        }
        #expect(rules.isEmpty)
    }
}
