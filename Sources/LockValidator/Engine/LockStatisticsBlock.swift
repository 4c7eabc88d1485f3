import Synchronization
import _LockValidatorShims

/// Per-lock counters as lockdep's lock_stat keeps them: acquisitions, contentions (acquires that had to
/// spin), wait time, and hold time with a log2 histogram.
///
/// Each lock instance has its own block, written only by the thread that holds the lock, so an update
/// is a relaxed load and store (no read-modify-write, no shared cache line between instances); a
/// report reads them with relaxed loads and adds up the instances of each class.
///
/// An uncontended acquire and its release write one cache line: the block starts on a line boundary,
/// and its first line holds the four counters they write and eight 32-bit histogram buckets for the
/// holds most locks have (16 to 4,095 cycles). A program with thousands of locks finds most blocks
/// out of cache, and a second line per hold would double what its statistics cost.
@usableFromInline
struct LockStatisticsBlock {
    /// The block as 64-bit slots (`Slot`, and the full buckets from `firstBucket`); `shortBucketSlots`
    /// hold the short buckets.
    @usableFromInline let slots: UnsafeMutablePointer<Atomic<UInt64>>

    @usableFromInline enum Slot: Int {
        case acquisitions = 0, holds, holdTotal, holdMax
        case contentions = 8, waitTotal, waitMax
        /// Bit n: the instance was held at device IRQL n (an exact check across device levels needs
        /// the instance, not only its class).
        case deviceLevels
    }

    /// Log2 buckets of hold time in cycles: bucket i holds [2^(i-1), 2^i).
    @usableFromInline static let bucketCount = 48
    @usableFromInline static let firstBucket = 16
    static let slotCount = firstBucket + bucketCount
    /// Buckets 5 to 12 are counted in the first line, in 32 bits, and added to their full buckets
    /// every 2^31 holds: no short count can wrap.
    @usableFromInline static let firstShortBucket = 5
    @usableFromInline static let shortBucketCount = 8

    /// The 64-bit slots the short buckets take, after the four counters of the first line.
    @usableFromInline static let shortBucketSlots = 4..<8

