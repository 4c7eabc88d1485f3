/// The lock-order graph's adjacency lists, all in one array of node ids. A list is its offset and
/// length in that array, eight bytes in its node's record: a list's end is known from the record
/// alone, with no array header to fetch first, and reading or growing a list retains nothing (a
/// Swift array per list cost a new edge four atomic reference-count updates on cold headers).
///
/// A list's room is a power of two, at least four elements, and grows by doubling. Room comes from
/// the chunks that lists left behind when they grew, one free list per size, or else from the end
/// of the array; so the array stays within about twice the elements the lists hold.
struct AdjacencyLists: Sendable {
    /// One list: where its elements start in the array and how many there are.
    struct List: Sendable {
        fileprivate(set) var offset: UInt32 = 0
        fileprivate(set) var count: UInt32 = 0
    }

    private var storage: [UInt32] = []
    /// The first free chunk of each size 2^k, by k (`noChunk`: none); a free chunk's first element
    /// is the next free chunk of its size.
    private var freeChunks = [UInt32](repeating: Self.noChunk, count: 32)
    private static let noChunk = UInt32.max

    /// The room a list of `count` elements has: the power of two at or above it, at least four.
    private static func room(for count: UInt32) -> UInt32 {
        count <= 4 ? 4 : 1 << (32 - (count - 1).leadingZeroBitCount)
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
            if list.count > 0 { freeChunk(at: list.offset, room: list.count) }
            list.offset = moved
        }
        storage[Int(list.offset + list.count)] = element
        list.count += 1
    }

    private mutating func takeChunk(room: UInt32) -> UInt32 {
        let size = room.trailingZeroBitCount
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
        let size = room.trailingZeroBitCount
        storage[Int(offset)] = freeChunks[size]
        freeChunks[size] = offset
    }

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
                claim(chunk, room: 1 << size, as: lists.count + size)
                chunk = Int(chunk) < storage.count ? storage[Int(chunk)] : Self.noChunk
                seen += 1
            }
        }
        return problems
    }
}
