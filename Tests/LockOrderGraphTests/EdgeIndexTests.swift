import Testing

@testable import _LockOrderGraph

/// The edge index against a `Dictionary`: the same answers through growth, for keys that collide in the
/// low and the high bits alike, and each key by its number.
@Suite struct EdgeIndexTests {
    @Test func itAnswersAsADictionaryDoes() {
        var index = EdgeIndex()
        var oracle: [UInt64: UInt32] = [:]
        for key in collidingKeys() {
            #expect(index[key] == nil)
            index.append(key)
            oracle[key] = UInt32(oracle.count)
        }
        #expect(index.count == oracle.count)
        for (key, number) in oracle {
            #expect(index[key] == number)
            #expect(index.keys[Int(number)] == key)
        }
        #expect(index[UInt64(9_999) << 32 | 9_999] == nil)
        // At most two thirds full: a lookup of an absent key ends at an empty slot.
        #expect(2 * index.slots.count >= 3 * index.count && index.slots.filter { $0 != 0 }.count == index.count)
    }

    @Test func reservingKeepsWhatItHolds() {
        var index = EdgeIndex()
        for node in 1...40 { index.append(UInt64(node) << 32 | 1) }
        index.reserveCapacity(100_000)
        #expect(index.count == 40 && 2 * index.slots.count >= 300_000 && index.slots.count < 200_000)
        #expect((1...40).allSatisfy { index[UInt64($0) << 32 | 1] == UInt32($0 - 1) })
    }

    @Test func itsSizesRunBetweenPowersOfTwo() {
        var sizes = [16]
        while sizes.count < 8 { sizes.append(EdgeIndex.size(after: sizes.last!)) }
        #expect(sizes == [16, 24, 32, 48, 64, 96, 128, 192])
        // 100,000 classes × 20 orders: 2,001,000 edges in 3 × 2^20 slots, not 2^22.
        var index = EdgeIndex()
        index.reserveCapacity(2_001_000)
        #expect(index.slots.count == 3 << 20)
        #expect(!EdgeIndex.holds(17, in: 24) && EdgeIndex.holds(16, in: 24))
    }

    @Test func probesWrapAroundATableThatIsNoPowerOfTwo() {
        var index = EdgeIndex()
        index.reserveCapacity(16)
        // Keys whose first probe is the last slot of a 24-slot table run on into its first slots.
        let last = (UInt64(1)...).lazy.filter { EdgeIndex.slot(of: $0, count: 24) == 23 }.prefix(8)
        for key in last { index.append(key) }
        #expect(index.slots.count == 24)
        #expect(index.slots[0] != 0 && index.slots[23] != 0)
        for (number, key) in last.enumerated() { #expect(index[key] == UInt32(number)) }
    }

    @Test func firstProbesSpreadOverATableThatIsNoPowerOfTwo() {
        // Edges of a graph: every first probe in range, and few keys sharing one.
        let keys = (1...40).flatMap { from in (1...25).map { UInt64(from) << 32 | UInt64(from + $0) } }
        let probes = keys.map { EdgeIndex.slot(of: $0, count: 1_536) }
        #expect(probes.allSatisfy { (0..<1_536).contains($0) })
        #expect(Set(probes).count > keys.count / 2)
    }
}
