import Testing

@testable import LockValidator

/// The arena of statistics blocks: a block's record is found from its address; a freed instance's
/// counters go to its class's totals when it is retired, and nowhere otherwise; `ifAlive` runs only for a
/// live instance.
@Suite struct LockStatisticsArenaTests {
    /// Class ids no class has: the registry numbers from 1.
    static let classID = UInt32.max - 11

    @Test func aBlocksRecordNamesItsInstanceAndClass() {
        let instance = LockInstance.next()
        let block = LockStatisticsArena.allocate(classID: Self.classID, instance: instance)
        defer { block.deallocate() }
        #expect(UInt(bitPattern: block.slots) % 64 == 0)
        #expect(LockStatisticsArena.record(of: block).instance == instance)
        #expect(LockStatisticsArena.record(of: block).classID == Self.classID)
        #expect(block.setDeviceLevels(1 << 5) == 0)
        #expect(block.deviceLevels == 1 << 5)
        #expect(LockStatisticsArena.record(of: block).classID == Self.classID, "device levels keep the class")
    }

    @Test func aRetiredInstanceCountsForItsClassAndAFreedOneForNone() {
        let classID = Self.classID - 1
        let retired = LockStatisticsArena.allocate(classID: classID, instance: LockInstance.next())
        let live = LockStatisticsArena.allocate(classID: classID, instance: LockInstance.next())
        let dropped = LockStatisticsArena.allocate(classID: classID, instance: LockInstance.next())
        for (block, count) in [(retired, 3), (live, 4), (dropped, 100)] {
            for _ in 0..<count {
                block.recordAcquire(waitCycles: 0)
                block.recordHold(cycles: 1 << 20)  // a long hold: cold slots, freed with the block
            }
        }
        LockStatisticsArena.free(retired, retiring: true)
        LockStatisticsArena.free(dropped, retiring: false)
        let counts = LockStatisticsArena.countsByClass[classID]
        #expect(counts?.acquisitions == 7)
        #expect(counts?.holds == 7)
        #expect(counts?.buckets[21] == 7)
        live.deallocate()
    }

    @Test func ifAliveRunsOnlyForALiveInstance() {
        let instance = LockInstance.next()
        let block = LockStatisticsArena.allocate(classID: Self.classID, instance: instance)
        var runs = 0
        LockStatisticsArena.ifAlive(instance) { runs += 1 }
        block.deallocate()
        LockStatisticsArena.ifAlive(instance) { runs += 1 }
        #expect(runs == 1)
    }
}
