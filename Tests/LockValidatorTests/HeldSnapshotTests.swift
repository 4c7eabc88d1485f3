import Testing
import _LockValidatorShims

@testable import LockValidator

/// The (TSC, CPU time, page faults) snapshot each hold began under, which the hold-time check nets
/// preemption out with. An acquire copies nothing: a hold uses the thread's snapshot until the thread
/// replaces it, and then the entries that began under the old one keep it (`snapshot_own_below`).
@Suite struct HeldSnapshotTests {
    /// A thread state of the test's own, whose holds the test stamps with snapshots it numbers.
    final class Thread: TestThreadState {
        /// Pushes a hold of `instance`; with `snapshot`, its acquire refreshes the thread's snapshot to it.
        func hold(_ instance: UInt64, snapshot number: UInt64? = nil) {
            push(instance)
            if let number { snapshot(number, beginningHoldAt: thread.depth - 1) }
        }

        /// Replaces the thread's snapshot with `number` (its TSC, CPU time and faults all `number`), as the
        /// hold at `index` begins.
        func snapshot(_ number: UInt64, beginningHoldAt index: Int) {
            thread.replaceSnapshot(
                tsc: number, cpuNanoseconds: number,
                usage: lv_thread_usage(
                    faults: UInt32(number), major_faults: 0, involuntary_switches: 0, reserved: 0, system_ns: 0),
                beginning: thread.held(index))
        }

        /// The snapshot (TSC) the hold at `index` began under.
        func snapshotOfHold(at index: Int) -> UInt64 {
            let entry = thread.heldWithSnapshot(thread.held(index).pointee, at: index)
            #expect(entry.snapshot_cpu_ns == entry.snapshot_tsc && UInt64(entry.snapshot_faults) == entry.snapshot_tsc)
            return entry.snapshot_tsc
        }

        var snapshots: [UInt64] { (0..<thread.depth).map(snapshotOfHold(at:)) }
    }

    @Test func eachHoldKeepsTheSnapshotItBeganUnder() {
        let t = Thread()
        t.hold(1, snapshot: 10)
        t.hold(2)
        t.hold(3)
        #expect(t.snapshots == [10, 10, 10])
        t.snapshot(20, beginningHoldAt: 2)
        #expect(t.snapshots == [10, 10, 20])
        t.hold(4)
        #expect(t.snapshots == [10, 10, 20, 20])
        t.snapshot(30, beginningHoldAt: 3)
        #expect(t.snapshots == [10, 10, 20, 30])
    }

    /// An annotated lock stamps its hold when the real lock is taken, which may be below newer holds.
    @Test func aSnapshotForAHoldBelowTheNewestLeavesTheNewerOnesTheirs() {
        let t = Thread()
        t.hold(1, snapshot: 10)
        t.hold(2)
        t.hold(3)
        t.snapshot(20, beginningHoldAt: 1)
        #expect(t.snapshots == [10, 20, 10])
    }

    @Test func anOutOfOrderReleaseMovesTheKeptSnapshotsDown() {
        let t = Thread()
        t.hold(1, snapshot: 10)
        t.hold(2, snapshot: 20)
        t.hold(3, snapshot: 30)
        t.hold(4)
        #expect(t.snapshots == [10, 20, 30, 30])
        t.thread.remove(at: 1)
        #expect(t.snapshots == [10, 30, 30])
        #expect(t.thread.held(1).pointee.instance == 3)
    }

    /// A release reads the snapshot of the hold it popped; a later hold in that slot begins under the
    /// thread's snapshot, whatever the slot carried.
    @Test func aPoppedHoldKeepsItsSnapshotUntilItsSlotIsReused() {
        let t = Thread()
        t.hold(1, snapshot: 10)
        t.hold(2, snapshot: 20)
        t.thread.pop()
        #expect(t.snapshotOfHold(at: 1) == 20)  // what the release of the popped hold reads
        t.thread.pop()
        #expect(t.snapshotOfHold(at: 0) == 10)
        t.hold(3)  // into the slot that carried 10
        t.hold(4)
        #expect(t.snapshots == [20, 20])
    }
}
