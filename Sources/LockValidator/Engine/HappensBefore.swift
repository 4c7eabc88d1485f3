import _LockValidatorShims

/// Happens-before between threads through thread start and join (`pthread_create` and `pthread_join`
/// through the interposer, `Thread` start as the `pthread_create` it makes, ``ProcessorThread``): a vector
/// clock per thread, changed only on those events, never on the lock hot path. The verdicts on cycles
/// (`CycleVerdicts`) read it to tell edges whose threads never run at once.
///
/// A thread's epoch (its own entry of its clock) starts at 1 and grows when it starts a thread or joins
/// one; a lock-order edge taken by thread T in epoch e happened before everything whose clock's entry
/// for T is at least e. Each new epoch changes the thread's chain seed, so that the chains it takes
/// from then on are validated again (once) and each edge learns the epochs it was taken in.
package enum HappensBefore {
    /// Threads past this serial get no chain seed and no clock: an edge one of them takes counts as
    /// taken at any time (`EdgeEvidence.unordered`), which keeps every verdict sound and the chain cache
    /// from growing with each thread of a program that makes thousands.
    static let trackedThreads: UInt32 = 1024

    /// What one thread knows of the others, kept compact: a thread started by another begins with what
    /// its creator knew then (a reference, not a copy), and a join adds only what the joined thread knew
    /// beyond it. So a program that starts and joins thousands of threads keeps a few entries per thread.
    struct Knowledge {
        /// The creator and its epoch when it started this thread.
        var parent: Occurrence?
        /// Per other thread, the steps of what this one knows of it: from its own epoch `from`, `value`.
        var steps: [UInt32: [(from: UInt32, value: UInt32)]] = [:]
        /// The epoch it ended in, once it returned from its start routine.
        var ended: UInt32?
    }

    /// A thread in one of its epochs: where an edge was taken, or where a thread was started from.
    package struct Occurrence: Hashable, Sendable {
        package let serial: UInt32
        package let epoch: UInt32
    }

    struct State {
        var threads: [UInt32: Knowledge] = [:]
        /// Each exited thread and its last epoch by its pthread handle, until a join takes it.
        var exited: [UInt: Occurrence] = [:]

        /// What thread `serial` knew of thread `other` in `epoch`: the latest of `other`'s epochs that
        /// happened before (0: none).
        func known(by serial: UInt32, in epoch: UInt32, of other: UInt32) -> UInt32 {
            if serial == other { return epoch }
            guard let knowledge = threads[serial] else { return 0 }
            var best: UInt32 = 0
            for step in knowledge.steps[other] ?? [] where step.from <= epoch { best = max(best, step.value) }
            if let parent = knowledge.parent {
                best = max(best, known(by: parent.serial, in: parent.epoch, of: other))
            }
            return best
        }

        /// Everything thread `serial` knew in `epoch`.
        func clock(of serial: UInt32, in epoch: UInt32) -> [UInt32: UInt32] {
            var clock: [UInt32: UInt32] = [:]
            if let knowledge = threads[serial] {
                if let parent = knowledge.parent { clock = self.clock(of: parent.serial, in: parent.epoch) }
                for (other, steps) in knowledge.steps {
                    for step in steps where step.from <= epoch && step.value > clock[other, default: 0] {
                        clock[other] = step.value
                    }
                }
            }
            clock[serial] = epoch
            return clock
        }
    }

    static let state = InternalLock(State())

    /// The seed of thread `serial` in `epoch`: never 0 for a tracked thread.
    static func seed(serial: UInt32, epoch: UInt32) -> UInt64 {
        guard serial != 0, serial <= trackedThreads else { return 0 }
        return lv_chain_extend(UInt64(serial) << 32 | UInt64(epoch), 0x5EED)
    }

    /// Gives a newly registered thread its first epoch.
    static func registered(_ pointer: UnsafeMutablePointer<lv_thread_state>) {
        let serial = pointer.pointee.serial
        guard serial <= trackedThreads else { return }
        pointer.pointee.hb_epoch = 1
        pointer.pointee.chain_seed = seed(serial: serial, epoch: 1)
    }

    /// Starts the calling thread's next epoch, after a start or a join; the chains it takes from now on
    /// are validated again, once, so that the edges learn the new epoch.
    private static func advance(_ thread: ThreadState) -> UInt32 {
        let epoch = thread.pointer.pointee.hb_epoch + 1
        thread.pointer.pointee.hb_epoch = epoch
        thread.reseed(seed(serial: thread.serial, epoch: epoch))
        return epoch
    }

    /// Before the calling thread starts another: where the new thread's clock begins (nil when the
    /// calling thread is not tracked); the caller's epoch ends here.
    package static func forking() -> Occurrence? {
        let thread = ThreadState.current
        let epoch = thread.pointer.pointee.hb_epoch
        guard epoch != 0 else { return nil }
        _ = advance(thread)
        return Occurrence(serial: thread.serial, epoch: epoch)
    }

    /// In a thread just started: it knows what its creator knew at `parent` (`forking`).
    package static func started(after parent: Occurrence) {
        let thread = ThreadState.current
        let serial = thread.serial
        guard thread.pointer.pointee.hb_epoch == 1 else { return }  // untracked, or started before
        state.withLock { state in
            var knowledge = state.threads[serial] ?? Knowledge()
            if let known = knowledge.parent, known != parent {
                // Started twice (a ProcessorThread through the interposer): the later creator's epoch.
                knowledge.steps[parent.serial, default: []].append((1, parent.epoch))
            } else {
                knowledge.parent = parent
            }
            state.threads[serial] = knowledge
        }
    }

    /// The calling thread is ending: its last epoch, kept for the thread that joins it.
    package static func exiting() {
        let thread = ThreadState.current
        let epoch = thread.pointer.pointee.hb_epoch
        guard epoch != 0 else { return }
        let serial = thread.serial
        state.withLock { state in
            state.threads[serial, default: Knowledge()].ended = epoch
            state.exited[lv_thread_handle()] = Occurrence(serial: serial, epoch: epoch)
        }
    }

    /// The calling thread joined the thread whose pthread handle is `handle`: everything that thread
    /// did happened before what the caller does next.
    package static func joined(handle: UInt) {
        let thread = ThreadState.current
        let epoch = thread.pointer.pointee.hb_epoch
        guard epoch != 0 else { return }
        let serial = thread.serial
        state.withLock { state in
            guard let ended = state.exited.removeValue(forKey: handle) else { return }
            let next = advance(thread)
            // Only what the joined thread knew beyond what this one knows.
            let learned = state.clock(of: ended.serial, in: ended.epoch).filter {
                $0.key != serial && $0.value > state.known(by: serial, in: epoch, of: $0.key)
            }
            var knowledge = state.threads[serial] ?? Knowledge()
            for (other, value) in learned { knowledge.steps[other, default: []].append((next, value)) }
            state.threads[serial] = knowledge
        }
    }

    /// What the verdicts read.
    struct Snapshot {
        let state: State

        /// Whether the edge taken by `first` (thread and epoch) happened before the one taken by
        /// `second`; and if so, whether through the first thread's join (it had ended by then).
        func ordered(_ first: Occurrence, before second: Occurrence) -> Order? {
            guard first.serial != second.serial else { return nil }
            let known = state.known(by: second.serial, in: second.epoch, of: first.serial)
            guard known >= first.epoch else { return nil }
            if let ended = state.threads[first.serial]?.ended, known >= ended { return .byJoin }
            return .byCreate
        }
    }

    enum Order { case byCreate, byJoin }

    static var snapshot: Snapshot { Snapshot(state: state.withLock { $0 }) }

}
