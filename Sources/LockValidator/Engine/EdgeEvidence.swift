/// What the verdicts on cycles know of one lock-order edge, from every time a thread validated a chain
/// that takes it (each thread and happens-before epoch validates a chain once: `HappensBefore`): who
/// took it, when, and which locks were held across it every time. Each new sighting can only weaken it.
struct EdgeEvidence {
    typealias Occurrence = HappensBefore.Occurrence

    /// The distinct threads and epochs that took the edge (at most `maxOccurrences`).
    private(set) var occurrences: [Occurrence] = []
    /// Taken by a thread with no clock, or more often than kept: no pair with this edge is ordered.
    private(set) var unordered = false
    /// Lock classes held across every sighting (other than the edge's own tail), each with the one lock
    /// instance held: a class seen with two instances is no gate, as two threads could each hold one.
    private(set) var gates: [UInt32: UInt64] = [:]
    private var sighted = false

    static let maxOccurrences = 64

    /// One sighting: by `occurrence` (nil: an untracked thread), with `held` (class, instance) across it.
    mutating func note(_ occurrence: Occurrence?, held: [(classID: UInt32, instance: UInt64)]) {
        if let occurrence {
            if !occurrences.contains(occurrence) {
                if occurrences.count < Self.maxOccurrences { occurrences.append(occurrence) } else { unordered = true }
            }
        } else {
            unordered = true
        }
        if !sighted {
            sighted = true
            for (classID, instance) in held where gates[classID] == nil { gates[classID] = instance }
            return
        }
        guard !gates.isEmpty else { return }
        gates = gates.filter { gate in held.contains { $0.classID == gate.key && $0.instance == gate.value } }
    }
}
