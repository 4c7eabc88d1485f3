import Foundation
import LockValidator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `ValidatedMutex` and the annotation API put other locks in the same graph, and stay right when
/// threads contend for them: ownership comes from each thread's own held stack, never from a word
/// that a waiting thread could overwrite.
@Suite struct AnnotatedLockTests {
    static let threads = 4
    static let iterations = 20_000

    /// Runs `body(threadIndex)` on `threads` new processors at once; returns the violations they caused.
    func contend(threads: Int = Self.threads, _ body: @escaping @Sendable (Int) -> Void) -> [Violation] {
        violationsOnProcessors(threads, body)
    }

    // MARK: Under contention

    @Test func validatedMutexesTakenAloneFromFourThreadsAreClean() {
        let a = ValidatedMutex(uniqueClassPrefix("Contended.a"), 0)
        let b = ValidatedMutex(uniqueClassPrefix("Contended.b"), 0)
        let found = contend { _ in
            for _ in 0..<Self.iterations {
                a.withLock { $0 += 1 }
                b.withLock { $0 += 1 }
            }
        }
        #expect(found.map(\.rule) == [])
        #expect(a.withLock { $0 } == Self.threads * Self.iterations)
        #expect(b.withLock { $0 } == Self.threads * Self.iterations)
    }

    /// An `NSLock` annotated with the whole protocol, as the README shows it.
    final class AnnotatedNSLock: @unchecked Sendable {
        let lock = NSLock()
        let id: LockID
        var count = 0

        init(_ name: String) { id = LockID(name) }

        func increment() {
            LockValidator.acquire(id)
            lock.lock()
            LockValidator.acquired(id)
            count += 1
            LockValidator.release(id)
            lock.unlock()
        }

        /// The least a user may write: `acquire` just before locking, `release` just after unlocking.
        func incrementAnnotatedOutside() {
            LockValidator.acquire(id)
            lock.lock()
            count += 1
            lock.unlock()
            LockValidator.release(id)
        }
    }

    @Test func anAnnotatedNSLockContendedByFourThreadsIsClean() {
        let first = AnnotatedNSLock(uniqueClassPrefix("NSLock.first"))
        let second = AnnotatedNSLock(uniqueClassPrefix("NSLock.second"))
        let found = contend { index in
            for _ in 0..<Self.iterations {
                first.increment()
                // Half the threads annotate the least they can: it must be just as right.
                if index % 2 == 0 { second.increment() } else { second.incrementAnnotatedOutside() }
            }
        }
        #expect(found.map(\.rule) == [])
        #expect(first.count == Self.threads * Self.iterations)
        #expect(second.count == Self.threads * Self.iterations)
    }

    /// A pthread reader–writer lock: readers share it (and read it again while reading, as glibc's
    /// default lock allows), a writer now and then; every reader and writer annotated.
    @Test func aReaderWriterLockContendedByReadersAndWritersIsClean() {
        final class RWLock: @unchecked Sendable {
            var lock = pthread_rwlock_t()
            let id = LockID(uniqueClassPrefix("pthread.rwlock"))
            var value = 0
            init() { pthread_rwlock_init(&lock, nil) }

            func read() -> Int {
                LockValidator.acquire(id, kind: .shared)
                pthread_rwlock_rdlock(&lock)
                LockValidator.acquired(id)
                // A second read while reading: legal with recursive reads.
                LockValidator.acquire(id, kind: .shared)
                pthread_rwlock_rdlock(&lock)
                let seen = value
                LockValidator.release(id)
                pthread_rwlock_unlock(&lock)
                LockValidator.release(id)
                pthread_rwlock_unlock(&lock)
                return seen
            }

            func write() {
                LockValidator.acquire(id)
                pthread_rwlock_wrlock(&lock)
                LockValidator.acquired(id)
                value += 1
                LockValidator.release(id)
                pthread_rwlock_unlock(&lock)
            }
        }
        let rwlock = RWLock()
        let iterations = Self.iterations / 4
        let found = contend { _ in
            for index in 0..<iterations {
                _ = rwlock.read()
                if index % 8 == 0 { rwlock.write() }
            }
        }
        #expect(found.map(\.rule) == [])
        #expect(rwlock.value == Self.threads * ((iterations + 7) / 8))
    }

    // MARK: Lock order

