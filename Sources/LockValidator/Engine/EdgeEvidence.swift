/// What the verdicts on cycles know of one lock-order edge, from every time a thread validated a chain
/// that takes it (each thread and happens-before epoch validates a chain once: `HappensBefore`): who
/// took it, when, and which locks were held across it every time. Each new sighting can only weaken it.
///
/// Kept beside the edge records, by edge number, in 4 bytes: the first sighting's epoch (its thread is
/// the edge record's, the thread that made the edge, but for a few kept apart); the rare rest (more
/// threads or epochs, locks held across it) is an `Extra` in `State.evidenceExtras`, so that a new edge
/// costs one store.
struct EdgeEvidence {
    typealias Occurrence = HappensBefore.Occurrence

    /// The first thread and epoch that took the edge: serial 0 before any sighting, `untracked` for a
    /// thread with no clock.
    private(set) var firstSerial: UInt32 = 0
    private(set) var firstEpoch: UInt32 = 0

    static let untracked = UInt32.max

    /// The other sightings, and the locks held across every one.
    struct Extra {
        var more: [Occurrence] = []
        /// Lock classes held across every sighting (other than the edge's own tail), each with the one
        /// lock held: a class seen with two locks is no gate, as two threads could each hold one.
        var gates: [(classID: UInt32, instance: UInt64)] = []
        /// Taken by a thread with no clock, or by more threads than kept: no pair with this edge is ordered,
        /// and its threads are not all known.
        var unordered = false
        /// The threads of sightings past the kept ones, whose epochs are dropped: enough to tell that one
        /// thread alone took the edge (an XCTest process's main thread, in a new epoch for each test that
        /// starts a thread), not to order them against another thread's.
        var laterThreads: [UInt32] = []
    }

    static let maxOccurrences = 64

    /// All an edge's evidence, as the verdicts read it.
    typealias Summary = (
        occurrences: [Occurrence], laterThreads: [UInt32], unordered: Bool,
        gates: [(classID: UInt32, instance: UInt64)]
    )

    init() {}

    /// An edge's evidence after its first sighting, by `occurrence` (nil: an untracked thread).
    @inline(__always)
    init(firstSighting occurrence: Occurrence?) {
        (firstSerial, firstEpoch) = occurrence.map { ($0.serial, $0.epoch) } ?? (Self.untracked, 0)
    }

    /// A first sighting as `LockOrder.State` keeps it apart.
    init(firstSerial: UInt32, firstEpoch: UInt32) { (self.firstSerial, self.firstEpoch) = (firstSerial, firstEpoch) }

    var sighted: Bool { firstSerial != 0 }

    var first: Occurrence? {
        sighted && firstSerial != Self.untracked ? Occurrence(serial: firstSerial, epoch: firstEpoch) : nil
    }

    /// A later sighting by `occurrence` (nil: an untracked thread), into `extra`.
    func noteAgain(_ occurrence: Occurrence?, in extra: inout Extra) {
        guard let occurrence else {
            extra.unordered = true
            return
        }
        guard occurrence != first, !extra.more.contains(occurrence) else { return }
        if extra.more.count + 1 < Self.maxOccurrences {
            extra.more.append(occurrence)
        } else if !extra.laterThreads.contains(occurrence.serial) {
            if extra.laterThreads.count < Self.maxOccurrences {
                extra.laterThreads.append(occurrence.serial)
            } else {
                extra.unordered = true
            }
        }
    }
}
