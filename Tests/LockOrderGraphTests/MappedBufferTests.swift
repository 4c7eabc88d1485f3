import Testing

@testable import _LockOrderGraph

/// The graph's tables' buffer against an `Array`: the same contents through growth from `malloc`'s room
/// into a mapping and through many `mremap`s, copies that stay apart, and small buffers that map nothing.
@Suite struct MappedBufferTests {
    @Test func itKeepsItsContentsThroughManyGrowths() {
        var buffer = MappedBuffer<UInt64>()
        var oracle: [UInt64] = []
        var sawHeap = false
        var capacities: Set<Int> = []
        for value in 0..<UInt64(300_000) {
            let element = value &* 0x9E37_79B9_7F4A_7C15
            buffer.append(element)
            oracle.append(element)
            if !buffer.isMapped { sawHeap = true }
            capacities.insert(buffer.capacity)
        }
        #expect(sawHeap && buffer.isMapped)
        #expect(capacities.count > 10)  // grown many times, past the threshold
        #expect(Array(buffer) == oracle)
        #expect(buffer.invariantViolations().isEmpty)
    }

    @Test func aSmallBufferMapsNothing() {
        var buffer: MappedBuffer<UInt32> = [1, 2, 3]
        buffer.append(repeating: 7, count: 100)
        #expect(!buffer.isMapped)
        #expect(Array(buffer) == [1, 2, 3] + Array(repeating: 7, count: 100))
        let empty = MappedBuffer<UInt32>()
        #expect(empty.isEmpty && empty.capacity == 0 && empty.invariantViolations().isEmpty)
        #expect(buffer.invariantViolations().isEmpty)
    }

    @Test func aZeroedBufferIsZeroAtEverySize() {
        for count in [1, 100, 16_384, 1 << 20] {
            let buffer = MappedBuffer<UInt32>(zeroed: count)
            #expect(buffer.count == count)
            #expect(buffer.allSatisfy { $0 == 0 })
            #expect(buffer.isMapped == (count * 4 >= 64 << 10))
            #expect(buffer.invariantViolations().isEmpty)
        }
    }

    @Test func aCopyThatGrowsTakesARoomOfItsOwn() {
        var original = MappedBuffer<UInt32>(zeroed: 102_400)  // 100 pages: full
        var copy = original
        copy[5] = 6  // shared: the graph never copies its tables, and its writes check nothing
        #expect(original[5] == 6)
        copy.append(1)  // full: the copy grows into a room of its own; the original keeps its room mapped
        copy[7] = 7
        original[8] = 8
        #expect(original.count == 102_400 && original[7] == 0 && original[5] == 6)
        #expect(copy.count == 102_401 && copy[7] == 7 && copy[8] == 0 && copy[5] == 6 && copy[102_400] == 1)
        let kept = copy
        copy.reserveCapacity(1_000_000)
        copy[9] = 9
        #expect(kept[9] == 0 && copy[9] == 9 && copy.capacity >= 1_000_000 && kept.count == 102_401)
        #expect(original.invariantViolations().isEmpty && copy.invariantViolations().isEmpty)
        #expect(kept.invariantViolations().isEmpty)
    }

    @Test func aReserveKeepsTheContentsAndGrowsNoMore() {
        var buffer: MappedBuffer<UInt64> = [9, 8]
        buffer.reserveCapacity(50_000)
        let capacity = buffer.capacity
        #expect(capacity >= 50_000 && buffer.isMapped)
        for value in 0..<UInt64(49_998) { buffer.append(value) }
        #expect(buffer.capacity == capacity)
        #expect(buffer[0] == 9 && buffer[1] == 8 && buffer[49_999] == 49_997)
        #expect(buffer.invariantViolations().isEmpty)
    }

    @Test func theInvariantCheckFindsABrokenBuffer() {
        var buffer: MappedBuffer<UInt32> = [1, 2]
        #expect(buffer.invariantViolations().isEmpty)
        let base = buffer.base
        buffer.base += 1  // the elements no longer where the room is
        #expect(buffer.invariantViolations() == ["the elements are not at the room's address"])
        buffer.base = base
    }
}
