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

    /// One thread's clocks, the one of each of its epochs (index epoch - 1), and its last at exit.
    struct History {
        var clocks: [[UInt32: UInt32]]
        var ended: [UInt32: UInt32]?
    }

    struct State {
        var threads: [UInt32: History] = [:]
        /// The clock of each exited thread by its pthread handle, until a join takes it.
        var exited: [UInt: (serial: UInt32, clock: [UInt32: UInt32])] = [:]
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

    /// The clock of `thread` now (its own history, or itself alone).
    private static func clock(of serial: UInt32, epoch: UInt32, in state: State) -> [UInt32: UInt32] {
        guard let history = state.threads[serial], epoch >= 1, Int(epoch) <= history.clocks.count else {
            return [serial: epoch]
        }
        return history.clocks[Int(epoch) - 1]
    }

    /// Starts the calling thread's next epoch with `clock` (its entry for itself set to the new epoch).
    private static func advance(_ thread: ThreadState, merging other: [UInt32: UInt32]?, in state: inout State) {
        let serial = thread.serial
        let epoch = thread.pointer.pointee.hb_epoch
        var next = clock(of: serial, epoch: epoch, in: state)
        for (key, value) in other ?? [:] where value > next[key, default: 0] { next[key] = value }
        next[serial] = epoch + 1
        var history = state.threads[serial] ?? History(clocks: [], ended: nil)
        while history.clocks.count < Int(epoch) { history.clocks.append([serial: UInt32(history.clocks.count + 1)]) }
        history.clocks.append(next)
        state.threads[serial] = history
        thread.pointer.pointee.hb_epoch = epoch + 1
        thread.reseed(seed(serial: serial, epoch: epoch + 1))
    }

    /// Before the calling thread starts another: the clock the new thread begins with (nil when the
    /// calling thread is not tracked); the caller's own epoch ends here.
    package static func forking() -> [UInt32: UInt32]? {
        let thread = ThreadState.current
        guard thread.pointer.pointee.hb_epoch != 0 else { return nil }
        return state.withLock { state in
            let before = clock(of: thread.serial, epoch: thread.pointer.pointee.hb_epoch, in: state)
            advance(thread, merging: nil, in: &state)
            return before
        }
    }

    /// In a thread just started: it begins with the clock its creator had (`forking`), and its own epoch 1.
    package static func started(inheriting parent: [UInt32: UInt32]) {
        let thread = ThreadState.current
        let serial = thread.serial
        guard thread.pointer.pointee.hb_epoch == 1 else { return }  // untracked, or started before
        var clock = parent
        clock[serial] = 1
        state.withLock { state in
            var history = state.threads[serial] ?? History(clocks: [], ended: nil)
            if history.clocks.isEmpty {
                history.clocks = [clock]
            } else {
                for (key, value) in parent where value > history.clocks[0][key, default: 0] {
                    history.clocks[0][key] = value
                }
            }
            state.threads[serial] = history
        }
    }

    /// The calling thread is ending: its last clock, kept for the thread that joins it.
    package static func exiting() {
        let thread = ThreadState.current
        let epoch = thread.pointer.pointee.hb_epoch
        guard epoch != 0 else { return }
        let serial = thread.serial
        state.withLock { state in
            let last = clock(of: serial, epoch: epoch, in: state)
            state.threads[serial, default: History(clocks: [], ended: nil)].ended = last
            state.exited[lv_thread_handle()] = (serial, last)
        }
    }

    /// The calling thread joined the thread whose pthread handle is `handle`: everything that thread
    /// did happened before what the caller does next.
    package static func joined(handle: UInt) {
        let thread = ThreadState.current
        guard thread.pointer.pointee.hb_epoch != 0 else { return }
        state.withLock { state in
            guard let exited = state.exited.removeValue(forKey: handle) else { return }
            advance(thread, merging: exited.clock, in: &state)
        }
    }

    /// What the verdicts read: each thread's clock per epoch, and the epoch it ended in.
    struct Snapshot {
        let state: State

        /// Whether the edge taken by `first` (thread and epoch) happened before the one taken by
        /// `second`; and if so, whether through the first thread's join (it had ended by then).
        func ordered(_ first: EdgeEvidence.Occurrence, before second: EdgeEvidence.Occurrence) -> Order? {
            guard first.serial != second.serial else { return nil }
            let known = HappensBefore.clock(of: second.serial, epoch: second.epoch, in: state)[first.serial] ?? 0
            guard known >= first.epoch else { return nil }
            if let ended = state.threads[first.serial]?.ended?[first.serial], known >= ended { return .byJoin }
            return .byCreate
        }
    }

    enum Order { case byCreate, byJoin }

    static var snapshot: Snapshot { Snapshot(state: state.withLock { $0 }) }

}
