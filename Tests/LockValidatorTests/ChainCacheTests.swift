import Synchronization
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
            // Tests before this one may have grown the table to the bound, where it is emptied in place and
            // never replaced: the bound is raised past it for the test, under the graph lock every insert takes.
            let bound = ChainCache.capacityBound.load(ordering: .relaxed)
            ChainCache.capacityBound.store(max(bound, capacity * 4), ordering: .relaxed)
            defer { ChainCache.capacityBound.store(bound, ordering: .relaxed) }
            let heldBefore = (1...capacity).filter { slots[$0] != 0 }.count
            #expect(heldBefore >= 1, "the table holds its chains until it is replaced")
            var heldWhenReplaced = 0
            while ChainCache.tableAddress == old && keys.count <= capacity {
                heldWhenReplaced = ChainCache.chainCount
                insertOne()
            }
            #expect((0...capacity).allSatisfy { slots[$0] == 0 }, "the replaced table reads as zeros")
            // Replaced when a chain would fill it past half (smaller than the bound, as in any test).
            #expect(capacity < ChainCache.capacityBound.load(ordering: .relaxed))
            // (A table that was at the bound had filled past half already: replaced at the first insert.)
            if capacity < bound { #expect(heldWhenReplaced + 1 > capacity / 2 && heldWhenReplaced <= capacity / 2) }
            // Under the graph lock: a cycle reported in a test running alongside empties the cache under it.
            #expect(keys.allSatisfy(ChainCache.contains))
        }
    }

    /// The largest table is a bounded cache: it fills to three quarters and is then emptied in place (not
    /// replaced), its chains read as misses, which the slow path validates again. The bound is lowered
    /// to the current table's size for the test, under the graph lock that every insert takes.
    @Test func theLargestTableFillsToThreeQuartersAndIsThenEmptiedInPlace() {
        var random = SystemRandomNumberGenerator()
        LockOrder.state.withLock { _ in
            ChainCache.insert(UInt64.random(in: 1...UInt64.max, using: &random))
            let table = ChainCache.tableAddress
            let capacity = Int(UnsafePointer<UInt64>(bitPattern: table)![0]) + 1
            let bound = ChainCache.capacityBound.exchange(capacity, ordering: .relaxed)
            defer { ChainCache.capacityBound.store(bound, ordering: .relaxed) }
            let (emptiedBefore, validatedBefore) = (ChainCache.timesEmptied, ChainCache.validatedCount)
            var keys: [UInt64] = []
            // Bounded: emptied by three quarters of the table's chains at the latest.
            while ChainCache.timesEmptied == emptiedBefore && keys.count <= capacity {
                #expect(ChainCache.chainCount <= capacity / 4 * 3, "filled past three quarters, not emptied")
                let key = UInt64.random(in: 1...UInt64.max, using: &random)
                ChainCache.insert(key)
                keys.append(key)
            }
            #expect(ChainCache.timesEmptied == emptiedBefore + 1, "emptied once the table was full")
            #expect(ChainCache.tableAddress == table, "emptied in place, not replaced")
            #expect(ChainCache.chainCount == 1 && ChainCache.contains(keys.last!))
            #expect(!keys.dropLast().contains(where: ChainCache.contains), "the chains before read as misses")
            #expect(ChainCache.validatedCount == validatedBefore + keys.count)
            // Below the limit again: filled, not emptied.
            ChainCache.insert(UInt64.random(in: 1...UInt64.max, using: &random))
            #expect(ChainCache.timesEmptied == emptiedBefore + 1 && ChainCache.chainCount == 2)
        }
    }

    /// A reported cycle empties the cache so that its chains are validated again, but the counts stay: the
    /// report's chains are the validations since the last reset (only a reset, `removeAll()`, zeroes them,
    /// which `ResetTests` checks in a child process).
    @Test func revalidatingAllEmptiesTheTableInPlaceAndKeepsTheCounts() {
        var random = SystemRandomNumberGenerator()
        LockOrder.state.withLock { _ in
            let key = UInt64.random(in: 1...UInt64.max, using: &random)
            ChainCache.insert(key)
            #expect(ChainCache.contains(key) && ChainCache.chainCount >= 1)
            let table = ChainCache.tableAddress
            let (emptied, validated) = (ChainCache.timesEmptied, ChainCache.validatedCount)
            ChainCache.revalidateAll()
            #expect(ChainCache.tableAddress == table, "emptied in place, not replaced")
            #expect(ChainCache.chainCount == 0 && !ChainCache.contains(key))
            #expect(ChainCache.timesEmptied == emptied && ChainCache.validatedCount == validated)
            ChainCache.insert(key)  // validated again: counted again
            #expect(ChainCache.contains(key) && ChainCache.chainCount == 1)
            #expect(ChainCache.validatedCount == validated + 1)
        }
    }
}
