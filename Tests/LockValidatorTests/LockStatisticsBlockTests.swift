import Testing
import _LockValidatorShims

@testable import LockValidator

/// A lock_stat line (a thread's, for one class): holds land in the log2 bucket of their length whether it is one of the
/// short buckets in the block's line or a full one in its cold slots; the short buckets move to the full
/// ones once one reaches 2^31, before any can wrap; what an uncontended acquire and release write is one
/// line, and a line never contended nor held long has no cold slots.
@Suite struct LockStatisticsBlockTests {
    /// `recordHold` as this build runs it, and the Swift an optimised build runs.
    @Test(arguments: [false, true]) func holdsLandInTheirLog2Bucket(inSwift: Bool) {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        var expected = [UInt64](repeating: 0, count: LockStatisticsBlock.bucketCount)
        for shift in 0..<50 {
            for extra in [UInt64(0), 1] {
                let cycles = (UInt64(1) << UInt64(shift)) &+ extra &- 1  // 2^k - 1 and 2^k
                if inSwift { block.recordHoldInSwift(cycles: cycles) } else { block.recordHold(cycles: cycles) }
                // Under 16 cycles: counted as 16, in the first short bucket.
                let bucket = max(64 - cycles.leadingZeroBitCount, LockStatisticsBlock.firstShortBucket)
                expected[min(bucket, LockStatisticsBlock.bucketCount - 1)] += 1
            }
        }
        let counts = block.snapshot
        #expect(counts.buckets == expected)
        #expect(counts.holds == 100)
        #expect(counts.holdMax == UInt64(1) << 49)
    }

    @Test func shortBucketsMoveToTheFullOnesWhenOneReaches2To31() {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        let bucket = LockStatisticsBlock.firstShortBucket + 3
        let cycles = UInt64(1) << UInt64(bucket - 1)
        (block.shortBuckets + 3).pointee.store(1 << 31 - 2, ordering: .relaxed)
        block.recordHold(cycles: cycles)
        #expect(block.coldIfAny == nil, "below 2^31 the count stays in the line")
        block.recordHold(cycles: cycles)  // the 2^31st: the short counts move to the full buckets
        #expect((block.shortBuckets + 3).pointee.load(ordering: .relaxed) == 0)
        block.recordHold(cycles: cycles)
        #expect(block.snapshot.buckets[bucket] == UInt64(1) << 31 + 1)
        #expect(block.snapshot.holds == UInt64(1) << 31 + 1)
        block.reset()
        #expect(block.snapshot.buckets.allSatisfy { $0 == 0 })
        #expect(block.hasNoHolds)
    }

    /// The interposer's fast path, and `recordHold` in a debug build, count a hold in C
    /// (`lv_stat_record_hold`): every slot as Swift's (an optimised build's `recordHold`) would, a move of the
    /// short buckets and holds outside them included.
    @Test func cCountsAHoldAsSwiftDoes() {
        let swift = LockStatisticsBlock.allocate()
        let c = LockStatisticsBlock.allocate()
        defer {
            swift.deallocate()
            c.deallocate()
        }
        // Bucket 7 (64 to 127 cycles) gets three holds below: the second reaches 2^31.
        for block in [swift, c] { (block.shortBuckets + 2).pointee.store(1 << 31 - 2, ordering: .relaxed) }
        for shift in 0..<64 {
            for cycles in [(UInt64(1) << UInt64(shift)) &- 1, UInt64(1) << UInt64(shift), UInt64(3) << UInt64(shift)] {
                swift.recordHoldInSwift(cycles: cycles)
                lv_stat_record_hold(c.words, cycles)
            }
        }
        #expect(swift.bucket(LockStatisticsBlock.firstShortBucket + 2) > 1 << 31, "the run passes a move")
        let line = [0, 2, 3, 4, 5, 6, 7]  // not slot 1, the cold slots' address
        #expect(line.map { c.words[$0] } == line.map { swift.words[$0] })
        let cold = 0..<Int(LV_STAT_COLD_SLOTS)
        #expect(cold.map { lv_stat_cold(c.words)[$0] } == cold.map { lv_stat_cold(swift.words)[$0] })
    }

    @Test func anAcquireAndItsReleaseWriteOneCacheLine() {
        let block = LockStatisticsBlock.allocate()
        defer { block.deallocate() }
        let line = UInt(bitPattern: block.slots)
        #expect(line % 64 == 0)
        let written: [LockStatisticsBlock.Slot] = [.untimedAcquisitions, .holdTotal, .holdMax]
        for slot in written { #expect(UInt(bitPattern: block.slots + slot.rawValue) - line < 64) }
        let lastShort = UInt(bitPattern: block.shortBuckets + LockStatisticsBlock.shortBucketCount - 1)
        #expect(lastShort + 4 - line <= 64)
    }

    /// A line never contended nor held long is alone; its first contention, or first hold outside the short
    /// buckets, gives it its cold slots. A timed hold is an acquisition; an untimed acquire is counted apart.
    @Test func coldSlotsComeWithTheFirstContentionOrLongHold() {
        let quiet = LockStatisticsBlock.allocate()
        let contended = LockStatisticsBlock.allocate()
        let heldLong = LockStatisticsBlock.allocate()
        defer { [quiet, contended, heldLong].forEach { $0.deallocate() } }
        for block in [quiet, contended, heldLong] {
            for _ in 0..<1_000 { block.recordHold(cycles: 100) }
        }
        contended.recordContention(waitCycles: 500)
        contended.recordUntimedAcquire()
        heldLong.recordHold(cycles: 1 << 20)
        quiet.recordHold(cycles: 3)  // an empty critical section: not a long hold
        #expect(quiet.coldIfAny == nil)
        #expect(quiet.snapshot.holds == 1_001 && quiet.snapshot.contentions == 0)
        #expect(contended.coldIfAny != nil)
        #expect(contended.snapshot.contentions == 1 && contended.snapshot.waitMax == 500)
        #expect(contended.snapshot.acquisitions == 1_001 && contended.snapshot.holds == 1_000)
        #expect(quiet.snapshot.acquisitions == 1_001)
        #expect(heldLong.coldIfAny != nil)
        #expect(heldLong.snapshot.buckets[21] == 1 && heldLong.snapshot.holds == 1_001)
        #expect(heldLong.holdCount == 1_001)
    }
}
