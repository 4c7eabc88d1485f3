/// The lock-order graph's adjacency lists, all in one array of node ids. A list is its offset and
/// length in that array, eight bytes in its node's record: a list's end is known from the record
/// alone, with no array header to fetch first, and reading or growing a list retains nothing (a
/// Swift array per list cost a new edge four atomic reference-count updates on cold headers).
///
/// A list's room is at least four elements and grows by half or a third, through the sizes 4, 6, 8, 12,
/// 16, 24, … (a power of two, or three quarters of one): a list fills over two thirds of its room, not
/// a half as with doubling. Room comes from the chunks that lists left behind when they grew, one free
/// list per size, or else from the end of the array.
///
/// Chunks of the small sizes pile up when many lists grow at once (a fifth to a quarter of the array at
/// 100,000 nodes of 40 edges), and no list takes them again: when the array grows while free chunks hold
/// a fifth of it, the graph has the lists moved into a fresh array, packed (`compact(_:)`), a copy of the
/// array as a Swift array's growth made, at most once per 1/8 of growth.
struct AdjacencyLists: Sendable {
    /// One list: where its elements start in the array and how many there are.
    struct List: Sendable {
        fileprivate(set) var offset: UInt32 = 0
        fileprivate(set) var count: UInt32 = 0
    }

    private var storage = MappedBuffer<UInt32>()
    /// The first free chunk of each size, by its number in `size(of:)` (`noChunk`: none); a free
    /// chunk's first element is the next free chunk of its size.
    private var freeChunks = [UInt32](repeating: Self.noChunk, count: 64)
    private static let noChunk = UInt32.max
    /// The elements in free chunks.
    private var freeElements = 0
    /// The array's size after the last compaction.
    private var compactedCount = 0
    /// Free chunks hold a fifth of the array, which grew since the last compaction: `compact(_:)` is due.
    private(set) var compactionDue = false
    /// Below this many elements no compaction is due: a small graph's free chunks are a few kilobytes.
    static let compactionMinimum = 4_096

    /// The room a list of `count` elements has: the smallest size at or above it, at least four.
    static func room(for count: UInt32) -> UInt32 {
        guard count > 4 else { return 4 }
        let power: UInt32 = 1 << (32 - (count - 1).leadingZeroBitCount)
        return count <= power / 4 * 3 ? power / 4 * 3 : power
    }

    /// The number of a size, a free list's: 4 is 0, 6 is 1, 8 is 2, 12 is 3, …
    private static func size(of room: UInt32) -> Int {
        // 2^k is 2(k - 2), three quarters of it one less.
        let power = 32 - (room - 1).leadingZeroBitCount
        return room & (room - 1) == 0 ? 2 * (power - 2) : 2 * (power - 2) - 1
    }

    /// The element at `index` of `list`.
    subscript(list: List, index: Int) -> UInt32 { storage[Int(list.offset) + index] }

    /// The elements of `list`, copied out.
    func elements(of list: List) -> [UInt32] {
        Array(storage[Int(list.offset)..<Int(list.offset + list.count)])
    }

    /// Where `list`'s next element goes, for prefetching it before an append.
    func endAddress(of list: List) -> UInt {
        UInt(bitPattern: storage.base) &+ UInt(list.offset + list.count) &* 4
    }

    /// Appends `element` to `list`, moving the list to a chunk twice its room when it is full.
    mutating func append(_ element: UInt32, to list: inout List) {
        if list.count == 0 || list.count == Self.room(for: list.count) {
            let moved = takeChunk(room: Self.room(for: list.count + 1))
            for index in 0..<Int(list.count) {
                storage[Int(moved) + index] = storage[Int(list.offset) + index]
            }
            if list.count > 0 { freeChunk(at: list.offset, room: list.count) }  // full: its count is its room
            list.offset = moved
        }
        storage[Int(list.offset + list.count)] = element
        list.count += 1
    }

    private mutating func takeChunk(room: UInt32) -> UInt32 {
        let size = Self.size(of: room)
        let free = freeChunks[size]
        if free != Self.noChunk {
            freeChunks[size] = storage[Int(free)]
            freeElements -= Int(room)
            return free
        }
        let offset = UInt32(storage.count)
        if freeElements > storage.count / 5 && storage.count >= Self.compactionMinimum
            && storage.count >= compactedCount + compactedCount / 8
        {
            compactionDue = true
        }
        storage.append(repeating: 0, count: Int(room))
        return offset
    }

    private mutating func freeChunk(at offset: UInt32, room: UInt32) {
        let size = Self.size(of: room)
        storage[Int(offset)] = freeChunks[size]
        freeChunks[size] = offset
        freeElements += Int(room)
    }

    /// Moves every list in use into a fresh array, each into a chunk of its room, one after another, and
    /// forgets the free chunks. `eachList` hands each list in use (every one, or a list is lost) to the
    /// closure it is given, which moves it.
    mutating func compact(_ eachList: ((inout List) -> Void) -> Void) {
        var packed = MappedBuffer<UInt32>()
        packed.reserveCapacity(storage.count - freeElements)
        eachList { list in
            guard list.count > 0 else { return }
            let offset = UInt32(packed.count)
            for index in 0..<Int(list.count) { packed.append(storage[Int(list.offset) + index]) }
            packed.append(repeating: 0, count: Int(Self.room(for: list.count) - list.count))
            list.offset = offset
        }
        storage = packed
        for size in freeChunks.indices { freeChunks[size] = Self.noChunk }
        (freeElements, compactedCount, compactionDue) = (0, storage.count, false)
    }

    /// Each size by its number (`size(of:)`), for the invariant check.
    private static let rooms: [UInt32] = (0..<64).map { $0 % 2 == 0 ? 4 << ($0 / 2) : 6 << ($0 / 2) }

    /// The number of elements the array has room for, in lists and free chunks.
    var storageCount: Int { storage.count }

    /// Violations of the lists' invariants, given every list in use: empty when sound. Each list and
    /// each free chunk lies inside the array and no two of them share an element.
    func invariantViolations(lists: [List]) -> [String] {
        var owner = [Int](repeating: -1, count: storage.count)
        var problems: [String] = []
        func claim(_ offset: UInt32, room: UInt32, as name: Int) {
            guard Int(offset) + Int(room) <= storage.count else {
                problems.append("chunk at \(offset) of room \(room) runs past the array's \(storage.count)")
                return
            }
            for index in Int(offset)..<Int(offset + room) {
                if owner[index] >= 0 { problems.append("element \(index) is in two chunks") }
                owner[index] = name
            }
        }
        for (number, list) in lists.enumerated() where list.count > 0 {
            claim(list.offset, room: Self.room(for: list.count), as: number)
        }
        for size in freeChunks.indices {
            var chunk = freeChunks[size]
            var seen = 0
            while chunk != Self.noChunk, problems.isEmpty, seen <= storage.count {
                claim(chunk, room: Self.rooms[size], as: lists.count + size)
                chunk = Int(chunk) < storage.count ? storage[Int(chunk)] : Self.noChunk
                seen += 1
            }
        }
        return problems
    }
}
