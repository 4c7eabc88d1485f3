import Testing

@testable import LockValidator

/// An edge record packs the head's site, the IRQL, the read hold and the source (instances or a learned
/// order's origin) into five words: each field reads back what was given, whatever the others hold.
@Suite struct EdgeRecordTests {
    @Test func isTwentyBytes() {
        #expect(MemoryLayout<LockOrder.EdgeRecord>.stride == 20)
    }

    @Test func aProcessEdgeReadsBackItsFields() {
        let record = LockOrder.EdgeRecord(
            fromSite: 7, toSite: (1 << 26) - 1, thread: .max, stack: 3, instances: (1 << 31) - 1, irql: .high,
            heldShared: true)
        #expect(record.fromSite == 7 && record.toSite == (1 << 26) - 1 && record.thread == .max && record.stack == 3)
        #expect(record.instances == (1 << 31) - 1 && record.origin == 0)
        #expect(record.irql == .high && record.heldShared)
    }

    @Test func aLearnedOrderReadsBackItsOriginAndNoInstances() {
        let record = LockOrder.EdgeRecord(
            fromSite: 0, toSite: 0, thread: 1, stack: 0, origin: 5, irql: .dispatch, heldShared: false)
        #expect(record.origin == 5 && record.instances == 0)
        #expect(record.irql == .dispatch && !record.heldShared && record.toSite == 0)
    }
}
