/// The lock-order graph's edge index: each edge's number by its key, `from << 32 | to`, and each
/// edge's key by its number.
///
/// Open addressing with linear probing, at most half full, hashed by one multiply, as ``NumberTable``;
/// but a slot is only the edge's number plus one (0: empty), 4 bytes, and a probe that finds a number
/// compares the key kept for that number. The keys are an array by number, which the graph needs anyway
/// to list its edges: 8 bytes an edge and 4 a slot, against 12 a slot with the key in it (at 2 million
/// edges and 4 million slots, 33 MB against 50). A new edge's lookup mostly ends at an empty slot and
/// reads no key.
@usableFromInline
struct EdgeIndex: Sendable {
    @usableFromInline var slots: MappedBuffer<UInt32>
    /// Each edge's key, by its number.
    @usableFromInline var keys = MappedBuffer<UInt64>()
    /// log2 of the slot count.
    @usableFromInline var bits: Int

    init() {
        bits = 4
        slots = MappedBuffer(zeroed: 1 << bits)
    }

    /// The number of edges.
    var count: Int { keys.count }

    /// Where `key` is probed first in a table of 2^`bits` slots.
    @inlinable @inline(__always)
    static func slot(of key: UInt64, bits: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> (64 - bits))
    }

    /// The slots' base address and log2 of their count, for prefetching the slot of a key.
    @inlinable
    var probeLayout: (base: UInt, bits: Int) {
        (UInt(bitPattern: slots.base), bits)
    }

    /// The address of the slot `key` is probed at first, in a table laid out as `layout`.
    @inlinable
    static func firstProbe(of key: UInt64, in layout: (base: UInt, bits: Int)) -> UInt {
        layout.base &+ UInt(slot(of: key, bits: layout.bits)) &* UInt(MemoryLayout<UInt32>.stride)
    }

    /// The number of the edge `key`, if it is in the index.
    @inlinable
    subscript(key: UInt64) -> UInt32? {
        var at = Self.slot(of: key, bits: bits)
        let mask = slots.count - 1
        while true {
            let slot = slots[at]
            if slot == 0 { return nil }
            if keys[Int(slot &- 1)] == key { return slot &- 1 }
            at = (at &+ 1) & mask
        }
    }

    /// Adds `key` as the next edge, numbered `count` before the call. The caller has checked that `key`
    /// is not in the index.
    mutating func append(_ key: UInt64) {
        let number = UInt32(truncatingIfNeeded: keys.count)
        if (keys.count + 1) * 2 > slots.count { grow(to: slots.count * 2) }
        keys.append(key)
        place(key, number)
    }

    /// Makes room for `capacity` edges in all.
    mutating func reserveCapacity(_ capacity: Int) {
        keys.reserveCapacity(capacity)
        var wanted = slots.count
        while wanted < capacity * 2 { wanted *= 2 }
        if wanted > slots.count { grow(to: wanted) }
    }

    private mutating func place(_ key: UInt64, _ number: UInt32) {
        var at = Self.slot(of: key, bits: bits)
        let mask = slots.count - 1
        while slots[at] != 0 { at = (at &+ 1) & mask }
        slots[at] = number &+ 1
    }

    private mutating func grow(to count: Int) {
        bits = count.trailingZeroBitCount
        slots = MappedBuffer(zeroed: count)
        for (number, key) in keys.enumerated() { place(key, UInt32(number)) }
    }
}
