/// The lock-order graph's edge index: each edge's number by its key, `from << 32 | to`, and each
/// edge's key by its number.
///
/// Open addressing with linear probing, hashed by one multiply, as ``NumberTable``; but a slot is only
/// the edge's number plus one (0: empty), 4 bytes, and a probe that finds a number compares the key kept
/// for that number. The keys are an array by number, which the graph needs anyway to list its edges: 8
/// bytes an edge and 4 a slot, against 12 a slot with the key in it. A new edge's lookup mostly ends at
/// an empty slot and reads no key.
///
/// The table is at most two thirds full, and its sizes run between powers of two (16, 24, 32, 48, …,
/// the first probe scaled to the size by a multiply): a graph whose edge count sits just under a power
/// of two (2,001,000 at 100,000 × 20) takes 3 million slots, not 4.2 (4 MB less), for probes about as
/// long as at half load when the table has just grown.
@usableFromInline
struct EdgeIndex: Sendable {
    @usableFromInline var slots: MappedBuffer<UInt32>
    /// Each edge's key, by its number.
    @usableFromInline var keys = MappedBuffer<UInt64>()

    init() { slots = MappedBuffer(zeroed: 16) }

    /// The number of edges.
    var count: Int { keys.count }

    /// Where `key` is probed first in a table of `count` slots: the high half of a multiply-mix scaled
    /// to the table by a multiply (Lemire's), which needs no power of two.
    @inlinable @inline(__always)
    static func slot(of key: UInt64, count: Int) -> Int {
        Int(truncatingIfNeeded: (((key &* 0x9E37_79B9_7F4A_7C15) >> 32) &* UInt64(truncatingIfNeeded: count)) >> 32)
    }

    /// The slots' base address and their count, for prefetching the slot of a key.
    @inlinable
    var probeLayout: (base: UInt, slots: Int) { (UInt(bitPattern: slots.base), slots.count) }

    /// The address of the slot `key` is probed at first, in a table laid out as `layout`.
    @inlinable
    static func firstProbe(of key: UInt64, in layout: (base: UInt, slots: Int)) -> UInt {
        layout.base &+ UInt(slot(of: key, count: layout.slots)) &* UInt(MemoryLayout<UInt32>.stride)
    }

    /// The number of the edge `key`, if it is in the index.
    @inlinable
    subscript(key: UInt64) -> UInt32? {
        let count = slots.count
        var at = Self.slot(of: key, count: count)
        while true {
            let slot = slots[at]
            if slot == 0 { return nil }
            if keys[Int(slot &- 1)] == key { return slot &- 1 }
            at &+= 1
            if at == count { at = 0 }
        }
    }

    /// Adds `key` as the next edge, numbered `count` before the call. The caller has checked that `key`
    /// is not in the index.
    mutating func append(_ key: UInt64) {
        let number = UInt32(truncatingIfNeeded: keys.count)
        if !Self.holds(keys.count + 1, in: slots.count) { grow(to: Self.size(after: slots.count)) }
        keys.append(key)
        place(key, number)
    }

    /// Makes room for `capacity` edges in all.
    mutating func reserveCapacity(_ capacity: Int) {
        keys.reserveCapacity(capacity)
        var wanted = slots.count
        while !Self.holds(capacity, in: wanted) { wanted = Self.size(after: wanted) }
        if wanted > slots.count { grow(to: wanted) }
    }

    /// Whether a table of `size` slots may hold `edges`: at most two thirds full.
    static func holds(_ edges: Int, in size: Int) -> Bool { edges * 3 <= size * 2 }

    /// The table size after `size`: a power of two grows by half, three quarters of one by a third.
    static func size(after size: Int) -> Int { size & (size - 1) == 0 ? size / 2 * 3 : size / 3 * 4 }

    private mutating func place(_ key: UInt64, _ number: UInt32) {
        let count = slots.count
        var at = Self.slot(of: key, count: count)
        while slots[at] != 0 {
            at &+= 1
            if at == count { at = 0 }
        }
        slots[at] = number &+ 1
    }

    private mutating func grow(to count: Int) {
        slots = MappedBuffer(zeroed: count)
        for (number, key) in keys.enumerated() { place(key, UInt32(number)) }
    }
}
