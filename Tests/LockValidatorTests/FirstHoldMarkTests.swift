import Testing
import _LockValidatorShims

@testable import LockValidator

/// The one-shot hold-time rule reports a lock's first hold alone: with no counters per instance, the
/// instance's first acquire marks its held entry (`LV_NESTING_FIRST_HOLD`), and no later one does, on any
/// thread; a reader's hold is never the first.
@Suite struct FirstHoldMarkTests {
    static let site = CallSite(#fileID, #line)

    static func lockClass(_ name: String) -> LockClass {
        let site = Site.source(SourceSite(fileID: "Tests/FirstHoldMarkTests.swift", line: 13))
        return LockClass.named("FirstHoldMarkTests.\(name).\(UInt64.random(in: 0...UInt64.max))", site: site)
    }

    /// Acquires `lock` on `thread`, returns whether its entry carries the mark, and releases it.
    static func holdIsMarkedFirst(_ lock: borrowing LockTracking, read: Bool = false, on thread: ThreadState) -> Bool {
        guard case .lock = lock.acquire(.annotated, read: read, taken: true, on: thread, at: site) else { return false }
        let marked = thread.held(thread.depth - 1).pointee.nesting & UInt8(LV_NESTING_FIRST_HOLD) != 0
        _ = lock.release(.annotated, releasedAt: lv_rdtsc(), on: thread, at: site)
        return marked
    }

    @Test func onlyAnInstancesFirstHoldIsMarked() {
        let thread = ThreadState.current
        let lockClass = Self.lockClass("first")
        let lock = LockTracking(of: lockClass, policy: .annotated, site: nil)
        let other = LockTracking(of: lockClass, policy: .annotated, site: nil)
        defer {
            lock.retire()
            other.retire()
        }
        let marks = (0..<3).map { _ in Self.holdIsMarkedFirst(lock, on: thread) }
        #expect(marks == [true, false, false])
        let otherMarked = Self.holdIsMarkedFirst(other, on: thread)
        #expect(otherMarked, "each instance has its own first hold")
    }

    /// A lock and what another thread found.
    final class Shared: @unchecked Sendable {
        let lock = LockTracking(of: FirstHoldMarkTests.lockClass("threads"), policy: .annotated, site: nil)
        var markedThere = true
        deinit { lock.retire() }
    }

    @Test func aLaterHoldOnAnotherThreadIsNotFirst() {
        let shared = Shared()
        let markedHere = Self.holdIsMarkedFirst(shared.lock, on: ThreadState.current)
        #expect(markedHere)
        ProcessorThread { shared.markedThere = Self.holdIsMarkedFirst(shared.lock, on: ThreadState.current) }.join()
        #expect(!shared.markedThere)
    }

    @Test func aReadersHoldIsNotFirst() {
        let lock = LockTracking(of: Self.lockClass("reader"), policy: [.annotated, .recursiveReads], site: nil)
        defer { lock.retire() }
        let readerMarked = Self.holdIsMarkedFirst(lock, read: true, on: ThreadState.current)
        #expect(!readerMarked)
        let writerMarked = Self.holdIsMarkedFirst(lock, on: ThreadState.current)
        #expect(writerMarked, "the first exclusive hold is")
    }
}
