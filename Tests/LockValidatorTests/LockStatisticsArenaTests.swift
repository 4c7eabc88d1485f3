import Testing
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#endif

@testable import LockValidator

/// The arena of lock_stat lines, one per (thread, class): a line's record is found from its address; a
/// thread's lines go to their classes' totals when it exits, and nowhere when dropped; a lock instance has
/// no line, only its class's count of locks alive; `ifAlive` runs for a lock unless it was freed while held.
@Suite struct LockStatisticsArenaTests {
    /// Class ids no class has: the registry numbers from 1.
    static let classID = UInt32.max - 11

    /// Owners no thread has (threads' serials are 32-bit).
    static func owner() -> UInt64 { LockInstance.next() | 1 << 63 }

    @Test func aLinesRecordNamesItsThreadAndClass() {
        let thread = Self.owner()
        let block = LockStatisticsArena.line(ofThread: thread, classID: Self.classID)
        defer { LockStatisticsArena.freeLines(ofThread: thread, retiring: false) }
        #expect(UInt(bitPattern: block.slots) % 64 == 0)
        #expect(LockStatisticsArena.record(of: block).thread == thread)
        #expect(LockStatisticsArena.record(of: block).classID == Self.classID)
        #expect(LockStatisticsArena.line(ofThread: thread, classID: Self.classID).slots == block.slots, "one a class")
        #expect(LockStatisticsArena.line(ofThread: thread, classID: Self.classID - 1).slots != block.slots)
        #expect(LockStatisticsArena.line(ofThread: Self.owner(), classID: Self.classID).slots != block.slots)
    }

    @Test func anExitedThreadsLinesCountForTheirClassesAndDroppedOnesForNone() {
        let classID = Self.classID - 2
        let (exited, live, dropped) = (Self.owner(), Self.owner(), Self.owner())
        for (thread, count) in [(exited, 3), (live, 4), (dropped, 100)] {
            let block = LockStatisticsArena.line(ofThread: thread, classID: classID)
            for _ in 0..<count { block.recordHold(cycles: 1 << 20) }  // a long hold: cold slots, freed with it
        }
        LockStatisticsArena.line(ofThread: live, classID: classID).recordUntimedAcquire()
        LockStatisticsArena.freeLines(ofThread: exited, retiring: true)
        LockStatisticsArena.freeLines(ofThread: dropped, retiring: false)
        let counts = LockStatisticsArena.countsByClass[classID]
        #expect(counts?.acquisitions == 8)
        #expect(counts?.holds == 7)
        #expect(counts?.buckets[21] == 7)
        LockStatisticsArena.freeLines(ofThread: live, retiring: false)
        #expect(LockStatisticsArena.countsByClass[classID]?.acquisitions == 3, "the exited thread's stay")
    }

    /// A thread's holds of any number of locks of one class go to one line, found through its cache; its
    /// exit folds them into the class's totals.
    @Test func aThreadsHoldsOfManyLocksOfAClassShareOneLine() throws {
        let site = Site.source(SourceSite(fileID: "Tests/LockStatisticsArenaTests.swift", line: 49))
        let lockClass = LockClass.named("LockStatisticsArenaTests.shared.\(Self.owner())", site: site)
        let thread = ProcessorThread {
            let state = ThreadState.current
            let site = CallSite(#fileID, #line)
            for _ in 0..<10 {
                let lock = LockTracking(of: lockClass, policy: [.annotated, .sleeps], site: nil)
                if case .lock = lock.acquire(.annotated, taken: true, on: state, at: site) {
                    _ = lock.release(.annotated, releasedAt: lv_rdtsc(), on: state, at: site)
                }
                lock.retire()
            }
            #expect(lv_stat_line(state.pointer, lockClass.id) != nil)
        }
        thread.join()
        let counts = try #require(LockStatisticsArena.countsByClass[lockClass.id])
        #expect(counts.acquisitions == 10 && counts.holds == 10)
    }

    /// What a thread does in a thread-specific value's destructor that runs after the validator's exit hook.
    final class AfterExit: @unchecked Sendable {
        let lockClass: LockClass
        var key = pthread_key_t()
        var serial: UInt32 = 0
        var hookHadRun = false
        init(_ lockClass: LockClass) { self.lockClass = lockClass }

        func holdALock() {
            let state = ThreadState.current
            hookHadRun = state.pointer.pointee.stat_exited != 0
            serial = state.serial
            let site = CallSite(#fileID, #line)
            let lock = LockTracking(of: lockClass, policy: [.annotated, .sleeps], site: nil)
            if case .lock = lock.acquire(.annotated, taken: true, on: state, at: site) {
                _ = lock.release(.annotated, releasedAt: lv_rdtsc(), on: state, at: site)
            }
            lock.retire()
        }
    }

    /// A hold after the thread's exit hook ran (in another key's destructor, run after the validator's) counts
    /// in its class's totals, and its line is folded at once: nothing would free a line kept for the thread.
    @Test func aHoldAfterTheExitHookIsFoldedIntoItsClassAtOnce() throws {
        let site = Site.source(SourceSite(fileID: "Tests/LockStatisticsArenaTests.swift", line: 80))
        let box = AfterExit(LockClass.named("LockStatisticsArenaTests.afterExit.\(Self.owner())", site: site))
        _ = ThreadState.current  // the validator's key exists: a key made now is destroyed after it
        try #require(
            pthread_key_create(&box.key) { value in
                Unmanaged<AfterExit>.fromOpaque(value!).takeRetainedValue().holdALock()
            } == 0)
        defer { pthread_key_delete(box.key) }
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { context in
                let box = Unmanaged<AfterExit>.fromOpaque(context!).takeUnretainedValue()
                _ = ThreadState.current  // registered: the validator's hook runs at its exit
                pthread_setspecific(box.key, context)  // the destructor takes this reference
                return nil
            }, Unmanaged.passRetained(box).toOpaque())
        try #require(started == 0)
        pthread_join(thread, nil)
        #expect(box.hookHadRun, "the destructor ran after the validator's exit hook")
        #expect(LockStatisticsArena.countsByClass[box.lockClass.id]?.acquisitions == 1)
        #expect(LockStatisticsArena.lines(ofThread: UInt64(box.serial)) == 0, "no line kept for the exited thread")
    }

    @Test func ifAliveRunsUnlessTheLockWasFreedWhileHeld() {
        let (released, held) = (LockInstance.next(), LockInstance.next())
        for _ in [released, held] { LockStatisticsArena.instanceMade(ofClass: Self.classID - 1) }
        var runs: [UInt64] = []
        LockStatisticsArena.instanceFreed(released, ofClass: Self.classID - 1, held: false)
        LockStatisticsArena.instanceFreed(held, ofClass: Self.classID - 1, held: true)
        for instance in [released, held] { LockStatisticsArena.ifAlive(instance) { runs.append(instance) } }
        #expect(runs == [released])
    }

    @Test func aClassThatHadTwoLocksAliveAtOnceIsNoGate() {
        let (gate, pair) = (Self.classID - 3, Self.classID - 4)
        for _ in 0..<3 {
            LockStatisticsArena.instanceMade(ofClass: gate)
            LockStatisticsArena.instanceFreed(LockInstance.next(), ofClass: gate, held: false)
        }
        LockStatisticsArena.instanceMade(ofClass: pair)
        LockStatisticsArena.instanceMade(ofClass: pair)
        #expect(LockStatisticsArena.neverHadTwoAlive(ofClass: gate))
        #expect(!LockStatisticsArena.neverHadTwoAlive(ofClass: pair))
    }
}
