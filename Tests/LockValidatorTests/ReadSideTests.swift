import LockValidator
import TestSupport
import Testing

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
