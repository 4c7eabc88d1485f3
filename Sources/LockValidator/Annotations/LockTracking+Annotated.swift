import _LockValidatorShims

// The steps of an annotated lock (lockdep's `lock_acquire`, `lock_acquired`, `lock_release` for a lock the
// validator does not take itself), on the tracking state wherever it lives: in an ``AnnotatedLock`` (a
// ``LockID``, `ValidatedMutex`), or inline in LockValidatorPthreads' one allocation per pthread lock, which
// has no object of its own to hold an ``AnnotatedLock`` (48 bytes of class object and 72 of annotated lock
// a mutex). Always inlined into ``AnnotatedLock``'s methods, which were these bodies: one frame, as before.
extension LockTracking {
    /// Whether taking the lock may block.
    var sleeps: Bool { policy.contains(.sleeps) }

    /// The kind its held entries carry: a lock that spins counts as a spin lock where that matters
    /// (`blocking-while-held`).
    var entryKind: AcquireKind { sleeps ? .annotated : .ordinary }

    /// ``AnnotatedLock/acquire(_:at:taken:)`` at nesting level `nesting`.
    @inline(__always)
    package func annotatedAcquire(
        _ kind: AnnotatedAcquireKind, nesting: Int, at site: CallSite, taken: Bool = false
    ) -> Bool {
        guard lv_validation_enabled() != 0 else { return true }
        let thread = ThreadState.current
        let action = acquire(
            entryKind, trylock: kind.isTry, read: kind.isShared, nesting: nesting, taken: taken, on: thread, at: site)
        return action != .skip
    }

    /// ``AnnotatedLock/acquired(at:waitCycles:)``.
    @inline(__always)
    package func annotatedAcquired(at site: CallSite, waitCycles: UInt64 = 0) {
        guard lv_validation_enabled() != 0 else { return }
        let thread = ThreadState.current
        let depth = thread.depth
        // Usually the newest entry: nothing is taken between the acquire and its lock.
        let newest = depth > 0 && thread.held(depth - 1).pointee.instance == instance ? depth - 1 : nil
        guard let index = newest ?? thread.indexOfHold(instance: instance) else { return }
        let entry = thread.held(index)
        guard entry.pointee.acquired_tsc == 0 else { return }
        // Whether the real lock made the thread wait is not always known here: assume it did.
        acquired(entry, on: thread, waitCycles: waitCycles, waited: true)
    }

    /// ``AnnotatedLock/release(at:)``.
    @inline(__always)
    package func annotatedRelease(at site: CallSite) -> Bool {
        guard lv_validation_enabled() != 0 else { return true }
        let released = lv_rdtsc()
        if case .placeholder = release(entryKind, releasedAt: released, on: .current, at: site) {
            return false
        }
        return true
    }

    /// ``AnnotatedLock/acquireFailed()``.
    @inline(__always)
    package func annotatedAcquireFailed() {
        guard lv_validation_enabled() != 0 else { return }
        acquireFailed(on: .current)
    }
}
