import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where every lock instance's ``LockStatisticsBlock`` lives: 64 KB chunks, each a record per block (its
/// instance, its class and the device IRQLs it was held at) and then the blocks, one cache line each. A
/// block's record is found from the block's address (the chunk is aligned to its size), so a block needs
/// no pointer to it; freed blocks are reused, so a program that makes and frees a million locks keeps as
/// many blocks as it had locks alive at once.
///
/// The arena, not each class, knows the live instances: a report adds them up by class in one pass, and
/// a freed instance's counters are folded into its class's totals here. Allocation and freeing take the
/// arena's lock (a lock's creation and destruction, not its use).
@usableFromInline
enum LockStatisticsArena {
    // Computed, not stored: the acquire's fast path, inlined into other modules, reads them.
    @inlinable static var chunkBytes: Int { 1 << 16 }
    /// Records start after a line of nothing (the chunk's start is the base of the address arithmetic),
    /// 16 bytes each; blocks start on the line after the last record.
    @inlinable static var recordsOffset: Int { 64 }
    static let blocksPerChunk = 818
    @inlinable static var blocksOffset: Int { 13_184 }

    /// A block's record: two words, the instance serial (0 while the block is free) and the class id in
    /// the low half of the second, the device levels in its high half.
    struct Record {
        let words: UnsafeMutablePointer<Atomic<UInt64>>

        var instance: UInt64 { words.pointee.load(ordering: .relaxed) }
        var classID: UInt32 { UInt32(truncatingIfNeeded: (words + 1).pointee.load(ordering: .relaxed)) }

        /// The device levels, the high half of the second word as a 32-bit atomic of its own.
        var deviceLevels: UnsafeMutablePointer<Atomic<UInt32>> {
            UnsafeMutableRawPointer(words + 1).advanced(by: 4).assumingMemoryBound(to: Atomic<UInt32>.self)
        }

        func set(instance: UInt64, classID: UInt32) {
            words.pointee.store(instance, ordering: .relaxed)
            (words + 1).pointee.store(UInt64(classID), ordering: .relaxed)
        }
    }

    /// The record of `block`.
    static func record(of block: LockStatisticsBlock) -> Record { Record(words: recordWords(of: block.slots)) }

    /// The words of the record of the block at `slots`.
    @inlinable @inline(__always)
    static func recordWords(of slots: UnsafeMutablePointer<Atomic<UInt64>>) -> UnsafeMutablePointer<Atomic<UInt64>> {
        let address = UInt(bitPattern: slots)
        let chunk = address & ~UInt(chunkBytes - 1)
        let index = (address &- chunk &- UInt(blocksOffset)) / 64
        return UnsafeMutablePointer(bitPattern: chunk &+ UInt(recordsOffset) &+ index &* 16)!
    }

