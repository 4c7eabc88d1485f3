import Foundation
import Testing
import _LockValidatorShims

@testable import LockValidator

/// A lock's first hold, reported alone when its scope ends, is judged net of its involuntary context
/// switches' share as of its page faults': on a VM a switch in a hold marks time the thread's CPU time
/// charged it without its running its code (2 µs holds read as 106–401 µs of own time, each with one
/// switch). The measurements are injected, so these tests control every time they judge.
@Suite struct HoldSwitchShareTests {
    static let budget = 25_000.0
    static let site = Site.source(SourceSite(fileID: "Tests/HoldSwitchShareTests.swift", line: 1))
    static let lockClass = LockClass.named("test.switch-share.\(UInt64.random(in: 0...UInt64.max))", site: site)

    /// A lock's first hold as its release measured it: `own` µs of the thread's own time at least, in
    /// `wall` µs of wall-clock time.
    static func firstHold(own: Double, wall: Double, faults: Int = 0, switches: Int) -> HoldEvidence.Observation {
        let (own, wall) = (own * 1_000, wall * 1_000)
        let faultShare = HoldEvidence.faultShare(faults: faults, majorFaults: 0, ownNanoseconds: own)
        let hold = HoldTime(
            ownNanoseconds: own, wallNanoseconds: wall, preemptedNanoseconds: wall - own, budgetNanoseconds: budget,
            acquiredAt: site, acquireStack: nil, releasedAt: site, releaseStack: nil, thread: 1, pageFaults: faults,
            majorPageFaults: 0, involuntarySwitches: switches, faultShareNanoseconds: faultShare,
            switchShareNanoseconds: HoldEvidence.switchShare(
                switches: switches, ownNanoseconds: own - faultShare, preemptedNanoseconds: wall - own))
        return HoldEvidence.Observation(
            hold: hold, lock: LockInfo(name: "switch-share", site: site, instance: 1), acquiredTSC: 0, releasedTSC: 1,
            isFirstHold: true)
    }

    /// Whether a scope that ends with `hold` as its site's only over-budget hold reports it.
    static func reportedAlone(_ hold: HoldEvidence.Observation) -> Bool {
        HoldEvidence.Suspect(lockClass: lockClass, scope: nil, thread: 1, holds: [hold]).onceReport != nil
    }

    /// The false reports measured before the credit (2 µs first holds, `scripts/one-shot-hold.sh`): own
    /// time, wall time, page faults, each with one involuntary switch and milliseconds off the CPU.
    static let measuredFalseReports: [(own: Double, wall: Double, faults: Int)] = [
        (401, 12_143, 1), (355, 14_653, 2), (298, 2_268, 0), (274, 10_625, 0), (192, 1_920, 0), (106, 4_069, 0),
    ]

    @Test(arguments: measuredFalseReports)
    func aShortFirstHoldSwitchedAwayFromIsNotReportedAlone(own: Double, wall: Double, faults: Int) {
        #expect(!Self.reportedAlone(Self.firstHold(own: own, wall: wall, faults: faults, switches: 1)))
        // The same time without a switch in it is reported: the switch is what drops it.
        #expect(Self.reportedAlone(Self.firstHold(own: own, wall: own, faults: 0, switches: 0)))
    }

