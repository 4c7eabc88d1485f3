/// Whether a `lock-order-inversion`'s cycle can deadlock in this run (SPEC §8f). Every inversion is
/// reported whatever its verdict, as lockdep does: another caller or schedule can close the cycle. The
/// verdict says whether this program's own threads can: a cycle cannot deadlock when some pair of its
/// edges can never be in progress at once (Goodlock's condition), because one thread took both, a lock
/// was held across both (a gate), or the threads that took them were ordered by thread start or join.
/// Each edge keeps its weakest evidence: one sighting without the gate, or by another thread, is enough.
public struct CycleVerdict: Sendable, Codable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case canDeadlock = "can-deadlock"
        case cannotDeadlock = "cannot-deadlock"
        /// Some of its orders come from a learned-order store or another process's report (merged reports),
        /// which keep only each order's first sighting: no evidence decides it, and a program that takes them
        /// all can deadlock. A store's cycle that one process took whole gets it too.
        case acrossProcesses = "across-processes"
    }

    /// Why a cycle cannot deadlock in this run.
    public enum Reason: String, Sendable, Codable {
        /// One thread took every order of the cycle.
        case oneThread = "one-thread"
        /// A lock (``CycleVerdict/gate``) was held across two of the cycle's orders every time.
        case gateLock = "gate-lock"
        /// The threads of two orders never ran at once: one had been joined before the other took its order.
        case orderedByJoin = "ordered-by-join"
        /// The threads of two orders never ran at once: one took its order before it (or a thread it
        /// started) started the other.
        case orderedByCreate = "ordered-by-create"
    }

    public let kind: Kind
    public let reason: Reason?
    /// For ``Reason/gateLock``: the gate lock's class.
    public let gate: String?
    /// For a cannot-deadlock verdict: the two orders that cannot be in progress at once (`"A" -> "B"`).
    public let orders: [String]
    /// For a can-deadlock verdict: two threads that took two of its orders and could run at once, each
    /// with its order (`thread 3 "worker" (tid 41) took "A" -> "B"`), when known.
    public let threads: [String]?

    public init(
        kind: Kind, reason: Reason? = nil, gate: String? = nil, orders: [String] = [], threads: [String]? = nil
    ) {
        self.kind = kind
        self.reason = reason
        self.gate = gate
        self.orders = orders
        self.threads = threads
    }

    /// Verdicts are equal by what they decide and why; which threads witnessed a can-deadlock is not part of it.
    public static func == (lhs: CycleVerdict, rhs: CycleVerdict) -> Bool {
        lhs.kind == rhs.kind && lhs.reason == rhs.reason && lhs.gate == rhs.gate && lhs.orders == rhs.orders
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(reason)
        hasher.combine(gate)
        hasher.combine(orders)
    }

    public static let canDeadlock = CycleVerdict(kind: .canDeadlock)
    public static let acrossProcesses = CycleVerdict(kind: .acrossProcesses)

    /// Whether the cycle may deadlock: all but a cannot-deadlock verdict.
    public var canDeadlock: Bool { kind != .cannotDeadlock }

    /// `can deadlock`, or `cannot deadlock in this run: a gate lock "G" was held across "A" -> "B" and "B" -> "A"`.
    public var description: String {
        if kind == .acrossProcesses {
            // True of a store's cycle that one process took whole, too: the store keeps no evidence.
            return "can deadlock across processes: some of its orders come from a learned-order store or another"
                + " process's report, which keep only the first thread to take each order, not whether the"
                + " threads could meet; a program that takes them all can deadlock"
        }
        guard let reason, kind == .cannotDeadlock else {
            let witnesses = threads.map { " (\($0.joined(separator: ", ")))" } ?? ""
            return "can deadlock: its orders were taken by threads that could run at once\(witnesses), with no lock"
                + " held across them"
        }
        let pair = orders.joined(separator: " and ")
        let why: String
        switch reason {
        case .oneThread: why = "one thread took every order of the cycle"
        case .gateLock: why = "the gate lock \"\(gate ?? "?")\" was held across \(pair) every time"
        case .orderedByJoin: why = "the threads of \(pair) never ran at once: one was joined before the other"
        case .orderedByCreate:
            why = "the threads of \(pair) never ran at once: one took its order before the other started"
        }
        return "cannot deadlock in this run: " + why
    }
}
