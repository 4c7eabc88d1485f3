import Foundation
import SpinLocks
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

/// lockdep's read rules (its selftests' read-lock cases): readers do not exclude each other, a
/// recursive reader waits only for a writer, and only a cycle whose every lock can block the next is
/// reported.
@Suite struct ReadSideTests {
    final class Locks: Sendable {
        let a: LockID
        let b: LockID
        init(_ name: String, recursiveReads: Bool = true) {
            let prefix = uniqueClassPrefix(name)
            a = LockID("\(prefix).A", recursiveReads: recursiveReads)
            b = LockID("\(prefix).B")
        }
    }

    enum Step: Sendable {
        case read(LockID), write(LockID), release(LockID)
    }

    /// Runs each sequence on its own fresh processor, one after another; returns the rules broken.
    func run(_ sequences: [[Step]]) -> [Rule] {
        sequences.flatMap { steps in
            rulesBroken {
                for step in steps {
                    switch step {
                    case .read(let id): LockValidator.acquire(id, kind: .shared)
                    case .write(let id): LockValidator.acquire(id)
                    case .release(let id): LockValidator.release(id)
                    }
                }
            }
        }
    }

    @Test func aRecursiveReadUnderAReadIsClean() {
        let locks = Locks("rr")
        #expect(run([[.read(locks.a), .read(locks.a), .release(locks.a), .release(locks.a)]]) == [])
    }

    @Test func aSecondReadOfALockThatQueuesReadersIsReported() {
        let locks = Locks("nr", recursiveReads: false)
        #expect(run([[.read(locks.a), .read(locks.a), .release(locks.a), .release(locks.a)]]) == [.recursiveAcquire])
    }

    @Test func writingWhileReadingIsReported() {
        let locks = Locks("rw")
        #expect(run([[.read(locks.a), .write(locks.a), .release(locks.a), .release(locks.a)]]) == [.recursiveAcquire])
    }

    /// read(A) then B, and B then read(A): a recursive reader is not blocked by the other reader, so
    /// no deadlock — until a writer takes A then B: then the B holder's read waits for that writer.
    @Test(arguments: [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    func readersCloseACycleOnlyWithAWriter(order: [Int]) {
        let locks = Locks("rab-\(order.map(String.init).joined())")
        let (a, b) = (locks.a, locks.b)
        let sequences: [[Step]] = [
            [.read(a), .write(b), .release(b), .release(a)],
            [.write(b), .read(a), .release(a), .release(b)],
            [.write(a), .write(b), .release(b), .release(a)],
        ]
        let rules = run(order.map { sequences[$0] })
        #expect(rules == [.lockOrderInversion], "order \(order)")
        // The two readers alone are clean.
        let readersOnly = Locks("readers-only")
        let (c, d) = (readersOnly.a, readersOnly.b)
        #expect(
            run([[.read(c), .write(d), .release(d), .release(c)], [.write(d), .read(c), .release(c), .release(d)]])
                == [])
    }

    /// With readers queued behind writers, the second reader can wait for a writer that waits for the
    /// first: read(A) then B, and B then read(A) is a cycle.
    @Test func readersThatQueueBehindWritersCloseACycle() {
        let locks = Locks("nr-ab", recursiveReads: false)
        let (a, b) = (locks.a, locks.b)
        let rules = run([
            [.read(a), .write(b), .release(b), .release(a)], [.write(b), .read(a), .release(a), .release(b)],
        ])
        #expect(rules == [.lockOrderInversion])
    }
}