    /// A first hold switched away from still reports when its own time passes the bar by more than the
    /// switches' share (a long routine preempted), and the report shows the share.
    @Test func aLongFirstHoldSwitchedAwayFromIsReportedPastTheSwitchesShare() throws {
        let hold = Self.firstHold(own: 650, wall: 4_650, faults: 1, switches: 1)
        let (reported, earlier) = try #require(
            HoldEvidence.Suspect(lockClass: Self.lockClass, scope: nil, thread: 1, holds: [hold]).onceReport)
        #expect(earlier.isEmpty)
        #expect(reported.hold.switchShareNanoseconds == HoldEvidence.switchShareNanoseconds)
        // 650 µs less 50 µs for the fault and 500 µs for the switch.
        #expect(reported.hold.netNanoseconds == 100_000 && reported.hold.netOfFaultsNanoseconds == 600_000)
        // Two switches take twice the share.
        #expect(!Self.reportedAlone(Self.firstHold(own: 650, wall: 8_650, faults: 1, switches: 2)))
        // Just under the bar net of both shares.
        #expect(!Self.reportedAlone(Self.firstHold(own: 649, wall: 4_649, faults: 1, switches: 1)))
    }

    /// A cold 200 µs first hold measured with a switch and no time off the CPU (211 µs own, 211 wall: the
    /// thread was switched out and straight back, or the switch fell before the acquire) is reported.
    @Test func aSwitchWithNoTimeOffTheCPUIsNotCredited() throws {
        let hold = Self.firstHold(own: 211, wall: 211, faults: 1, switches: 1)
        #expect(hold.hold.switchShareNanoseconds == 0)
        #expect(Self.reportedAlone(hold))
        // With 2 ms off the CPU the switch takes its whole share, and the hold is not reported.
        let away = Self.firstHold(own: 211, wall: 2_211, faults: 1, switches: 1)
        #expect(away.hold.switchShareNanoseconds == 161_000 && !Self.reportedAlone(away))
    }

    @Test func theSwitchesShareIsBoundedByTheOwnTimeAndTheTimeOffTheCPU() {
        let share = HoldEvidence.switchShareNanoseconds
        #expect(HoldEvidence.switchShare(switches: 0, ownNanoseconds: 1e6, preemptedNanoseconds: 1e7) == 0)
        #expect(HoldEvidence.switchShare(switches: 1, ownNanoseconds: 1e6, preemptedNanoseconds: 1e7) == share)
        #expect(HoldEvidence.switchShare(switches: 1, ownNanoseconds: 300_000, preemptedNanoseconds: 1e7) == 300_000)
        #expect(HoldEvidence.switchShare(switches: 3, ownNanoseconds: 1e7, preemptedNanoseconds: 1e7) == 3 * share)
        #expect(HoldEvidence.switchShare(switches: 1, ownNanoseconds: 1e6, preemptedNanoseconds: 40_000) == 40_000)
        #expect(HoldEvidence.switchShare(switches: 1, ownNanoseconds: 1e6, preemptedNanoseconds: 0) == 0)
        #expect(HoldEvidence.switchShare(switches: 1, ownNanoseconds: -5, preemptedNanoseconds: 1e7) == 0)
    }

    /// The report's summary names what the hold was judged net of; the JSON keeps the share.
    @Test func theReportCarriesTheSwitchesShare() throws {
        let hold = Self.firstHold(own: 650, wall: 4_650, faults: 1, switches: 1).hold
        #expect(
            HoldEvidence.netOfShares(hold)
                == " (100.0 µs net of the most its 1 page faults and 1 involuntary context switches can have taken)")
        let switchedOnly = Self.firstHold(own: 650, wall: 4_650, switches: 1).hold
        #expect(
            HoldEvidence.netOfShares(switchedOnly)
                == " (150.0 µs net of the most its 1 involuntary context switches can have taken)")
        #expect(HoldEvidence.netOfShares(Self.firstHold(own: 650, wall: 650, switches: 0).hold) == "")
        let decoded = try JSONDecoder().decode(HoldTime.self, from: JSONEncoder().encode(hold))
        #expect(decoded.switchShareNanoseconds == hold.switchShareNanoseconds && decoded.involuntarySwitches == 1)
        // A report written before the share was recorded reads as none.
        var object = try #require(
            JSONSerialization.jsonObject(with: JSONEncoder().encode(hold)) as? [String: Any])
        object["switchShareNanoseconds"] = nil
        let old = try JSONDecoder().decode(HoldTime.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.switchShareNanoseconds == 0 && old.netNanoseconds == old.netOfFaultsNanoseconds)
    }

    /// A thread state of the test's own, whose holds the test stamps with switch counts it chooses.
    final class Thread: TestThreadState {
        /// Pushes a hold whose acquire takes a snapshot at TSC `tsc` with `switches` involuntary switches.
        func hold(_ instance: UInt64, snapshotAt tsc: UInt64, switches: UInt32) {
            push(instance)
            thread.replaceSnapshot(
                tsc: tsc, cpuNanoseconds: tsc, usage: Self.usage(switches: switches),
                beginning: thread.held(thread.depth - 1))
        }

        static func usage(switches: UInt32) -> lv_thread_usage {
            lv_thread_usage(faults: 0, major_faults: 0, involuntary_switches: switches, reserved: 0, system_ns: 0)
        }

        /// What the release of the hold at `index` reads, `switches` involuntary switches into the thread.
        func usage(ofHoldAt index: Int, now switches: UInt32) -> HoldTiming.UsageInHold {
            HoldTiming.UsageInHold(
                Self.usage(switches: switches), since: thread.heldWithSnapshot(thread.held(index).pointee, at: index),
                on: thread)
        }
    }

    /// A hold knows the switches since the snapshot it began under, also once the thread took a newer
    /// one (the entry keeps the count's low bits, as of its page faults).
    @Test func aHoldCountsTheSwitchesSinceItsOwnSnapshot() {
        let t = Thread()
        t.hold(1, snapshotAt: 10, switches: 5)
        t.hold(2, snapshotAt: 20, switches: 7)
        let outer = t.usage(ofHoldAt: 0, now: 9)
        #expect(outer.involuntarySwitches == 4 && outer.majorFaults == nil)
        let inner = t.usage(ofHoldAt: 1, now: 9)
        #expect(inner.involuntarySwitches == 2 && inner.majorFaults == 0)
        #expect(t.usage(ofHoldAt: 1, now: 7).involuntarySwitches == 0)
    }

    @Test func theSwitchCountWrapsInTheEntrysLowBits() {
        let t = Thread()
        t.hold(1, snapshotAt: 10, switches: 254)
        t.hold(2, snapshotAt: 20, switches: 300)
        #expect(t.usage(ofHoldAt: 0, now: 257).involuntarySwitches == 3)
        #expect(t.usage(ofHoldAt: 1, now: 301).involuntarySwitches == 1)
    }
}
