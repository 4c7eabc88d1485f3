/// Numbers by a nonzero 64-bit key: the lock-order graph's edge index (an edge's number by
/// `from << 32 | to`) and the kept stacks' index (a stack's number by a mix of its addresses).
///
/// Open addressing with linear probing, at most half full, hashed by one multiply: a lookup or an
/// insert costs a few instructions where a `Dictionary` hashes the key with SipHash. A slot is the key
/// and its number side by side, 12 bytes, so that a probe reads one cache line, not one in each of two
/// arrays. Key 0 marks an empty slot.
public struct NumberTable: Sendable {
    // Lookups are inlined into the validator, a module away: they run on every new lock order.
    @usableFromInline
    struct Slot: Sendable {
        @usableFromInline var keyHigh: UInt32 = 0
        @usableFromInline var keyLow: UInt32 = 0
        @usableFromInline var number: UInt32 = 0

        @inlinable var key: UInt64 { UInt64(keyHigh) << 32 | UInt64(keyLow) }
        @inlinable var isEmpty: Bool { keyHigh | keyLow == 0 }

        @inlinable init(keyHigh: UInt32 = 0, keyLow: UInt32 = 0, number: UInt32 = 0) {
            (self.keyHigh, self.keyLow, self.number) = (keyHigh, keyLow, number)
        }
    }

    @usableFromInline var slots: [Slot]
    /// The number of keys.
    public private(set) var count = 0
    /// log2 of the slot count.
    @usableFromInline var bits: Int

    public init(minimumCapacity: Int = 0) {
        bits = 4
        while 1 << bits < minimumCapacity * 2 { bits += 1 }
        slots = [Slot](repeating: Slot(), count: 1 << bits)
    }

    @inlinable @inline(__always)
    func slot(of key: UInt64) -> Int { Self.slot(of: key, bits: bits) }

    /// Where `key` is probed first in a table of 2^`bits` slots.
    @inlinable @inline(__always)
    static func slot(of key: UInt64, bits: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> (64 - bits))
    }

    /// The slots' base address and log2 of their count, for prefetching the slot of a key.
    @inlinable
    public var probeLayout: (base: UInt, bits: Int) {
        (slots.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }, bits)
    }

    /// The address of the slot `key` is probed at first, in a table laid out as `layout`.
    @inlinable
    public static func firstProbe(of key: UInt64, in layout: (base: UInt, bits: Int)) -> UInt {
        layout.base &+ UInt(slot(of: key, bits: layout.bits)) &* UInt(MemoryLayout<Slot>.stride)
    }

    /// The number of `key`, if it is in the table.
    @inlinable
    public subscript(key: UInt64) -> UInt32? {
        var at = slot(of: key)
        let mask = slots.count - 1
        while !slots[at].isEmpty {
            if slots[at].key == key { return slots[at].number }
            at = (at &+ 1) & mask
        }
        return nil
    }

    /// Adds `key` with `number`. The caller has checked that `key` is not in the table.
    public mutating func insert(_ key: UInt64, number: UInt32) {
        precondition(key != 0, "number table key 0")
        if (count + 1) * 2 > slots.count { grow(to: slots.count * 2) }
        place(key, number)
        count += 1
    }

    /// Makes room for `capacity` keys in all.
    public mutating func reserveCapacity(_ capacity: Int) {
        var wanted = slots.count
        while wanted < capacity * 2 { wanted *= 2 }
        if wanted > slots.count { grow(to: wanted) }
    }

    /// Every key and its number, in no particular order.
    public var entries: [(key: UInt64, number: UInt32)] {
        slots.filter { !$0.isEmpty }.map { (key: $0.key, number: $0.number) }
    }

    private mutating func place(_ key: UInt64, _ number: UInt32) {
        var at = slot(of: key)
        let mask = slots.count - 1
        while !slots[at].isEmpty { at = (at &+ 1) & mask }
        slots[at] = Slot(
            keyHigh: UInt32(truncatingIfNeeded: key >> 32), keyLow: UInt32(truncatingIfNeeded: key), number: number)
    }

    private mutating func grow(to count: Int) {
        let old = entries
        bits = count.trailingZeroBitCount
        slots = [Slot](repeating: Slot(), count: count)
        for (key, number) in old { place(key, number) }
    }
}
