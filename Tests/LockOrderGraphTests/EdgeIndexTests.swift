import Testing

@testable import _LockOrderGraph

/// The edge index against a `Dictionary`: the same answers through growth, for keys that collide in the
/// low and the high bits alike, and each key by its number.
@Suite struct EdgeIndexTests {
    @Test func itAnswersAsADictionaryDoes() {
        var index = EdgeIndex()
        var oracle: [UInt64: UInt32] = [:]
        var random = SystemRandomNumberGenerator()
        // Nodes from a small range, so that keys share many bits; plus keys that differ only in `from`.
        for number in 0..<5_000 {
            let key = UInt64.random(in: 1...300, using: &random) << 32 | UInt64.random(in: 1...300, using: &random)
            let sameTail = UInt64(number + 1) << 32 | 7
            for key in [key, sameTail] where oracle[key] == nil {
                #expect(index[key] == nil)
                index.append(key)
                oracle[key] = UInt32(oracle.count)
            }
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
