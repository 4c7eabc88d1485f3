import Synchronization
import _LockValidatorShims

/// lock_stat counters as lockdep keeps them: acquisitions, contentions (acquires that had to spin), wait
/// time, and hold time with a log2 histogram.
///
/// A block is one thread's line for one lock class (``LockStatisticsArena`` keeps them; lockdep keeps
/// lock_stat per class, per CPU): written only by its thread, so an update is a relaxed load and store (no
/// read-modify-write, no cache line shared between threads), found through the held entry or the thread's table;
/// a report reads them with relaxed loads and adds them up by class. A lock instance has none of its own.
///
/// A line is what a pair writes, and no more: the hold total and longest hold, and eight 32-bit histogram
/// buckets for the holds most locks have (16 to 4,095 cycles; a shorter hold, an empty critical section
/// less the validator's time, counts as 16). Contentions, wait times and the full histogram are cold slots,
/// allocated on the line's first contention or first hold outside the short buckets (C's `lv_stat_cold`). A
/// timed hold is an acquisition too: the number of holds is the buckets' sum, and slot 0 counts only the
/// acquisitions without a timed hold (a reader's, an untimed or untracked one), so a pair writes no counter
/// of acquisitions.
@usableFromInline
struct LockStatisticsBlock {
    /// The line as 64-bit slots (`Slot`); `shortBucketSlots` hold the short buckets.
    @usableFromInline let slots: UnsafeMutablePointer<Atomic<UInt64>>

    @usableFromInline enum Slot: Int {
        /// Acquisitions without a timed hold; a report's acquisitions add the holds.
        case untimedAcquisitions = 0, holdTotal = 2, holdMax
    }

    /// The cold slots, and the full buckets from `LV_STAT_FIRST_BUCKET`.
    @usableFromInline enum ColdSlot: Int {
        case contentions = 0, waitTotal, waitMax
    }

    /// Log2 buckets of hold time in cycles: bucket i holds [2^(i-1), 2^i).
    @usableFromInline static let bucketCount = Int(LV_STAT_BUCKETS)
    static let firstColdBucket = Int(LV_STAT_FIRST_BUCKET)
    /// Buckets 5 to 12 are counted in the line, in 32 bits, and added to their full buckets once one
    /// reaches 2^31: none can wrap.
    @usableFromInline static let firstShortBucket = 5
    @usableFromInline static let shortBucketCount = 8

    /// The 64-bit slots the short buckets take, after the first four.
    @usableFromInline static let shortBucketSlots = 4..<8

    /// The eight short buckets, in the line after the first four slots.
    @usableFromInline var shortBuckets: UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(slots + Self.shortBucketSlots.lowerBound)
            .assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// A line of no class and no thread, for tests: a thread takes its lines from the arena by class.
    static func allocate() -> LockStatisticsBlock {
        LockStatisticsArena.line(ofThread: LockInstance.next() | 1 << 63, classID: 0)
    }

    @usableFromInline init(slots: UnsafeMutablePointer<Atomic<UInt64>>) { self.slots = slots }

