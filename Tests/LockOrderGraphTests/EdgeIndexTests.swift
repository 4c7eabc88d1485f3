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
        // At most half full: a lookup of an absent key ends at an empty slot.
        #expect(index.slots.count >= 2 * index.count && index.slots.filter { $0 != 0 }.count == index.count)
    }

    @Test func reservingKeepsWhatItHolds() {
        var index = EdgeIndex()
        for node in 1...40 { index.append(UInt64(node) << 32 | 1) }
        index.reserveCapacity(100_000)
        #expect(index.count == 40 && index.slots.count >= 200_000)
        #expect((1...40).allSatisfy { index[UInt64($0) << 32 | 1] == UInt32($0 - 1) })
    }
}
