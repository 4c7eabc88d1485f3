import LockValidator
import PthreadScenariosC
import Synchronization
import Testing
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#endif

/// `lv_backtrace` follows frame pointers and hands over to libunwind at the first function that keeps
/// none: its stacks must be libunwind's own, through Swift frames, libc frames without a frame pointer
/// (qsort calling back), a frame that leaves rbp as its caller had it (which a walk by frame pointers
/// alone skips silently), deep stacks cut at the capacity, and many threads deciding the same return
/// addresses at once.
@Suite struct FramePointerStackTests {
    @Test func swiftFramesGiveLibunwindsStack() {
        let (fast, reference) = Self.nested(depth: 5)
        #expect(fast.count > 5)
        #expect(fast == reference)
    }

    @Test func aLibcFrameWithoutAFramePointerHandsOverToLibunwind() {
        let (fast, reference) = Self.fromQsort()
        #expect(fast == reference)
        // qsort's own frames keep no frame pointer, so the frames past them came from libunwind.
        #expect(fast.contains { lv_keeps_frame_pointer($0) == 0 })
    }

    @Test func aFrameThatLeavesRbpAloneIsNotSkipped() {
        let (fast, reference) = Self.withoutAFramePointer()
        #expect(fast == reference)
        #expect(lv_keeps_frame_pointer(fast[2]) == 0)  // the callback, its thunk, then the assembly frame
    }

    /// The tail libunwind gave at a handover is reused only where its return addresses are still on
    /// the stack: two callers of the same depth meet the assembly frame at the same address.
    @Test func aTailIsReusedOnlyUnderTheSameCallers() {
        for _ in 0..<3 {
            let first = Self.firstCaller()
            let second = Self.secondCaller()
            #expect(first.fast == first.reference)
            #expect(second.fast == second.reference)
            #expect(first.fast != second.fast)
        }
    }

    @Test func aDeepStackIsCutAtTheCapacity() {
        let (fast, reference) = Self.nested(depth: 200)
        #expect(fast.count == Int(LV_MAX_FRAMES))
        #expect(fast == reference)
    }

    @Test func threadsDecidingTheSameFramesAtOnceAgree() {
        let mismatches = Atomic<Int>(0)
        let threads = (0..<4).map { _ in
            ProcessorThread {
                for round in 0..<100 {
                    let (fast, reference) =
                        switch round % 3 {
                        case 0: Self.fromQsort()
                        case 1: Self.withoutAFramePointer()
                        default: Self.nested(depth: round % 7)
                        }
                    if fast != reference { mismatches.add(1, ordering: .relaxed) }
                }
            }
        }
        for thread in threads { thread.join() }
        #expect(mismatches.load(ordering: .relaxed) == 0)
    }

    // MARK: Helpers

    /// Both captures, from one frame `depth` calls deep.
    @inline(never)
    static func nested(depth: Int) -> Captures {
        if depth > 0 { return nested(depth: depth - 1) }
        return captureBoth()
    }

    @inline(never)
    static func captureBoth() -> Captures {
        var fast = [UnsafeMutableRawPointer?](repeating: nil, count: Int(LV_MAX_FRAMES))
        let fastCount = Int(lv_backtrace(&fast, LV_MAX_FRAMES))
        // libunwind's own frames count against its capacity before they are dropped: room for them.
        var reference = [UnsafeMutableRawPointer?](repeating: nil, count: Int(LV_MAX_FRAMES) + 16)
        let referenceCount = min(Int(lv_unwind_backtrace(&reference, LV_MAX_FRAMES + 16)), Int(LV_MAX_FRAMES))
        func addresses(_ frames: ArraySlice<UnsafeMutableRawPointer?>) -> [UInt] {
            frames.map { UInt(bitPattern: $0) }
        }
        return (addresses(fast[..<fastCount]), addresses(reference[..<referenceCount]))
    }

    typealias Captures = (fast: [UInt], reference: [UInt])

    /// Both captures from inside qsort's comparator, which glibc calls from frames without a frame
    /// pointer. A C callback has no context: the comparator files its captures under its thread.
    static func fromQsort() -> Captures {
        var numbers: [Int32] = [3, 1, 2]
        qsort(&numbers, numbers.count, MemoryLayout<Int32>.stride, capturingComparator)
        return comparatorCaptures.withLock { $0.removeValue(forKey: UInt(pthread_self())) }!
    }

    @inline(never) static func firstCaller() -> Captures { withoutAFramePointer() }
    @inline(never) static func secondCaller() -> Captures { withoutAFramePointer() }

    /// Both captures, called back from an assembly frame without a frame pointer.
    static func withoutAFramePointer() -> Captures {
        var captures: Captures?
        withUnsafeMutablePointer(to: &captures) { captures in
            scenario_c_call_without_frame_pointer(
                { $0!.assumingMemoryBound(to: Captures?.self).pointee = FramePointerStackTests.captureBoth() },
                captures)
        }
        return captures!
    }

    /// Behind a pthread mutex, which ThreadSanitizer understands (`Synchronization.Mutex` waits on a
    /// futex it does not see, and its accesses look racy to it).
    static let comparatorCaptures = InternalLock<[UInt: Captures]>([:])
}

private func capturingComparator(_ a: UnsafeRawPointer?, _ b: UnsafeRawPointer?) -> Int32 {
    let thread = UInt(pthread_self())
    if FramePointerStackTests.comparatorCaptures.withLock({ $0[thread] == nil }) {
        let captures = FramePointerStackTests.captureBoth()
        FramePointerStackTests.comparatorCaptures.withLock { $0[thread] = captures }
    }
    return a!.load(as: Int32.self) < b!.load(as: Int32.self) ? -1 : 1
}
