import Testing

@testable import _LockOrderGraph

/// The number table against a `Dictionary`: the same answers through growth, for keys that
/// collide in the low and the high bits alike.
@Suite struct NumberTableTests {
    @Test func itAnswersAsADictionaryDoes() {
        var table = NumberTable()
        var oracle: [UInt64: UInt32] = [:]
        for key in collidingKeys() {
            #expect(table[key] == nil)
            table.insert(key, number: UInt32(oracle.count))
            oracle[key] = UInt32(oracle.count)
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
