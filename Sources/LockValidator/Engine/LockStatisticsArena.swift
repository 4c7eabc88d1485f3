import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where the lock_stat lines live (``LockStatisticsBlock``): one per (thread, lock class) that the thread
/// held, in 64 KB chunks, each a record per line (its thread and its class) and then the lines, one cache
/// line each. A line's record is found from the line's address (the chunk is aligned to its size); freed
/// lines are reused. lockdep keeps lock_stat per class (per CPU); so do these lines (per thread, written by
/// it alone, with no read-modify-write): a lock instance costs no statistics, so a server's lock per
/// connection is its own state alone. A release finds its line in its held entry (kept there by the
/// thread's last release at that depth), else in the thread's table (`lv_stat_line`), whose lines the arena
/// hands out without an index of its own (``newLine(ofThread:classID:)``); a class it never held, here.
///
/// The arena also counts each class's locks alive (`neverHadTwoAlive`, which the verdicts read), and keeps
/// apart the instances freed while held (`ifAlive`). A report adds the lines up by class in one pass, with
/// the exited threads' counters, folded into their classes' totals when each exited. Everything here takes
/// the arena's lock: a lock's creation and destruction, a thread's first hold of a class and its exit.
@usableFromInline
enum LockStatisticsArena {
    static let chunkBytes = 1 << 16
    /// Records start after a line of nothing (the chunk's start is the base of the address arithmetic),
    /// 16 bytes each; lines start on the line after the last record.
    static let recordsOffset = 64
    static let blocksPerChunk = 818
    static let blocksOffset = 13_184

    /// A line's record: two words, its thread's serial (0 while the line is free) and its class id.
    struct Record {
        let words: UnsafeMutablePointer<Atomic<UInt64>>

        var thread: UInt64 { words.pointee.load(ordering: .relaxed) }
        var classID: UInt32 { UInt32(truncatingIfNeeded: (words + 1).pointee.load(ordering: .relaxed)) }

        func set(thread: UInt64, classID: UInt32) {
            words.pointee.store(thread, ordering: .relaxed)
            (words + 1).pointee.store(UInt64(classID), ordering: .relaxed)
        }
    }

    /// The record of `block`.
    static func record(of block: LockStatisticsBlock) -> Record {
        let address = UInt(bitPattern: block.slots)
        let chunk = address & ~UInt(chunkBytes - 1)
        let index = (address &- chunk &- UInt(blocksOffset)) / 64
        return Record(words: UnsafeMutablePointer(bitPattern: chunk &+ UInt(recordsOffset) &+ index &* 16)!)
    }

    private static func block(_ index: Int, in chunk: UnsafeMutableRawPointer) -> LockStatisticsBlock {
        LockStatisticsBlock(slots: (chunk + blocksOffset + index * 64).assumingMemoryBound(to: Atomic<UInt64>.self))
    }

    private static func record(_ index: Int, in chunk: UnsafeMutableRawPointer) -> Record {
        Record(words: (chunk + recordsOffset + index * 16).assumingMemoryBound(to: Atomic<UInt64>.self))
    }

    private struct State {
        var chunks: [UnsafeMutableRawPointer] = []
        /// Free lines, each pointing to the next through its first slot.
        var free: UnsafeMutablePointer<Atomic<UInt64>>?
        /// Lines of the last chunk handed out at least once: the rest are taken in order, with no free list
        /// to build when a chunk is mapped.
        var carved = blocksPerChunk
        /// Each thread's lines by class id (the threads alive, and tests' owners).
        var linesByThread: [UInt64: [UInt32: LockStatisticsBlock]] = [:]
        /// Exited threads' and freed lines' counters, by class id; a class with none has no entry.
        var retired: [UInt32: LockStatisticsBlock.Counts] = [:]
        /// Lines in use, for tests.
        var live = 0
        /// By class id, its locks alive and the most ever alive at once (a cycle's gate must be a class
        /// that never had two locks alive): an array, 8 bytes a class (a dictionary took 32 at 100,000).
        var aliveByClass: [Alive] = []
        /// The same for class ids past `denseClassIDs` (none a registry gives out; tests make some).
        var aliveBySparseClass: [UInt32: Alive] = [:]
        /// Instances freed while a thread held them (a bug, reported): an exiting thread that still has
        /// them on its held stack must not release them. Every other freed instance was held by none.
        var freedWhileHeld: Set<UInt64> = []

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

    /// The line of thread `thread` (a serial; tests use numbers of their own) for class `classID`, made
    /// zeroed on first use.
    static func line(ofThread thread: UInt64, classID: UInt32) -> LockStatisticsBlock {
        state.withLock { state in
            if let block = state.linesByThread[thread]?[classID] { return block }
            let block = allocate(classID: classID, thread: thread, &state)
            state.linesByThread[thread, default: [:]][classID] = block
            return block
        }
    }

    /// A zeroed line of thread `thread` (a serial) for class `classID`, kept by the caller (the thread's
    /// table, `lv_stat_table_insert`) and freed by ``retireTable(of:)``: no dictionary on the way, which cost a
    /// thread's first hold of each class a thousand instructions.
    static func newLine(ofThread thread: UInt64, classID: UInt32) -> LockStatisticsBlock {
        state.withLock { allocate(classID: classID, thread: thread, &$0) }
    }