    /// A pthread mutex annotated by hand.
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
            LockValidator.acquired(id)
        }
        func tryLock() -> Bool {
            guard pthread_mutex_trylock(&mutex) == 0 else { return false }
            LockValidator.acquire(id, kind: .trylock)
            LockValidator.acquired(id)
            return true
        }
        func unlock() {
            LockValidator.release(id)
            pthread_mutex_unlock(&mutex)
        }
    }

    @Test func annotatedPthreadMutexesJoinTheGraph() {
        let first = PthreadMutex(uniqueClassPrefix("pthread.first"))
        let second = PthreadMutex(uniqueClassPrefix("pthread.second"))
        let found = violationsOnFreshProcessor {
            first.lock(); second.lock(); second.unlock(); first.unlock()
            second.lock(); first.lock(); first.unlock(); second.unlock()
            LockValidator.release(first.id)  // never held now
        }
        #expect(found.map(\.rule) == [.lockOrderInversion, .releaseNotHeld])
    }

    /// "A then B; later, holding B, trylock A succeeds": a try-lock never waits, so it closes no
    /// cycle (lockdep does not report it either).
    @Test func aTrylockAgainstTheOrderIsClean() {
        let a = PthreadMutex(uniqueClassPrefix("trylock.A"))
        let b = PthreadMutex(uniqueClassPrefix("trylock.B"))
        let found = violationsOnFreshProcessor {
            a.lock(); b.lock(); b.unlock(); a.unlock()
            b.lock()
            let acquired = a.tryLock()
            precondition(acquired)
            a.unlock(); b.unlock()
        }
        #expect(found.map(\.rule) == [])
        // The same order with a waiting acquire is the inversion.
        let waited = violationsOnFreshProcessor {
            b.lock(); a.lock(); a.unlock(); b.unlock()
        }
        #expect(waited.map(\.rule) == [.lockOrderInversion])
    }

    /// Hand-over-hand (lock coupling) releases a mutex while a later one is held: legal for a mutex.
    @Test func handOverHandReleasesAreClean() {
        let nodes = (0..<4).map { _ in PthreadMutex(uniqueClassPrefix("chain.node")) }
        let found = violationsOnFreshProcessor {
            nodes[0].lock()
            for index in 1..<nodes.count {
                nodes[index].lock()
                nodes[index - 1].unlock()
            }
            nodes[nodes.count - 1].unlock()
        }
        #expect(found.map(\.rule) == [])
    }

    @Test func aReentrantLockTakenAgainByItsHolderIsANestedHold() {
        let recursive = LockID(uniqueClassPrefix("NSRecursiveLock"), reentrant: true)
        let plain = LockID(uniqueClassPrefix("NSLock"))
        let found = violationsOnFreshProcessor {
            LockValidator.acquire(recursive)
            #expect(LockValidator.acquire(recursive))
            LockValidator.release(recursive)
            LockValidator.release(recursive)
            LockValidator.acquire(plain)
            #expect(!LockValidator.acquire(plain))  // would deadlock: reported, not taken
            LockValidator.release(plain)
            LockValidator.release(plain)
        }
        #expect(found.map(\.rule) == [.recursiveAcquire])
    }

    /// Past the 48-entry held stack, annotated holds go untracked (said once); their releases are not
    /// releases of a lock not held.
    @Test func annotatedLocksPastTheHeldStackAreReleasedCleanly() {
        let ids = (0..<60).map { _ in LockID(uniqueClassPrefix("deep")) }
        let found = violationsOnFreshProcessor {
            for id in ids { LockValidator.acquire(id) }
            for id in ids.reversed() { LockValidator.release(id) }
            LockValidator.release(ids[0])  // and a real double release is still one
        }
        #expect(found.map(\.rule) == [.capacityExhausted, .releaseNotHeld])
    }

    /// A release by a thread that never took the lock, while its owner holds it.
    @Test func aReleaseByAnotherThreadThanTheOwnerIsReportedAsSuch() {
        let id = LockID(uniqueClassPrefix("owned.elsewhere"))
        let held = Signal()
        let done = Signal()
        let owner = ProcessorThread {
            LockValidator.acquire(id)
            LockValidator.acquired(id)
            held.raise()
            done.wait()
            LockValidator.release(id)
        }
        held.wait()
        let found = violationsOnFreshProcessor { LockValidator.release(id) }
        done.raise()
        owner.join()
        #expect(found.map(\.rule) == [.releaseWrongThread])
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
