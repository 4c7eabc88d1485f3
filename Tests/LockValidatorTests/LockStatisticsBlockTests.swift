import Testing
import _LockValidatorShims

@testable import LockValidator

/// A lock's statistics block: holds land in the log2 bucket of their length whether it is one of the
/// short buckets in the first cache line or a full one; the short buckets move to the full ones every
/// 2^31 holds, before any can wrap; what an uncontended acquire and release write is one line.
@Suite struct LockStatisticsBlockTests {
    @Test func holdsLandInTheirLog2Bucket() {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        var expected = [UInt64](repeating: 0, count: LockStatisticsBlock.bucketCount)
        for shift in 0..<50 {
            for extra in [UInt64(0), 1] {
                let cycles = (UInt64(1) << UInt64(shift)) &+ extra &- 1  // 2^k - 1 and 2^k
                block.recordHold(cycles: cycles)
                expected[min(64 - cycles.leadingZeroBitCount, LockStatisticsBlock.bucketCount - 1)] += 1
            }
        }
        let counts = block.snapshot
        #expect(counts.buckets == expected)
        #expect(counts.holds == 100)
        #expect(counts.holdMax == UInt64(1) << 49)
    }

    @Test func shortBucketsMoveToTheFullOnesEvery2To31Holds() {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        let bucket = LockStatisticsBlock.firstShortBucket + 3
        let cycles = UInt64(1) << UInt64(bucket - 1)
        (block.shortBuckets + 3).pointee.store(UInt32.max - 1, ordering: .relaxed)
        (block.slots + LockStatisticsBlock.Slot.holds.rawValue).pointee.store(1 << 31 - 1, ordering: .relaxed)
        block.recordHold(cycles: cycles)  // the 2^31st hold: the short count moves, then this hold counts
        #expect((block.shortBuckets + 3).pointee.load(ordering: .relaxed) == 1)
        block.recordHold(cycles: cycles)
        #expect(block.snapshot.buckets[bucket] == UInt64(UInt32.max) + 1)
        block.reset()
        #expect(block.snapshot.buckets.allSatisfy { $0 == 0 })
    }

    /// The interposer's fast path counts a hold in C (`lv_stat_record_hold`): every slot as Swift's would,
    /// the 2^31st hold's move of the short buckets included.
    @Test func cCountsAHoldAsSwiftDoes() {
        let swift = LockStatisticsBlock.allocate()
        let c = LockStatisticsBlock.allocate()
        defer {
            swift.deallocate()
            c.deallocate()
        }
        for block in [swift, c] {
            (block.shortBuckets + 2).pointee.store(UInt32.max - 7, ordering: .relaxed)
            (block.slots + LockStatisticsBlock.Slot.holds.rawValue).pointee.store(1 << 31 - 40, ordering: .relaxed)
        }
        for shift in 0..<64 {
            for cycles in [(UInt64(1) << UInt64(shift)) &- 1, UInt64(1) << UInt64(shift), UInt64(3) << UInt64(shift)] {
                swift.recordHold(cycles: cycles)
                lv_stat_record_hold(c.words, cycles)
            }
        }
        #expect(swift.read(.holds) > 1 << 31, "the run passes a move of the short buckets")
        let slots = 0..<(LockStatisticsBlock.firstBucket + LockStatisticsBlock.bucketCount)
        #expect(slots.map { c.words[$0] } == slots.map { swift.words[$0] })
    }

    @Test func anAcquireAndItsReleaseWriteOneCacheLine() {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        let line = UInt(bitPattern: block.slots)
        #expect(line % 64 == 0)
        let written: [LockStatisticsBlock.Slot] = [.acquisitions, .holds, .holdTotal, .holdMax]
        for slot in written { #expect(UInt(bitPattern: block.slots + slot.rawValue) - line < 64) }
        let lastShort = UInt(bitPattern: block.shortBuckets + LockStatisticsBlock.shortBucketCount - 1)
        #expect(lastShort + 4 - line <= 64)
    }
}
