import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The set of lock chains already validated, lockdep's chain hash: a chain is the ordered list of
/// lock classes a thread holds, summarized by a 64-bit key. A thread that acquires a lock and finds
/// the resulting chain here has nothing new to teach the graph, so the hot path does one hash probe:
/// no graph walk, no global lock, no allocation.
///
/// Lookups are lock-free. Inserts happen only on the slow path, serialized by the graph lock; a table
/// that fills past half is replaced by one twice the size, published with a release store.
///
/// It is a cache, bounded: the largest table (`capacityBound` slots, 1 MB) fills to three quarters,
/// 98,304 chains, and is then emptied in place, as a reset empties it (lockdep bounds its chains at
/// 65,536, and stops validating past them). A chain no longer in it is a miss, and the slow path
/// validates it again under the graph lock, finds its edges known and caches it again: past that many
/// chains a program pays the slow path once per chain per emptying, and its graph's memory stays the
/// graph's (at 2.1 million chains the table had been 32 MB; a 4 MB bound cost a graph of 200,000
/// orders 3 MB more than this one).
///
/// A replaced table's memory is given back at once, with no grace period, and no reader can be hurt:
/// tables are mappings of their own, and a replaced one is emptied with `madvise(MADV_DONTNEED)`, which
/// frees its pages but keeps the addresses mapped, reading as zeros from then on. A reader that loaded
/// the old pointer before the swap and probes it late reads either keys it held (validated chains, still
/// true) or zeros: an empty slot, a miss, so the acquire takes the slow path, which validates under the
/// graph lock against the current table and finds the chain there. Neither an epoch nor hazard pointers
/// would do that without a store on every lookup of the hot path; waiting for readers to drain ("free on
/// a later resize") cannot know that a reader preempted in the middle of a probe has left. The cost is
/// address space only: the replaced tables' ranges stay reserved (less than the current table's, as the
/// sizes double), not their memory.
@usableFromInline
enum ChainCache {
    /// Extends `key` (the chain below) by `classID`; never 0, which marks an empty slot. C's, which the
    /// interposer's fast path shares.
    @inlinable
    static func extend(_ key: UInt64, with classID: UInt32) -> UInt64 { lv_chain_extend(key, classID) }

    /// `key` extended by `element`, with the thread's `seed` mixed into an outermost hold's key (one whose
    /// chain below is empty), as the C fast path does: each thread and happens-before epoch validates a
    /// chain once (`HappensBefore`).
    @inlinable
    static func extend(_ key: UInt64, with element: UInt32, seed: UInt64) -> UInt64 {
        lv_chain_extend(key, element) ^ (key == 0 ? seed : 0)
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
    static func extend(_ key: UInt64, by entry: lv_held_lock, seed: UInt64) -> UInt64 {
        guard entry.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED) == 0 else { return key }
        return extend(key, with: element(classID: entry.lock_class, flags: entry.flags), seed: seed)
    }

    /// Whether the chain `key` was validated.
    @inlinable @inline(__always)
    static func contains(_ key: UInt64) -> Bool { lv_chain_contains(key) != 0 }

    /// Adds a validated chain. The caller holds the graph lock.
    static func insert(_ key: UInt64) {
        var table = currentTable ?? publish(makeTable(capacity: initialCapacity))
        var capacity = Int(truncatingIfNeeded: table.pointee.load(ordering: .relaxed)) + 1
        let count = count.load(ordering: .relaxed)
        // The largest table fills to three quarters, smaller ones to half: a fuller table costs a miss (a
        // new chain, the slow path) more probes, and the small tables of most programs keep their short
        // probes.
        let bound = capacityBound.load(ordering: .relaxed)
        let limit = capacity < bound ? capacity / 2 : capacity / 4 * 3
        if count + 1 > limit && capacity >= bound {
            // The largest table, full: emptied in place (a reader may be probing it), its pages given back.
            empty(table, capacity: capacity)
            emptied.add(1, ordering: .relaxed)
            place(key, in: table)
            Self.count.store(1, ordering: .relaxed)
            validated.add(1, ordering: .relaxed)
            return
        }
        if count + 1 > limit {
            let larger = makeTable(capacity: capacity * 2)
            for index in 0..<capacity {
                let slot = (table + 1 + index).pointee.load(ordering: .relaxed)
                if slot != 0 { place(slot, in: larger) }
            }
            let replaced = table
            table = publish(larger)
            release(replaced, capacity: capacity)
            capacity *= 2
        }
        if place(key, in: table) {
            Self.count.store(count + 1, ordering: .relaxed)
            validated.add(1, ordering: .relaxed)
        }
    }

