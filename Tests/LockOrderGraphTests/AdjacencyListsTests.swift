import Testing

@testable import _LockOrderGraph

/// The graph's adjacency lists against arrays: the same elements through growth, interleaved
/// appends, and the reuse of the chunks that grown lists leave behind.
@Suite struct AdjacencyListsTests {
    @Test func listsAnswerAsArraysDoThroughInterleavedGrowth() {
        var lists = AdjacencyLists()
        var handles = [AdjacencyLists.List](repeating: AdjacencyLists.List(), count: 50)
        var oracle = [[UInt32]](repeating: [], count: 50)
        var random = SystemRandomNumberGenerator()
        for element in 0..<20_000 {
            // Skewed: a few lists grow long (hubs), most stay short.
            let list = Int.random(in: 0..<50, using: &random) % (Bool.random(using: &random) ? 3 : 50)
            lists.append(UInt32(element), to: &handles[list])
            oracle[list].append(UInt32(element))
        }
        for list in handles.indices {
            #expect(lists.elements(of: handles[list]) == oracle[list])
            #expect(Int(handles[list].count) == oracle[list].count)
            if let last = oracle[list].last { #expect(lists[handles[list], oracle[list].count - 1] == last) }
        }
        #expect(lists.invariantViolations(lists: handles).isEmpty)
    }

    @Test func chunksLeftByGrownListsAreReused() {
        var lists = AdjacencyLists()
        // Many lists grown one after another to 16: each leaves chunks of 4, 6, 8 and 12, which the
        // next list takes instead of the array's end.
        var handles: [AdjacencyLists.List] = []
        for list in 0..<100 {
            var handle = AdjacencyLists.List()
            for element in 0..<16 { lists.append(UInt32(list * 16 + element), to: &handle) }
            handles.append(handle)
        }
        // 100 lists of 16, plus the chunks the last one left: without reuse, 100 × 46.
        #expect(lists.storageCount == 100 * 16 + 4 + 6 + 8 + 12)
        #expect(lists.invariantViolations(lists: handles).isEmpty)
        for (list, handle) in handles.enumerated() {
            #expect(lists.elements(of: handle) == (0..<16).map { UInt32(list * 16 + $0) })
        }
    }

    /// A list's room grows by half or a third, never doubling: over two thirds of it is used once it
    /// has grown past four.
    @Test func roomsGrowThroughPowersOfTwoAndThreeQuartersOfThem() {
        let rooms = (1...100).map { AdjacencyLists.room(for: UInt32($0)) }
        #expect(Array(Set(rooms)).sorted() == [4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128])
        for count in 5...100_000 {
            let room = AdjacencyLists.room(for: UInt32(count))
            #expect(room >= count && count * 3 > room * 2, "\(count) elements in a room of \(room)")
        }
    }

    @Test func theInvariantCheckFindsListsThatShareElements() {
        var lists = AdjacencyLists()
        var first = AdjacencyLists.List()
        lists.append(1, to: &first)
        // The same list twice is two lists in one chunk.
        #expect(!lists.invariantViolations(lists: [first, first]).isEmpty)
        #expect(lists.invariantViolations(lists: [first]).isEmpty)
    }

    @Test func anEmptyListHasNoElements() {
        let lists = AdjacencyLists()
        #expect(lists.elements(of: AdjacencyLists.List()).isEmpty)
        #expect(lists.invariantViolations(lists: [AdjacencyLists.List()]).isEmpty)
    }
}
