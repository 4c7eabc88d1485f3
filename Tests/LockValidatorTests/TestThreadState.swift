import _LockValidatorShims

@testable import LockValidator

/// A thread state of the test's own, off the real thread's: a test pushes holds and snapshots into it and
/// so controls every value the code under test reads. Each suite's `Thread` adds its own ways to hold.
class TestThreadState {
    let state = UnsafeMutablePointer<lv_thread_state>.allocate(capacity: 1)
    var thread: ThreadState { ThreadState(pointer: state) }

    init() {
        UnsafeMutableRawPointer(state).initializeMemory(
            as: UInt8.self, repeating: 0, count: MemoryLayout<lv_thread_state>.size)
    }
    deinit { state.deallocate() }

    /// Pushes an ordinary hold of `instance` (its class numbered alike), leaving the thread's snapshot as it is.
    func push(_ instance: UInt64) {
        thread.pushHeld(
            instance: instance, classID: UInt32(instance), kind: AcquireKind.ordinary.rawValue, flags: 0,
            nesting: 0, queueNode: nil, site: CallSite(#fileID, #line), previousChainKey: 0, lockObject: nil)
    }
}