    /// Frees the lines in `thread`'s table (it is exiting), their counters added to their classes' totals.
    static func retireTable(of thread: UnsafeMutablePointer<lv_thread_state>) {
        guard let directory = thread.pointee.stat_directory else { return }
        state.withLock { state in
            for leafIndex in 0..<Int(LV_STAT_DIRECTORY_SIZE) {
                guard let leaf = directory[leafIndex] else { continue }
                for index in 0..<Int(LV_STAT_LEAF_SIZE) {
                    guard let line = leaf[index] else { continue }
                    free(LockStatisticsBlock(words: line), retiring: true, &state)
                }
            }
        }
    }

    /// A zeroed line of `thread` for class `classID` (0 for none), kept by the caller.
    private static func allocate(classID: UInt32, thread: UInt64, _ state: inout State) -> LockStatisticsBlock {
        let slots: UnsafeMutablePointer<Atomic<UInt64>>
        if let free = state.free {
            slots = free
            let next = slots.pointee.load(ordering: .relaxed)
            state.free = UnsafeMutablePointer(bitPattern: UInt(truncatingIfNeeded: next))
            for index in 0..<8 { (slots + index).pointee.store(0, ordering: .relaxed) }
        } else {
            // A line never handed out: the kernel's zeros.
            if state.carved == blocksPerChunk { addChunk(&state) }
            slots = block(state.carved, in: state.chunks.last!).slots
            state.carved += 1
        }
        let block = LockStatisticsBlock(slots: slots)
        record(of: block).set(thread: thread, classID: classID)
        state.live += 1
        return block
    }

    private static func addChunk(_ state: inout State) {
        state.chunks.append(mapChunk())
        // Zeros (the kernel's) are every record's and line's atomics at rest.
        state.chunks.last!.bindMemory(to: Atomic<UInt64>.self, capacity: chunkBytes / 8)
        state.carved = 0
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

    /// Frees `thread`'s lines (it exited, or a test is done with them); with `retiring`, their counters
    /// are first added to their classes' totals.
    static func freeLines(ofThread thread: UInt64, retiring: Bool) {
        state.withLock { state in
            guard let lines = state.linesByThread.removeValue(forKey: thread) else { return }
            for block in lines.values { free(block, retiring: retiring, &state) }
        }
    }

    private static func free(_ block: LockStatisticsBlock, retiring: Bool, _ state: inout State) {
        let record = record(of: block)
        if retiring && !block.isEmpty {
            state.retired[record.classID, default: LockStatisticsBlock.Counts()].add(block)
        }
        lv_stat_cold_free(block.words)
        record.set(thread: 0, classID: 0)
        block.slots.pointee.store(UInt64(UInt(bitPattern: state.free)), ordering: .relaxed)
        state.free = block.slots
        state.live -= 1
    }

    /// A lock of class `classID` was made.
    static func instanceMade(ofClass classID: UInt32) {
        state.withLock { state in
            state.updateAlive(ofClass: classID) { alive in
                alive.now += 1
                alive.peak = max(alive.peak, alive.now)
            }
        }
    }

    /// Lock `instance` of class `classID` is being freed; `held`: a thread holds it still (its owner word).
    static func instanceFreed(_ instance: UInt64, ofClass classID: UInt32, held: Bool) {
        state.withLock { state in
            state.updateAlive(ofClass: classID) { $0.now -= 1 }
            if held { state.freedWhileHeld.insert(instance) }
        }
    }

    /// Runs `body` for a lock `instance` on an exiting thread's held stack unless the lock was freed while
    /// held, keeping it alive meanwhile: a lock's deinit goes through ``instanceFreed(_:ofClass:held:)``,
    /// under the same lock, so it cannot finish while `body` runs. A lock freed while no thread held it is
    /// on no held stack: the thread that held it last released it.
    static func ifAlive(_ instance: UInt64, _ body: () -> Void) {
        state.withLock { state in
            guard instance != 0, !state.freedWhileHeld.contains(instance) else { return }
            body()
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

    /// Every class's counters, live threads' and exited ones', for the classes ever acquired, by class id.
    static var countsByClass: [UInt32: LockStatisticsBlock.Counts] {
        state.withLock { state in
            var counts = state.retired
            for chunk in state.chunks {
                for index in 0..<blocksPerChunk {
                    let record = record(index, in: chunk)
                    guard record.thread != 0, record.classID != 0 else { continue }
                    let block = block(index, in: chunk)
                    guard !block.isEmpty else { continue }
                    counts[record.classID, default: LockStatisticsBlock.Counts()].add(block)
                }
            }
            return counts.filter { $0.value.acquisitions != 0 }
        }
    }

    /// Zeroes every line's counters, and the exited threads'; every lock's next hold is its first again (a
    /// new generation), as when its counters were its own.
    static func resetAll() {
        lv_advance_generation()
        state.withLock { state in
            state.retired = [:]
            for chunk in state.chunks {
                for index in 0..<blocksPerChunk where record(index, in: chunk).thread != 0 {
                    block(index, in: chunk).reset()
                }
            }
        }
    }

    /// The lines kept for `thread`, for tests.
    static func lines(ofThread thread: UInt64) -> Int { state.withLock { $0.linesByThread[thread]?.count ?? 0 } }

    /// Lines in use, and bytes the arena holds (chunks), for tests and measurements.
    static var usage: (blocks: Int, bytes: Int) { state.withLock { ($0.live, $0.chunks.count * chunkBytes) } }
}