    /// The device levels of the block at `slots`: the high half of its record's second word.
    @inlinable @inline(__always)
    static func deviceLevelsWord(of slots: UnsafeMutablePointer<Atomic<UInt64>>)
        -> UnsafeMutablePointer<Atomic<UInt32>>
    {
        UnsafeMutableRawPointer(recordWords(of: slots) + 1).advanced(by: 4).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    private static func block(_ index: Int, in chunk: UnsafeMutableRawPointer) -> LockStatisticsBlock {
        LockStatisticsBlock(slots: (chunk + blocksOffset + index * 64).assumingMemoryBound(to: Atomic<UInt64>.self))
    }

    private static func record(_ index: Int, in chunk: UnsafeMutableRawPointer) -> Record {
        Record(words: (chunk + recordsOffset + index * 16).assumingMemoryBound(to: Atomic<UInt64>.self))
    }

    private struct State {
        var chunks: [UnsafeMutableRawPointer] = []
        /// Free blocks, each pointing to the next through its first slot.
        var free: UnsafeMutablePointer<Atomic<UInt64>>?
        /// Freed instances' counters, by class id; a class with none has no entry.
        var retired: [UInt32: LockStatisticsBlock.Counts] = [:]
        /// Blocks in use, for tests.
        var live = 0
        /// By class id, its blocks in use and the most ever in use at once (a cycle's gate must be a class
        /// that never had two locks alive): an array, 8 bytes a class (a dictionary took 32 at 100,000).
        var aliveByClass: [Alive] = []
        /// The same for class ids past `denseClassIDs` (none a registry gives out; tests make some).
        var aliveBySparseClass: [UInt32: Alive] = [:]

        mutating func updateAlive(ofClass classID: UInt32, _ update: (inout Alive) -> Void) {
            let index = Int(classID)
            let none = Alive(now: 0, peak: 0)
            guard index < denseClassIDs else { return update(&aliveBySparseClass[classID, default: none]) }
            if index >= aliveByClass.count {
                aliveByClass.append(contentsOf: repeatElement(none, count: index + 1 - aliveByClass.count))
            }
            update(&aliveByClass[index])
        }

        func alive(ofClass classID: UInt32) -> Alive {
            Int(classID) < aliveByClass.count
                ? aliveByClass[Int(classID)] : aliveBySparseClass[classID] ?? Alive(now: 0, peak: 0)
        }
    }

    private static let state = InternalLock(State())
    /// Class ids below this are kept in arrays by id: a registry numbers its classes from 1.
    static let denseClassIDs = 1 << 24

    /// A zeroed block for `instance` of class `classID` (0 for none).
    static func allocate(classID: UInt32, instance: UInt64) -> LockStatisticsBlock {
        state.withLock { state in
            if state.free == nil { addChunk(&state) }
            let slots = state.free!
            let next = slots.pointee.load(ordering: .relaxed)
            state.free = UnsafeMutablePointer(bitPattern: UInt(truncatingIfNeeded: next))
            for index in 0..<8 { (slots + index).pointee.store(0, ordering: .relaxed) }
            let block = LockStatisticsBlock(slots: slots)
            record(of: block).set(instance: instance, classID: classID)
            state.live += 1
            state.updateAlive(ofClass: classID) { alive in
                alive.now += 1
                alive.peak = max(alive.peak, alive.now)
            }
            return block
        }
    }

    private static func addChunk(_ state: inout State) {
        state.chunks.append(mapChunk())
        let chunk = state.chunks.last!
        // Zeros (the kernel's) are every record's and block's atomics at rest.
        chunk.bindMemory(to: Atomic<UInt64>.self, capacity: chunkBytes / 8)
        // Pushed last first, so that blocks are handed out in address order.
        for index in (0..<blocksPerChunk).reversed() {
            let slots = block(index, in: chunk).slots
            slots.pointee.store(UInt64(UInt(bitPattern: state.free)), ordering: .relaxed)
            state.free = slots
        }
    }

    /// A chunk aligned to its size: a mapping of twice the size, trimmed. Not `posix_memalign`, whose
    /// 128 KB request glibc maps whole, so that each chunk kept 64 KB more address space and a page or two
    /// more memory than it uses.
    private static func mapChunk() -> UnsafeMutableRawPointer {
        let mapped = mmap(nil, 2 * chunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { fatalError("LockValidator: no memory for lock statistics") }
        let start = UInt(bitPattern: mapped)
        let aligned = (start + UInt(chunkBytes) - 1) & ~UInt(chunkBytes - 1)
        if aligned > start { munmap(mapped, Int(aligned - start)) }
        let end = aligned + UInt(chunkBytes)
        let mappedEnd = start + UInt(2 * chunkBytes)
        if mappedEnd > end { munmap(UnsafeMutableRawPointer(bitPattern: end), Int(mappedEnd - end)) }
        return UnsafeMutableRawPointer(bitPattern: aligned)!
    }

    /// Frees `block`; with `retiring`, its counters are first added to its class's totals.
    static func free(_ block: LockStatisticsBlock, retiring: Bool) {
        state.withLock { state in
            let record = record(of: block)
            if retiring { state.retired[record.classID, default: LockStatisticsBlock.Counts()].add(block) }
            let classID = record.classID
            state.updateAlive(ofClass: classID) { $0.now -= 1 }
            lv_stat_cold_free(block.words)
            record.set(instance: 0, classID: 0)
            record.deviceLevels.pointee.store(0, ordering: .relaxed)
            block.slots.pointee.store(UInt64(UInt(bitPattern: state.free)), ordering: .relaxed)
            state.free = block.slots
            state.live -= 1
        }
    }

    /// Runs `body` if `instance` is alive, keeping it alive meanwhile: a lock's deinit frees its block
    /// under the same lock, so it cannot finish while `body` runs. A walk over every block: only a thread
    /// that exits holding locks asks.
    static func ifAlive(_ instance: UInt64, _ body: () -> Void) {
        state.withLock { state in
            guard instance != 0 else { return }
            for chunk in state.chunks {
                for index in 0..<blocksPerChunk where record(index, in: chunk).instance == instance {
                    body()
                    return
                }
            }
        }
    }

    /// A class's locks alive now, and the most alive at once since the first.
    struct Alive {
        var now: UInt32
        var peak: UInt32
    }

    /// Whether class `classID` never had two locks alive at once. Freed locks count as they were: a gate
    /// whose test has ended is still the one lock it was. (Two threads' first locks of one static mutex
    /// make an object each, and the loser's is freed at once: the verdicts know a static lock's class.)
    static func neverHadTwoAlive(ofClass classID: UInt32) -> Bool {
        state.withLock { $0.alive(ofClass: classID).peak <= 1 }
    }

    /// Every class's counters, live and freed instances', for the classes ever acquired, by class id.
    static var countsByClass: [UInt32: LockStatisticsBlock.Counts] {
        state.withLock { state in
            var counts = state.retired
            for chunk in state.chunks {
                for index in 0..<blocksPerChunk {
                    let record = record(index, in: chunk)
                    guard record.instance != 0, record.classID != 0 else { continue }
                    let block = block(index, in: chunk)
                    guard block.read(.acquisitions) != 0 else { continue }
                    counts[record.classID, default: LockStatisticsBlock.Counts()].add(block)
                }
            }
            return counts.filter { $0.value.acquisitions != 0 }
        }
    }

    /// Zeroes the counters of every instance, live or freed.
    static func resetAll() {
        state.withLock { state in
            state.retired = [:]
            for chunk in state.chunks {
                for index in 0..<blocksPerChunk where record(index, in: chunk).instance != 0 {
                    block(index, in: chunk).reset()
                }
            }
        }
    }

    /// Blocks in use, and bytes the arena holds (chunks), for tests and measurements.
    static var usage: (blocks: Int, bytes: Int) { state.withLock { ($0.live, $0.chunks.count * chunkBytes) } }
}
