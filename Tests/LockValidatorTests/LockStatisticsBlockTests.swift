import Testing

@testable import LockValidator

/// A lock's statistics block: holds land in the log2 bucket of their length whether it is one of the
/// short buckets in the first cache line or a full one; a short bucket that wraps moves its 2^32
/// holds to its full bucket; what an uncontended acquire and release write is one line.
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

    @Test func aShortBucketThatWrapsMovesToItsFullBucket() {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        let bucket = LockStatisticsBlock.firstShortBucket + 3
        (block.shortBuckets + 3).pointee.store(UInt32.max - 1, ordering: .relaxed)
        for _ in 0..<3 { block.recordHold(cycles: UInt64(1) << UInt64(bucket - 1)) }
        #expect(block.snapshot.buckets[bucket] == UInt64(UInt32.max) + 2)
        block.reset()
        #expect(block.snapshot.buckets.allSatisfy { $0 == 0 })
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
