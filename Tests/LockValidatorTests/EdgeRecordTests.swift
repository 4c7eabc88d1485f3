import Testing

@testable import LockValidator

/// An edge record packs the head's site, the IRQL, the read hold and the source (instances or a learned
/// order's origin) into four words, the thread and stack one interned number: each field reads back what
/// was given, whatever the others hold.
@Suite struct EdgeRecordTests {
    @Test func isSixteenBytes() {
        #expect(MemoryLayout<LockOrder.EdgeRecord>.stride == 16)
    }

    @Test func aProcessEdgeReadsBackItsFields() {
        let record = LockOrder.EdgeRecord(
            fromSite: 7, toSite: (1 << 26) - 1, context: .max, instances: (1 << 31) - 1, irql: .high,
            heldShared: true)
        #expect(record.fromSite == 7 && record.toSite == (1 << 26) - 1 && record.context == .max)
        #expect(record.instances == (1 << 31) - 1 && record.origin == 0)
        #expect(record.irql == .high && record.heldShared)
    }

    @Test func aLearnedOrderReadsBackItsOriginAndNoInstances() {
        let record = LockOrder.EdgeRecord(
            fromSite: 0, toSite: 0, context: 1, origin: 5, irql: .dispatch, heldShared: false)
        #expect(record.origin == 5 && record.instances == 0)
        #expect(record.irql == .dispatch && !record.heldShared && record.toSite == 0)
    }

    @Test func aThreadAndStackAreOneContextEachPairOnce() {
        var state = LockOrder.State()
        let first = state.context(thread: 1, stack: 3)
        #expect(state.context(thread: 1, stack: 3) == first)
        let otherStack = state.context(thread: 1, stack: 4)
        let otherThread = state.context(thread: 2, stack: 3)
        #expect(Set([first, otherStack, otherThread]).count == 3)
        // Asked again after others (not the last one asked): found in the table, not numbered again.
        #expect(state.context(thread: 1, stack: 3) == first && state.context(thread: 1, stack: 4) == otherStack)
        #expect(state.contexts.count == 3)
        let record = LockOrder.EdgeRecord(
            fromSite: 0, toSite: 0, context: otherThread, irql: .passive, heldShared: false)
        #expect(state.thread(of: record) == 2 && state.stack(of: record) == 3)
        // A learned order's thread (serials counted down from the top) with no stack.
        let learned = state.context(thread: .max, stack: 0)
        #expect(state.contexts[Int(learned)].thread == .max && state.contexts[Int(learned)].stack == 0)
        #expect(state.context(thread: .max, stack: 0) == learned)
    }
}
