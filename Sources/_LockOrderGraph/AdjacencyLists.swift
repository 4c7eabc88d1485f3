/// The lock-order graph's adjacency lists, all in one array of node ids. A list is its offset and
/// length in that array, eight bytes in its node's record: a list's end is known from the record
/// alone, with no array header to fetch first, and reading or growing a list retains nothing (a
/// Swift array per list cost a new edge four atomic reference-count updates on cold headers).
///
/// A list's room is at least four elements and grows by half or a third, through the sizes 4, 6, 8, 12,
/// 16, 24, … (a power of two, or three quarters of one): a list fills over two thirds of its room, not
/// a half as with doubling. Room comes from the chunks that lists left behind when they grew, one free
/// list per size, or else from the end of the array.
struct AdjacencyLists: Sendable {
    /// One list: where its elements start in the array and how many there are.
    struct List: Sendable {
        fileprivate(set) var offset: UInt32 = 0
        fileprivate(set) var count: UInt32 = 0
    }

    private var storage: [UInt32] = []
    /// The first free chunk of each size, by its number in `size(of:)` (`noChunk`: none); a free
    /// chunk's first element is the next free chunk of its size.
    private var freeChunks = [UInt32](repeating: Self.noChunk, count: 64)
    private static let noChunk = UInt32.max

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
        storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } &+ UInt(list.offset + list.count) &* 4
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
            return free
        }
        let offset = UInt32(storage.count)
        storage.append(contentsOf: repeatElement(0, count: Int(room)))
        return offset
    }

    private mutating func freeChunk(at offset: UInt32, room: UInt32) {
        let size = Self.size(of: room)
        storage[Int(offset)] = freeChunks[size]
        freeChunks[size] = offset
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
