import LockValidatorTesting
import SpinLocks
import TestSupport
import Testing
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// XCTest cases run by hand in child processes (their methods are not named `test…`, so XCTest does
/// not discover them in this suite).
final class FaultyXCTestCase: LockValidatedTestCase {
    func takesItsLockTwice() {
        let lock = SpinLock("FaultyXCTestCase.lock")
        lock.withLock { lock.withLock {} }
    }

    func takesItsLockOnce() {
        let lock = SpinLock("CleanXCTestCase.lock")
        lock.withLock {}
    }

    func assertsAroundAnInversion() {
        let a = SpinLock("XCTAssert.A")
        let b = SpinLock("XCTAssert.B")
        XCTAssertNoLockViolations {
            a.withLock { b.withLock {} }
            b.withLock { a.withLock {} }
        }
    }
}

@Suite struct XCTestAndProcessTests {
    @Test func theXCTestBaseClassFailsAFaultyCaseAndPassesACleanOne() async {
        await #expect(processExitsWith: .success) {
            let faulty = FaultyXCTestCase(name: "takesItsLockTwice") { ($0 as! FaultyXCTestCase).takesItsLockTwice() }
            faulty.run()
            let clean = FaultyXCTestCase(name: "takesItsLockOnce") { ($0 as! FaultyXCTestCase).takesItsLockOnce() }
            clean.run()
            let asserted = FaultyXCTestCase(name: "assertsAroundAnInversion") {
                ($0 as! FaultyXCTestCase).assertsAroundAnInversion()
            }
            asserted.run()
            precondition(faulty.testRun?.failureCount == 1, "faulty: \(faulty.testRun?.failureCount ?? -1)")
            precondition(clean.testRun?.failureCount == 0, "clean: \(clean.testRun?.failureCount ?? -1)")
            precondition(asserted.testRun?.failureCount == 1, "asserted: \(asserted.testRun?.failureCount ?? -1)")
            exit(0)
        }
    }

    @Test func exitCodeMakesAProcessWithViolationsExitWithIt() async {
        await #expect(processExitsWith: .exitCode(7)) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "7", 1)
            ProcessorThread { IRQL.lower(to: .high) }.join()
            exit(0)
        }
        await #expect(processExitsWith: .success) {
            setenv("LOCKVALIDATOR_EXIT_CODE", "7", 1)
            ProcessorThread { IRQL.lower(to: .passive) }.join()
            exit(0)
        }
    }

    @Test func violationsOutsideAnyTestFailTheRunAtTheEnd() async {
        let result = await #expect(processExitsWith: .exitCode(1), observing: [\.standardErrorContent]) {
            // A validated test ran in this process (and passed)...
            let clean = FaultyXCTestCase(name: "takesItsLockOnce") { ($0 as! FaultyXCTestCase).takesItsLockOnce() }
            clean.run()
            precondition(clean.testRun?.failureCount == 0)
            // ...and then a thread no test started broke a rule.
            var thread = pthread_t()
            pthread_create(
                &thread, nil,
                { _ in
                    IRQL.lower(to: .high); return nil
                }, nil)
            pthread_join(thread, nil)
            exit(0)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("violations outside any test scope fail the run"))
        #expect(standardError.contains("irql-lower-invalid"))
    }
}

/// `ValidatedMutex` and the annotation API put other locks in the same graph.
@Suite struct AnnotatedLockTests {
    @Test func anInversionBetweenAValidatedMutexAndASpinLockIsFound() {
        let mutex = ValidatedMutex(uniqueClassPrefix("Registry.mutex"), 0)
        let spin = SpinLock(uniqueClassPrefix("Device.spin"))
        let found = violationsOnFreshProcessor {
            mutex.withLock { value in spin.withLock { value += 1 } }  // legal: sleep lock, then spin lock
            spin.withLock { mutex.withLock { value in value += 1 } }  // blocks under a spin lock, and inverts
        }
        #expect(found.map(\.rule) == [.blockingWhileHeld, .lockOrderInversion])
        #expect(found.last?.cycle.contains(mutex.lockID.name) == true)
    }

    @Test func aMutexOutsideSpinLocksIsSilent() {
        let mutex = ValidatedMutex(uniqueClassPrefix("Cache.mutex"), [Int]())
        let spin = SpinLock(uniqueClassPrefix("Cache.spin"))
        let rules = rulesBroken {
            for index in 0..<10 { mutex.withLock { values in spin.withLock { values.append(index) } } }
        }
        #expect(rules.isEmpty)
    }

    @Test func annotatedPthreadMutexesJoinTheGraph() {
        final class PthreadMutex: @unchecked Sendable {
            var mutex = pthread_mutex_t()
            let id: LockID
            init(_ name: String) {
                pthread_mutex_init(&mutex, nil)
                id = LockID(name)
            }
            func lock() {
                LockValidator.acquire(id)
                pthread_mutex_lock(&mutex)
            }
            func unlock() {
                pthread_mutex_unlock(&mutex)
                LockValidator.release(id)
            }
        }
        let first = PthreadMutex(uniqueClassPrefix("pthread.first"))
        let second = PthreadMutex(uniqueClassPrefix("pthread.second"))
        let found = violationsOnFreshProcessor {
            first.lock(); second.lock(); second.unlock(); first.unlock()
            second.lock(); first.lock(); first.unlock(); second.unlock()
            LockValidator.release(first.id)  // never held now
        }
        #expect(found.map(\.rule) == [.lockOrderInversion, .releaseNotHeld])
    }

    @Test func aSleepingLockTakenAtDispatchLevelIsBlockingWhileHeld() {
        let id = LockID(uniqueClassPrefix("sleeping"))
        let rules = rulesBroken {
            let old = IRQL.raise(to: .dispatch)
            LockValidator.acquire(id)
            LockValidator.release(id)
            IRQL.lower(to: old)
            LockValidator.acquire(id, kind: .trylock)
            LockValidator.release(id)
        }
        #expect(rules == [.blockingWhileHeld])
    }
}