    /// Forgets every chain, as ``revalidateAll()`` does, and the counts of chains validated and of times
    /// emptied (a reset: `LockOrder.reset()`). The caller holds the graph lock.
    static func removeAll() {
        revalidateAll()
        emptied.store(0, ordering: .relaxed)
        validated.store(0, ordering: .relaxed)
    }

    /// Empties the current table in place, keeping the counts of chains validated and of times emptied:
    /// when a cycle is reported, so that the chains already cached that take its orders are validated
    /// again (and then never cached), and every scope that takes them is told (`LockOrder.validateNewChain`).
    /// The caller holds the graph lock.
    static func revalidateAll() {
        guard let table = currentTable else { return }
        empty(table, capacity: Int(truncatingIfNeeded: table.pointee.load(ordering: .relaxed)) + 1)
    }

    /// The current table's address, for tests: a reset keeps it.
    static var tableAddress: UInt { UInt(bitPattern: currentTable) }

    /// The number of chains in the cache: those validated since it was last emptied.
    static var chainCount: Int { count.load(ordering: .relaxed) }

    /// The number of chains validated since the last reset: a chain validated again after the largest
    /// table was emptied counts again.
    static var validatedCount: Int { validated.load(ordering: .relaxed) }

    /// How many times the full largest table was emptied since the last reset.
    static var timesEmptied: Int { emptied.load(ordering: .relaxed) }

    // MARK: Storage

    private static let initialCapacity = 1 << 12
    /// The largest table's slots: it fills to three quarters, then is emptied. Tests lower it.
    static let capacityBound = Atomic<Int>(1 << 17)
    private static let emptied = Atomic<Int>(0)
    private static let validated = Atomic<Int>(0)

    /// Chains in the current table; written under the graph lock (an atomic only so that reading it
    /// needs no exclusivity check).
    private static let count = Atomic<Int>(0)

    /// Slot 0 holds the mask (capacity - 1); slots 1... hold keys. A mapping of its own (see the type's
    /// comment), zeros as the kernel gives it: only the pages keys land in become resident.
    private static func makeTable(capacity: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let mapped = mmap(
            nil, byteCount(capacity: capacity), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { fatalError("LockValidator: no memory for the chain cache") }
        let table = mapped.bindMemory(to: Atomic<UInt64>.self, capacity: capacity + 1)
        table.pointee.store(UInt64(capacity - 1), ordering: .relaxed)
        return table
    }

    /// A table's mapping, in whole pages.
    private static func byteCount(capacity: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return ((capacity + 1) * MemoryLayout<UInt64>.stride + page - 1) / page * page
    }

    /// Gives `table`'s pages back, keeping its addresses: a late reader reads zeros, a miss.
    private static func release(_ table: UnsafeMutablePointer<Atomic<UInt64>>, capacity: Int) {
        _ = madvise(UnsafeMutableRawPointer(table), byteCount(capacity: capacity), Int32(MADV_DONTNEED))
    }

    /// Empties `table` in place (a reader may be probing it, so it stays mapped): its pages are given back,
    /// its mask written again, and the count of chains in it is zero.
    private static func empty(_ table: UnsafeMutablePointer<Atomic<UInt64>>, capacity: Int) {
        release(table, capacity: capacity)
        table.pointee.store(UInt64(capacity - 1), ordering: .relaxed)
        count.store(0, ordering: .relaxed)
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

    /// The current table (C's `lv_chain_table`, which the interposer's fast path probes too); nil until the
    /// first chain is validated. Written under the graph lock.
    private static var currentTable: UnsafeMutablePointer<Atomic<UInt64>>? {
        UnsafeMutableRawPointer(lv_chain_table_current()).map { $0.assumingMemoryBound(to: Atomic<UInt64>.self) }
    }

    /// Makes `table` the current table, with a release store: a reader sees it filled.
    private static func publish(_ table: UnsafeMutablePointer<Atomic<UInt64>>) -> UnsafeMutablePointer<Atomic<UInt64>> {
        lv_chain_table_publish(UnsafeMutableRawPointer(table).assumingMemoryBound(to: UInt64.self))
        return table
    }
}
