import SpinLocks
import TestSupport
import Testing

/// A `ValidatedMutex` (an annotated lock of LockValidator) and spin locks in one graph: a mutex taken under
/// a spin lock blocks where it must not, and orders against it like any lock.
@Suite struct ValidatedMutexAndSpinLockTests {
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

    /// The report names the spin lock held, and where it was taken, as a blocking call's report does.
    @Test func aMutexUnderASpinLockNamesTheSpinLock() throws {
        let mutex = ValidatedMutex(uniqueClassPrefix("Named.mutex"), 0)
        let spin = SpinLock(uniqueClassPrefix("Named.spin"))
        let found = violationsOnFreshProcessor {
            spin.withLock { mutex.withLock { value in value += 1 } }
        }
        let violation = try #require(found.first)
        #expect(found.map(\.rule) == [.blockingWhileHeld])
        #expect(violation.summary.contains("with the spin lock \"\(spin.name)\" #\(spin.instance) held (acquired at"))
        #expect(violation.locks.map(\.name) == [mutex.lockID.name, spin.name])
    }

    @Test func aMutexOutsideSpinLocksIsSilent() {
        let mutex = ValidatedMutex(uniqueClassPrefix("Cache.mutex"), [Int]())
        let spin = SpinLock(uniqueClassPrefix("Cache.spin"))
        let rules = rulesBroken {
            for index in 0..<10 { mutex.withLock { values in spin.withLock { values.append(index) } } }
        }
        #expect(rules.isEmpty)
    }
}
