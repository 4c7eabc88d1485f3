/// `capacity-exhausted`: a validator table reached its cap. Said once per table, loudly; the locks and
/// every check that needs no new entry keep working (lockdep and WITNESS switch themselves off instead).
enum Capacity {
    enum Table: String, CaseIterable {
        case classes = "lock classes"
        case edges = "lock-order edges"
        case chains = "validated chains"
        case stacks = "kept stacks"
    }

    private static let reported = InternalLock(Set<String>())

    /// Reports that `table` reached `cap`, the first time only.
    static func exhausted(_ table: Table, cap: Int, detail: String) {
        guard reported.withLock({ $0.insert(table.rawValue).inserted }) else { return }
        LockValidator.record(
            .capacityExhausted,
            summary:
                "the validator's table of \(table.rawValue) is full (cap \(cap), Configuration.capacity): \(detail);"
                + " the locks work and the other checks go on",
            site: nil)
    }

    /// Forgets which tables were reported (with ``LockValidator/reset()``).
    static func reset() { reported.withLock { $0.removeAll() } }
}