    @inlinable init(words: UnsafeMutablePointer<UInt64>) {
        slots = UnsafeMutableRawPointer(words).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// Frees a line from ``allocate()``, counting it nowhere.
    func deallocate() {
        LockStatisticsArena.freeLines(ofThread: LockStatisticsArena.record(of: self).thread, retiring: false)
    }

    /// Zeroes every counter (``LockValidator/reset()``); the cold slots stay, zeroed.
    func reset() {
        for slot in [Slot.untimedAcquisitions, .holdTotal, .holdMax] {
            (slots + slot.rawValue).pointee.store(0, ordering: .relaxed)
        }
        for index in 0..<Self.shortBucketCount { (shortBuckets + index).pointee.store(0, ordering: .relaxed) }
        if let cold = coldIfAny {
            for index in 0..<Int(LV_STAT_COLD_SLOTS) { (cold + index).pointee.store(0, ordering: .relaxed) }
        }
    }

    @inlinable
    func read(_ slot: Slot) -> UInt64 { (slots + slot.rawValue).pointee.load(ordering: .relaxed) }

    /// The cold slots, allocated on first use.
    var cold: UnsafeMutablePointer<Atomic<UInt64>> {
        UnsafeMutableRawPointer(lv_stat_cold(words)).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// The cold slots, if the instance has any.
    var coldIfAny: UnsafeMutablePointer<Atomic<UInt64>>? {
        let bits = (slots + Int(LV_STAT_COLD)).pointee.load(ordering: .acquiring)
        return UnsafeMutablePointer(bitPattern: UInt(truncatingIfNeeded: bits))
    }

    /// A cold counter; 0 without cold slots.
    func read(_ slot: ColdSlot) -> UInt64 {
        coldIfAny.map { ($0 + slot.rawValue).pointee.load(ordering: .relaxed) } ?? 0
    }

    /// Adds `amount`; only the lock holder calls this.
    @inlinable
    func add(_ amount: UInt64, to slot: Slot) {
        let field = slots + slot.rawValue
        field.pointee.store(field.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Counts an acquisition that no timed hold will count (a reader's, an untimed or untracked one).
    func recordUntimedAcquire() { add(1, to: .untimedAcquisitions) }

    @inlinable
    func raise(_ slot: Slot, to value: UInt64) {
        let field = slots + slot.rawValue
        if value > field.pointee.load(ordering: .relaxed) { field.pointee.store(value, ordering: .relaxed) }
    }

    /// Counts a contention in the cold slots (allocating them on the first).
    @usableFromInline
    @inline(never)
    func recordContention(waitCycles: UInt64) {
        let cold = self.cold
        for (slot, amount) in [(ColdSlot.contentions, UInt64(1)), (.waitTotal, waitCycles)] {
            let field = cold + slot.rawValue
            field.pointee.store(field.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
        }
        let waitMax = cold + ColdSlot.waitMax.rawValue
        if waitCycles > waitMax.pointee.load(ordering: .relaxed) {
            waitMax.pointee.store(waitCycles, ordering: .relaxed)
        }
    }

    /// Counts one completed hold; C's `lv_stat_record_hold` (the interposer's fast path) is the same. Not a
    /// call of C's in an optimised build: with it inlined here, the optimiser stopped inlining SpinLock's
    /// release (the pair's instructions rose from 213 to 244).
    @inlinable @inline(__always)
    func recordHold(cycles: UInt64) {
        #if DEBUG
            // Unoptimised (what `swift test` builds for a dependency), the Swift below is a dozen calls and
            // their frames, C's one call.
            lv_stat_record_hold(UnsafeMutableRawPointer(slots).assumingMemoryBound(to: UInt64.self), cycles)
        #else
            recordHoldInSwift(cycles: cycles)
        #endif
    }

    /// ``recordHold(cycles:)`` as an optimised build runs it; apart, so that the tests (a debug build) check
    /// it against C's.
    @inlinable @inline(__always)
    func recordHoldInSwift(cycles: UInt64) {
        add(cycles, to: .holdTotal)
        raise(.holdMax, to: cycles)
        let short = (64 - Self.firstShortBucket) &- cycles.leadingZeroBitCount  // the bucket's index - 5
        if _fastPath(UInt(bitPattern: short) < UInt(Self.shortBucketCount)) {
            let field = shortBuckets + short
            let count = field.pointee.load(ordering: .relaxed) &+ 1
            field.pointee.store(count, ordering: .relaxed)
            // Once a short bucket reaches 2^31 they all move to the full ones, so that none can wrap.
            if _slowPath(count >> 31 != 0) { moveShortBuckets() }
            return
        }
        // A call, not the cold slots' few lines inline: with them, SpinLock's release was no longer
        // inlined (the pair rose from 215 to 256 instructions).
        lv_stat_record_long_hold(words, Int32(truncatingIfNeeded: 64 &- cycles.leadingZeroBitCount))
    }

    @usableFromInline
    @inline(never)
    func moveShortBuckets() { lv_stat_move_short_buckets(words) }

    /// The block as C's `lv_stat_*` functions take it.
    @inlinable
    var words: UnsafeMutablePointer<UInt64> { UnsafeMutableRawPointer(slots).assumingMemoryBound(to: UInt64.self) }

    /// A bucket's count: its full count, plus its short count for buckets 5 to 12.
    func bucket(_ index: Int) -> UInt64 {
        let full = coldIfAny.map { ($0 + Self.firstColdBucket + index).pointee.load(ordering: .relaxed) } ?? 0
        let short = index - Self.firstShortBucket
        guard (0..<Self.shortBucketCount).contains(short) else { return full }
        return full &+ UInt64((shortBuckets + short).pointee.load(ordering: .relaxed))
    }

    /// Whether nothing was counted: no acquisition, no hold, no contention.
    var isEmpty: Bool { read(.untimedAcquisitions) == 0 && hasNoHolds && read(.contentions) == 0 }

    /// Whether no hold was counted: every short bucket empty, and no full bucket (or none at all).
    @usableFromInline var hasNoHolds: Bool {
        for slot in Self.shortBucketSlots where (slots + slot).pointee.load(ordering: .relaxed) != 0 { return false }
        guard let cold = coldIfAny else { return true }
        return (0..<Self.bucketCount).allSatisfy {
            (cold + Self.firstColdBucket + $0).pointee.load(ordering: .relaxed) == 0
        }
    }

    /// The number of holds counted: the buckets' sum.
    var holdCount: UInt64 { (0..<Self.bucketCount).reduce(0) { $0 &+ bucket($1) } }

    /// The counters as plain numbers.
    var snapshot: Counts {
        var counts = Counts()
        counts.add(self)
        return counts
    }

    /// Counters added up over instances (in cycles).
    struct Counts {
        var acquisitions: UInt64 = 0
        var contentions: UInt64 = 0
        var waitTotal: UInt64 = 0
        var waitMax: UInt64 = 0
        var holds: UInt64 = 0
        var holdTotal: UInt64 = 0
        var holdMax: UInt64 = 0
        var buckets = [UInt64](repeating: 0, count: LockStatisticsBlock.bucketCount)

        mutating func add(_ other: Counts) {
            acquisitions += other.acquisitions
            contentions += other.contentions
            waitTotal += other.waitTotal
            waitMax = max(waitMax, other.waitMax)
            holds += other.holds
            holdTotal += other.holdTotal
            holdMax = max(holdMax, other.holdMax)
            for index in buckets.indices { buckets[index] += other.buckets[index] }
        }

        /// Adds `block`'s counters in place: a freed lock's are folded into its class's with no copy.
        mutating func add(_ block: LockStatisticsBlock) {
            acquisitions &+= block.read(.untimedAcquisitions)
            holdTotal &+= block.read(.holdTotal)
            holdMax = max(holdMax, block.read(.holdMax))
            for index in buckets.indices {
                let count = block.bucket(index)
                buckets[index] &+= count
                holds &+= count
                acquisitions &+= count  // a timed hold is an acquisition
            }
            guard let cold = block.coldIfAny else { return }
            contentions &+= (cold + ColdSlot.contentions.rawValue).pointee.load(ordering: .relaxed)
            waitTotal &+= (cold + ColdSlot.waitTotal.rawValue).pointee.load(ordering: .relaxed)
            waitMax = max(waitMax, (cold + ColdSlot.waitMax.rawValue).pointee.load(ordering: .relaxed))
        }
    }
}