    /// The eight short buckets, in the first line after the four counters.
    @usableFromInline var shortBuckets: UnsafeMutablePointer<Atomic<UInt32>> {
        UnsafeMutableRawPointer(slots + Self.shortBucketSlots.lowerBound).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    static func allocate() -> LockStatisticsBlock {
        let base = UnsafeMutableRawPointer.allocate(byteCount: slotCount * 8, alignment: 64)
        let slots = base.bindMemory(to: Atomic<UInt64>.self, capacity: slotCount)
        for index in 0..<slotCount where !shortBucketSlots.contains(index) { (slots + index).initialize(to: Atomic(0)) }
        let short = (base + shortBucketSlots.lowerBound * 8).bindMemory(
            to: Atomic<UInt32>.self, capacity: shortBucketCount)
        for index in 0..<shortBucketCount { (short + index).initialize(to: Atomic(0)) }
        return LockStatisticsBlock(slots: slots)
    }

    @usableFromInline init(slots: UnsafeMutablePointer<Atomic<UInt64>>) { self.slots = slots }

    func deallocate() { UnsafeMutableRawPointer(slots).deallocate() }

    /// Zeroes every counter (``LockValidator/reset()``).
    func reset() {
        for index in 0..<Self.slotCount where !Self.shortBucketSlots.contains(index) {
            (slots + index).pointee.store(0, ordering: .relaxed)
        }
        for index in 0..<Self.shortBucketCount { (shortBuckets + index).pointee.store(0, ordering: .relaxed) }
    }

    /// Asks for the first line, which an acquire and its release write, ahead of its use.
    @inlinable @inline(__always)
    func prefetch() { lv_prefetch(UInt(bitPattern: slots)) }

    @inlinable
    func read(_ slot: Slot) -> UInt64 { (slots + slot.rawValue).pointee.load(ordering: .relaxed) }

    /// Adds `amount`; only the lock holder calls this.
    @inlinable
    func add(_ amount: UInt64, to slot: Slot) {
        let field = slots + slot.rawValue
        field.pointee.store(field.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Sets `bits` in `slot` atomically (any thread); returns the slot's value before.
    func setBits(_ bits: UInt64, in slot: Slot) -> UInt64 {
        (slots + slot.rawValue).pointee.bitwiseOr(bits, ordering: .relaxed).oldValue
    }

    /// Adds `amount` atomically, for counters several threads may write at once (shared holds).
    func addAtomically(_ amount: UInt64, to slot: Slot) {
        (slots + slot.rawValue).pointee.wrappingAdd(amount, ordering: .relaxed)
    }

    @inlinable
    func raise(_ slot: Slot, to value: UInt64) {
        let field = slots + slot.rawValue
        if value > field.pointee.load(ordering: .relaxed) { field.pointee.store(value, ordering: .relaxed) }
    }

    /// Counts one acquire, contended when `waitCycles` is not 0.
    @inlinable @inline(__always)
    func recordAcquire(waitCycles: UInt64) {
        add(1, to: .acquisitions)
        if _slowPath(waitCycles != 0) {
            add(1, to: .contentions)
            add(waitCycles, to: .waitTotal)
            raise(.waitMax, to: waitCycles)
        }
    }

    /// Counts one completed hold; C's `lv_stat_record_hold` (the interposer's fast path) is the same. Not a
    /// call of C's: with it inlined here, the optimiser stopped inlining SpinLock's release (the pair's
    /// instructions rose from 213 to 244).
    @inlinable @inline(__always)
    func recordHold(cycles: UInt64) {
        let holds = slots + Slot.holds.rawValue
        let count = holds.pointee.load(ordering: .relaxed) &+ 1
        holds.pointee.store(count, ordering: .relaxed)
        add(cycles, to: .holdTotal)
        raise(.holdMax, to: cycles)
        // Every 2^31 holds the short buckets move to the full ones, so that none can wrap.
        if _slowPath(count & (1 << 31 - 1) == 0) { moveShortBuckets() }
        let short = (64 - Self.firstShortBucket) &- cycles.leadingZeroBitCount  // the bucket's index - 5
        if _fastPath(UInt(bitPattern: short) < UInt(Self.shortBucketCount)) {
            let field = shortBuckets + short
            field.pointee.store(field.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
            return
        }
        let bucket = min(64 - cycles.leadingZeroBitCount, Self.bucketCount - 1)
        let field = slots + Self.firstBucket + bucket
        field.pointee.store(field.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    @usableFromInline
    @inline(never)
    func moveShortBuckets() { lv_stat_move_short_buckets(words) }

    /// The block as C's `lv_stat_*` functions take it.
    @inlinable
    var words: UnsafeMutablePointer<UInt64> { UnsafeMutableRawPointer(slots).assumingMemoryBound(to: UInt64.self) }

    /// A bucket's count: its full count, plus its short count for buckets 5 to 12.
    func bucket(_ index: Int) -> UInt64 {
        let full = (slots + Self.firstBucket + index).pointee.load(ordering: .relaxed)
        let short = index - Self.firstShortBucket
        guard (0..<Self.shortBucketCount).contains(short) else { return full }
        return full &+ UInt64((shortBuckets + short).pointee.load(ordering: .relaxed))
    }

    /// The counters as plain numbers.
    var snapshot: Counts {
        var counts = Counts()
        counts.acquisitions = read(.acquisitions)
        counts.contentions = read(.contentions)
        counts.waitTotal = read(.waitTotal)
        counts.waitMax = read(.waitMax)
        counts.holds = read(.holds)
        counts.holdTotal = read(.holdTotal)
        counts.holdMax = read(.holdMax)
        counts.buckets = (0..<Self.bucketCount).map(bucket)
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
    }
}
