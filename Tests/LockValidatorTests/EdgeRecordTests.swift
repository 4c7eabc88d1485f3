import Testing

@testable import LockValidator

/// An edge record packs the tail's site, the read hold, whether its first sighting was its making and the
/// source (instances or a learned order's origin) into three words, and what a chain's edges share (thread,
/// stack, head's site, IRQL, epoch) is one interned context: each field reads back what was given, whatever
/// the others hold.
@Suite struct EdgeRecordTests {
    @Test func isTwelveBytesKeptInEightAndItsContextSixteen() {
        #expect(MemoryLayout<LockOrder.EdgeRecord>.stride == 12)
        #expect(MemoryLayout<LockOrder.EdgeRecord.Stored>.stride == 8)
        #expect(MemoryLayout<LockOrder.EdgeContext>.stride == 16)
    }

    /// The graph keeps a record's source word apart, and only when it is not 0: each record reads back
    /// whole, with its own source, whichever of its neighbours have one.
    @Test func recordsReadBackWithTheirSourcesKeptApart() {
        var state = LockOrder.State()
        let sources: [(instances: UInt32, toSite: UInt32?)] = [(0, nil), (3, nil), (0, nil), (0, 0), (9, nil), (0, 7)]
        for (index, source) in sources.enumerated() {
            let record = LockOrder.EdgeRecord(
                fromSite: UInt32(index), context: UInt32(index * 2), instances: source.instances,
                learnedToSite: source.toSite, heldShared: index % 2 == 0)
            _ = state.insertEdge(from: UInt32(index + 1), to: UInt32(index + 20), record: record)
        }
        for (index, source) in sources.enumerated() {
            let record = state.record(index)
            #expect(record.fromSite == UInt32(index) && record.context == UInt32(index * 2))
            #expect(record.instances == source.instances && record.learnedToSite == source.toSite)
            #expect(record.heldShared == (index % 2 == 0) && state.records[index].isLearned == (source.toSite != nil))
            #expect(state.records[index].hasSource == (source.instances != 0 || source.toSite != nil))
        }
    }

    @Test func aProcessEdgeReadsBackItsFields() {
        let record = LockOrder.EdgeRecord(
            fromSite: (1 << 28) - 1, context: .max, instances: (1 << 31) - 1, heldShared: true)
        #expect(record.fromSite == (1 << 28) - 1 && record.context == .max)
        #expect(record.instances == (1 << 31) - 1 && !record.isLearned && record.learnedToSite == nil)
        #expect(record.heldShared && !record.firstSightedWhenMade)
        let sighted = record.sightedAsMade
        #expect(sighted.firstSightedWhenMade && sighted.heldShared && sighted.fromSite == (1 << 28) - 1)
        #expect(sighted.instances == (1 << 31) - 1 && sighted.context == .max)
        #expect(!sighted.unsighted.firstSightedWhenMade && sighted.unsighted.fromSite == record.fromSite)
    }

    @Test func aLearnedOrderReadsBackItsOriginAndNoInstances() {
        var state = LockOrder.State()
        // Its origin is its context's, in place of an epoch; its head site is its own.
        let context = state.context(LockOrder.EdgeContext(thread: .max, stack: 0, toSite: 0, irql: .passive, epoch: 5))
        let record = LockOrder.EdgeRecord(fromSite: 0, context: context, learnedToSite: 0, heldShared: false)
        #expect(record.isLearned && state.origin(of: record) == 5 && record.instances == 0 && record.learnedToSite == 0)
        let own = LockOrder.EdgeRecord(fromSite: 0, context: context, heldShared: false)
        #expect(!own.isLearned && state.origin(of: own) == 0)
        #expect(!record.heldShared && record.fromSite == 0 && !record.firstSightedWhenMade)
    }

    @Test func aContextReadsBackItsFields() {
        let context = LockOrder.EdgeContext(thread: 9, stack: 4, toSite: (1 << 26) - 1, irql: .high, epoch: .max)
        #expect(context.thread == 9 && context.stack == 4 && context.epoch == .max)
        #expect(context.toSite == (1 << 26) - 1 && context.irql == .high)
        let other = LockOrder.EdgeContext(thread: 9, stack: 4, toSite: 0, irql: .passive, epoch: 1)
        #expect(other.toSite == 0 && other.irql == .passive && other != context)
    }

    @Test func eachContextIsNumberedOnce() {
        var state = LockOrder.State()
        func context(_ thread: UInt32, _ stack: UInt32, site: UInt32 = 0, epoch: UInt32 = 1) -> LockOrder.EdgeContext {
            LockOrder.EdgeContext(thread: thread, stack: stack, toSite: site, irql: .passive, epoch: epoch)
        }
        let first = state.context(context(1, 3))
        #expect(state.context(context(1, 3)) == first)
        let numbers = [
            state.context(context(1, 4)), state.context(context(2, 3)), state.context(context(1, 3, site: 7)),
            state.context(context(1, 3, epoch: 2)),
        ]
        #expect(Set([first] + numbers).count == 5)
        // Asked again after others (not the last one asked): found in the table, not numbered again.
        #expect(state.context(context(1, 3)) == first && state.context(context(1, 4)) == numbers[0])
        #expect(state.contexts.count == 5)
        let record = LockOrder.EdgeRecord(fromSite: 0, context: numbers[1], heldShared: false)
        #expect(state.thread(of: record) == 2 && state.stack(of: record) == 3)
    }

    /// An edge first sighted as it is made reads its first sighting from its context; a copy of it (a
    /// recursive-readers node's) is not sighted until a thread takes it, and then keeps its own.
    @Test func aFirstSightingIsTheMakingsOrKeptApart() {
        var state = LockOrder.State()
        let made = state.context(LockOrder.EdgeContext(thread: 5, stack: 0, toSite: 0, irql: .passive, epoch: 3))
        let record = LockOrder.EdgeRecord(fromSite: 0, context: made, heldShared: false)
        _ = state.insertEdge(from: 1, to: 2, record: record.sightedAsMade)
        _ = state.insertEdge(from: 3, to: 2, record: record.sightedAsMade.unsighted)
        let first = state.firstSighting(of: 0)
        #expect(first.firstSerial == 5 && first.firstEpoch == 3)
        #expect(!state.firstSighting(of: 1).sighted)
        state.noteSighting(of: 1, HappensBefore.Occurrence(serial: 6, epoch: 2), held: nil)
        #expect(state.firstSighting(of: 1).firstSerial == 6 && state.firstSighting(of: 1).firstEpoch == 2)
        // Made by a thread with no clock (epoch 0): sighted, by no known thread.
        let untracked = state.context(LockOrder.EdgeContext(thread: 7, stack: 0, toSite: 0, irql: .passive, epoch: 0))
        let untrackedRecord = LockOrder.EdgeRecord(fromSite: 0, context: untracked, heldShared: false)
        _ = state.insertEdge(from: 4, to: 2, record: untrackedRecord.sightedAsMade)
        #expect(state.firstSighting(of: 2).sighted && state.firstSighting(of: 2).first == nil)
    }
}
