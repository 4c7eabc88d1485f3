/// What the verdicts on cycles know of one lock-order edge, from every time a thread validated a chain
/// that takes it (each thread and happens-before epoch validates a chain once: `HappensBefore`): who
/// took it, when, and which locks were held across it every time. Each new sighting can only weaken it.
///
/// Kept beside the edge records, by edge number, in 16 bytes: the first sighting inline, and the rare
/// rest (more threads or epochs, locks held across it) in `Extra`, so that a new edge allocates nothing.
struct EdgeEvidence {
    typealias Occurrence = HappensBefore.Occurrence

    /// The first thread and epoch that took the edge (serial 0: none, or an untracked thread).
    private(set) var firstSerial: UInt32 = 0
    private(set) var firstEpoch: UInt32 = 0
    /// 1 + the index of this edge's `Extra` in `State.evidenceExtras`; 0 for none.
    var extra: UInt32 = 0
    private(set) var sighted = false
    /// Taken by a thread with no clock, or more often than kept: no pair with this edge is ordered.
    var unordered = false

    /// The other sightings, and the locks held across every one.
    struct Extra {
        var more: [Occurrence] = []
        /// Lock classes held across every sighting (other than the edge's own tail), each with the one
        /// lock held: a class seen with two locks is no gate, as two threads could each hold one.
        var gates: [(classID: UInt32, instance: UInt64)] = []
    }

    static let maxOccurrences = 64

    /// All an edge's evidence, as the verdicts read it.
    typealias Summary = (occurrences: [Occurrence], unordered: Bool, gates: [(classID: UInt32, instance: UInt64)])

    init() {}

    /// An edge's evidence after its first sighting, by `occurrence` (nil: an untracked thread).
    init(firstSighting occurrence: Occurrence?) {
        _ = noteFirst(occurrence)
    }

    var first: Occurrence? { firstSerial == 0 ? nil : Occurrence(serial: firstSerial, epoch: firstEpoch) }

    /// Notes the first sighting; returns false when it was not the first.
    mutating func noteFirst(_ occurrence: Occurrence?) -> Bool {
        guard !sighted else { return false }
        sighted = true
        if let occurrence {
            (firstSerial, firstEpoch) = (occurrence.serial, occurrence.epoch)
        } else {
            unordered = true
        }
        return true
    }

    /// A later sighting by `occurrence` (nil: an untracked thread) into `extra`: whether it is new.
    mutating func noteAgain(_ occurrence: Occurrence?, in extra: inout Extra) {
        guard let occurrence else {
            unordered = true
            return
        }
        guard occurrence != first, !extra.more.contains(occurrence) else { return }
        if extra.more.count + 1 < Self.maxOccurrences { extra.more.append(occurrence) } else { unordered = true }
    }
}
