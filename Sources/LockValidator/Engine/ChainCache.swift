import Synchronization
import _LockValidatorShims

/// The set of lock chains already validated, lockdep's chain hash: a chain is the ordered list of
/// lock classes a thread holds, summarized by a 64-bit key. A thread that acquires a lock and finds
/// the resulting chain here has nothing new to teach the graph, so the hot path does one hash probe:
/// no graph walk, no global lock, no allocation.
///
/// Lookups are lock-free. Inserts happen only on the slow path, serialized by the graph lock; a table
/// that fills past half is replaced by one twice the size, published with a release store. Replaced
/// tables are never freed, since a reader may still be probing one; they add up to less than the
/// current table.
@usableFromInline
enum ChainCache {
    /// Extends `key` (the chain below) by `classID`; never 0, which marks an empty slot.
    @inlinable
    static func extend(_ key: UInt64, with classID: UInt32) -> UInt64 {
        // A multiply-xorshift mix of the previous key and the class id (splitmix64's finalizer).
        var mixed = (key ^ (UInt64(classID) &* 0x9E37_79B9_7F4A_7C15)) &+ 0x632B_E59B_D9B4_E019
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        return mixed == 0 ? 1 : mixed
    }

    /// A held lock as a link of a chain: its class and how it is held (exclusively, shared, as a
    /// recursive reader), since each makes different lock-order edges.
    @inlinable
    static func element(classID: UInt32, flags: UInt8) -> UInt32 {
        classID ^ (UInt32(flags & UInt8(LV_HELD_SHARED | LV_HELD_RECURSIVE_READ)) << 24)
    }

    /// `key` extended by `entry`, if the entry takes part in lock order (not a reported recursive
    /// acquire, a nested hold, or a lock past the class cap).
    @inlinable
    static func extend(_ key: UInt64, by entry: lv_held_lock) -> UInt64 {
        guard entry.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED) == 0 else { return key }
        return extend(key, with: element(classID: entry.lock_class, flags: entry.flags))
    }

    /// Whether the chain `key` was validated.
    @inlinable @inline(__always)
    static func contains(_ key: UInt64) -> Bool {
        let table = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: currentTable.load(ordering: .acquiring))!
        let mask = Int(truncatingIfNeeded: table.pointee.load(ordering: .relaxed))
        var index = Int(truncatingIfNeeded: key) & mask
        while true {
            let slot = (table + 1 + index).pointee.load(ordering: .relaxed)
            if slot == key { return true }
            if slot == 0 { return false }
            index = (index &+ 1) & mask
        }
    }

    /// Adds a validated chain. The caller holds the graph lock.
    static func insert(_ key: UInt64) {
        var table = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: currentTable.load(ordering: .relaxed))!
        var capacity = Int(truncatingIfNeeded: table.pointee.load(ordering: .relaxed)) + 1
        let count = count.load(ordering: .relaxed)
        if (count + 1) * 2 > capacity {
            let larger = makeTable(capacity: capacity * 2)
            for index in 0..<capacity {
                let slot = (table + 1 + index).pointee.load(ordering: .relaxed)
                if slot != 0 { place(slot, in: larger) }
            }
            currentTable.store(UInt(bitPattern: larger), ordering: .releasing)
            table = larger
            capacity *= 2
        }
        if place(key, in: table) { Self.count.store(count + 1, ordering: .relaxed) }
    }

    /// Forgets every chain, emptying the current table in place (a reader may be probing it, so it is
    /// never freed). The caller holds the graph lock.
    static func removeAll() {
        let table = UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: currentTable.load(ordering: .relaxed))!
        let capacity = Int(truncatingIfNeeded: table.pointee.load(ordering: .relaxed)) + 1
        for index in 1...capacity { (table + index).pointee.store(0, ordering: .relaxed) }
        count.store(0, ordering: .relaxed)
    }

    /// The current table's address, for tests: a reset keeps it.
    static var tableAddress: UInt { currentTable.load(ordering: .relaxed) }

    /// The number of chains validated.
    static var chainCount: Int { count.load(ordering: .relaxed) }

    // MARK: Storage

    private static let initialCapacity = 1 << 12

    /// Chains in the current table; written under the graph lock (an atomic only so that reading it
    /// needs no exclusivity check).
    private static let count = Atomic<Int>(0)

    /// Slot 0 holds the mask (capacity - 1); slots 1... hold keys.
    private static func makeTable(capacity: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let table = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: capacity + 1)
        table.initialize(to: Atomic(UInt64(capacity - 1)))
        for index in 1...capacity { (table + index).initialize(to: Atomic(0)) }
        return table
    }

    @discardableResult
    private static func place(_ key: UInt64, in table: UnsafeMutablePointer<Atomic<UInt64>>) -> Bool {
        let mask = Int(truncatingIfNeeded: table.pointee.load(ordering: .relaxed))
        var index = Int(truncatingIfNeeded: key) & mask
        while true {
            let slot = (table + 1 + index).pointee.load(ordering: .relaxed)
            if slot == key { return false }
            if slot == 0 {
                (table + 1 + index).pointee.store(key, ordering: .relaxed)
                return true
            }
            index = (index &+ 1) & mask
        }
    }

    @usableFromInline
    static let currentTable = Atomic<UInt>(UInt(bitPattern: makeTable(capacity: initialCapacity)))
}
