/// The lock-order graph's index of its edges: each edge's number by its key `from << 32 | to`.
///
/// Open addressing with linear probing, at most half full, hashed by one multiply: a lookup or an
/// insert costs a few instructions where a `Dictionary` hashes the key with SipHash, and a new edge does
/// three of them. Keys are never 0 (node ids start at 1), so 0 marks an empty slot.
struct EdgeNumberTable {
    private var keys: [UInt64]
    private var numbers: [UInt32]
    /// The number of edges.
    private(set) var count = 0
    /// log2 of the slot count.
    private var bits: Int

    init(minimumCapacity: Int = 0) {
        bits = 4
        while 1 << bits < minimumCapacity * 2 { bits += 1 }
        keys = [UInt64](repeating: 0, count: 1 << bits)
        numbers = [UInt32](repeating: 0, count: 1 << bits)
    }

    private func slot(of key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> (64 - bits)) }

    /// The number of the edge `key`, if it is in the table.
    subscript(key: UInt64) -> UInt32? {
        var at = slot(of: key)
        let mask = keys.count - 1
        while keys[at] != 0 {
            if keys[at] == key { return numbers[at] }
            at = (at &+ 1) & mask
        }
        return nil
    }

    /// Adds `key` with `number`. The caller has checked that `key` is not in the table.
    mutating func insert(_ key: UInt64, number: UInt32) {
        precondition(key != 0, "edge key 0")
        if (count + 1) * 2 > keys.count { grow(to: keys.count * 2) }
        place(key, number)
        count += 1
    }

    /// Makes room for `capacity` edges in all.
    mutating func reserveCapacity(_ capacity: Int) {
        var slots = keys.count
        while slots < capacity * 2 { slots *= 2 }
        if slots > keys.count { grow(to: slots) }
    }

    /// Every edge's key and number, in no particular order.
    var entries: [(key: UInt64, number: UInt32)] {
        zip(keys, numbers).filter { $0.0 != 0 }.map { (key: $0.0, number: $0.1) }
    }

    private mutating func place(_ key: UInt64, _ number: UInt32) {
        var at = slot(of: key)
        let mask = keys.count - 1
        while keys[at] != 0 { at = (at &+ 1) & mask }
        keys[at] = key
        numbers[at] = number
    }

    private mutating func grow(to slots: Int) {
        let old = entries
        bits = slots.trailingZeroBitCount
        keys = [UInt64](repeating: 0, count: slots)
        numbers = [UInt32](repeating: 0, count: slots)
        for (key, number) in old { place(key, number) }
    }
}
