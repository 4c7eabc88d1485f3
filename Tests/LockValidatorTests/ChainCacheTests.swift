import Testing

@testable import LockValidator

/// The chain cache's tables: a replaced one gives its memory back at once and stays readable, reading as
/// zeros, so that a reader still probing it finds a miss (which the slow path answers), never a fault.
@Suite struct ChainCacheTests {
    @Test func aReplacedTableReadsAsZerosAndEveryChainIsInTheNewOne() {
        var random = SystemRandomNumberGenerator()
        var keys: [UInt64] = []
        LockOrder.state.withLock { _ in
            func insertOne() {
                let key = UInt64.random(in: 1...UInt64.max, using: &random)
                ChainCache.insert(key)
                keys.append(key)
            }
            insertOne()
            let old = ChainCache.tableAddress
            let slots = UnsafePointer<UInt64>(bitPattern: old)!
            let capacity = Int(slots[0]) + 1
            let heldBefore = (1...capacity).filter { slots[$0] != 0 }.count
            #expect(heldBefore >= 1, "the table holds its chains until it is replaced")
            var heldWhenReplaced = 0
            while ChainCache.tableAddress == old {
                heldWhenReplaced = ChainCache.chainCount
                insertOne()
            }
            #expect((0...capacity).allSatisfy { slots[$0] == 0 }, "the replaced table reads as zeros")
            // Replaced when a chain would fill it past half, or three quarters from a million slots (memory:
            // issue 31).
            let limit = capacity < ChainCache.largeTable ? capacity / 2 : capacity / 4 * 3
            #expect(heldWhenReplaced + 1 > limit && heldWhenReplaced <= limit)
        }
        #expect(keys.allSatisfy(ChainCache.contains))
    }
}
