import Testing

@testable import _LockOrderGraph

/// The number table against a `Dictionary`: the same answers through growth, for keys that
/// collide in the low and the high bits alike.
@Suite struct NumberTableTests {
    @Test func itAnswersAsADictionaryDoes() {
        var table = NumberTable()
        var oracle: [UInt64: UInt32] = [:]
        var random = SystemRandomNumberGenerator()
        // Nodes from a small range, so that keys share many bits; plus keys that differ only in `from`.
        for number in 0..<5_000 {
            let key = UInt64.random(in: 1...300, using: &random) << 32 | UInt64.random(in: 1...300, using: &random)
            let sameTail = UInt64(number + 1) << 32 | 7
            for key in [key, sameTail] where oracle[key] == nil {
                #expect(table[key] == nil)
                table.insert(key, number: UInt32(oracle.count))
                oracle[key] = UInt32(oracle.count)
            }
        }
        #expect(table.count == oracle.count)
        for (key, number) in oracle { #expect(table[key] == number) }
        #expect(table[UInt64(9_999) << 32 | 9_999] == nil)
        #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.number) }) == oracle)
    }

    @Test func reservingKeepsWhatItHolds() {
        var table = NumberTable(minimumCapacity: 3)
        for node in 1...40 { table.insert(UInt64(node) << 32 | 1, number: UInt32(node)) }
        table.reserveCapacity(100_000)
        #expect(table.count == 40)
        #expect((1...40).allSatisfy { table[UInt64($0) << 32 | 1] == UInt32($0) })
    }
}
