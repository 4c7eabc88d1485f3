import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The spin watchdog: a spin wait that outlasts `LOCKVALIDATOR_SPIN_TIMEOUT_MS` is a real deadlock or
/// starvation. The watchdog follows the wait-for chain (this thread waits for a lock held by T2, which
/// waits for one held by T3 …), reports it with every thread's held locks and stack, writes the
/// report file, and aborts: a test run ends with a diagnosis instead of stalling CI.
///
/// Spinning threads publish what they wait for (checked every 128 spins, when they yield) and capture
/// their stack once a wait is long, so the thread that times out can show the others' stacks too.
/// Another thread's held locks and stack are read only once it has parked: a waiting thread that sees
/// the watchdog firing stops for good at its next yield, publishing that it did (a release store the
/// reporting thread reads with an acquire load), so its state no longer changes and its storage stays.
@usableFromInline
package enum SpinWatchdog {
    /// Called by a spinning thread at each yield: publishes the wait, keeps the stack once the wait is
    /// long, and fires after the timeout.
    package static func check(
        waitingFor tracking: borrowing LockTracking, since start: UInt64, on thread: ThreadState, at site: CallSite
    ) {
        guard lv_validation_enabled() != 0 else { return }
        if _slowPath(firing.load(ordering: .relaxed)) { park(thread) }
        let state = thread.pointer
        let now = lv_rdtsc()
        if state.pointee.waiting_instance == 0 {
            state.pointee.waiting_file = site.file
            state.pointee.waiting_line = UInt32(truncatingIfNeeded: site.line)
            state.pointee.waiting_excused_base = reportingCycles(at: now)
            lv_store_relaxed_u32(&state.pointee.waiting_class, tracking.lockClass.id)
            lv_store_relaxed_u64(&state.pointee.waiting_since_tsc, start)
            lv_store_relaxed_u64(&state.pointee.waiting_instance, tracking.instance)
        }
        lv_store_relaxed_u32(&state.pointee.waiting_owner, tracking.ownerSerial)
        let timeout = lv_spin_timeout_cycles()
        // Time the validator spent reporting meanwhile (symbolising a report while holding this lock) is
        // not the program's: it does not count against the wait.
        let excused = reportingCycles(at: now) &- state.pointee.waiting_excused_base
        let elapsed = (now &- start) &- min(excused, now &- start)
        if state.pointee.waiting_reported == 0 && elapsed > min(timeout / 2, longWaitCycles) {
            // Capture this thread's stack now, for whichever thread's timeout reports the chain.
            let count = lv_backtrace(lv_stack_scratch(), Int32(LV_MAX_FRAMES))
            withUnsafeMutablePointer(to: &state.pointee.waiting_stack) { stack in
                stack.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: Int(LV_MAX_FRAMES)) { stack in
                    for index in 0..<Int(count) { stack[index] = lv_stack_scratch()[index] }
                }
            }
            state.pointee.waiting_stack_depth = count
            state.pointee.waiting_reported = 1
        }
        if elapsed > timeout { expired(on: thread, waitedCycles: elapsed) }
    }

    /// Runs `body`, a report being made (its names looked up, printed): the time it takes does not count
    /// against any spin wait, on any thread, as a lock held meanwhile is held by the validator, not the
    /// program.
    package static func reporting<Result>(_ body: () throws -> Result) rethrows -> Result {
        // Validator code: the calls that may block it makes (writing the report, symbolizing) are its own,
        // not the program's, whatever spin locks the program holds.
        lv_enter_validator()
        defer { lv_leave_validator() }
        reporters.withLock { reporters in
            if reporters.inProgress == 0 { reporters.since = lv_rdtsc() }
            reporters.inProgress += 1
        }
        defer {
            reporters.withLock { reporters in
                reporters.inProgress -= 1
                if reporters.inProgress == 0 { reporters.finishedCycles &+= lv_rdtsc() &- reporters.since }
            }
        }
        return try body()
    }

    /// TSC cycles during which some thread was making a report, up to `now`.
    private static func reportingCycles(at now: UInt64) -> UInt64 {
        reporters.withLock { $0.finishedCycles &+ ($0.inProgress > 0 ? now &- min($0.since, now) : 0) }
    }

    private struct Reporters {
        var inProgress = 0
        var since: UInt64 = 0
        var finishedCycles: UInt64 = 0
    }

    private static let reporters = InternalLock(Reporters())

    /// Called once a thread that was watched gets its lock.
    @usableFromInline
    package static func endWait(on thread: ThreadState) {
        let state = thread.pointer
        lv_store_relaxed_u64(&state.pointee.waiting_instance, 0)
        lv_store_relaxed_u32(&state.pointee.waiting_owner, 0)
        state.pointee.waiting_reported = 0
        state.pointee.waiting_stack_depth = 0
    }

    /// Waits longer than this keep the waiting thread's stack.
    static var longWaitCycles: UInt64 { TSCClock.cycles(nanoseconds: 10_000_000) }

    private static let firing = Atomic<Bool>(false)

    /// Stops this waiting thread for good, once another thread reports the timeout: from here on its
    /// state is stable for that thread to read.
    private static func park(_ thread: ThreadState) -> Never {
        lv_store_release_u32(&thread.pointer.pointee.parked, 1)
        lv_enter_validator()  // its sleep is the validator's, under the spin locks it holds
        while true { sleep(1) }
    }

    /// Waits up to a second for thread `serial` to park; false if it exits or never does (it is not
    /// spinning: it holds a lock and runs, or waits elsewhere).
    private static func waitUntilParked(_ serial: UInt32) -> Bool {
        for _ in 0..<1_000 {
            guard let parked = ThreadRegistry.withState(serial, { lv_load_acquire_u32(&$0.state.pointee.parked) })
            else { return false }
            if parked == 1 { return true }
            usleep(1_000)
        }
        return false
    }

    /// What a wait-for chain report shows of one thread.
    private struct Snapshot {
        var instance: UInt64 = 0
        var holder: UInt32 = 0
        var lockClass: UInt32 = 0
        var since: UInt64 = 0
        var file: UnsafePointer<CChar>?
        var line: UInt32 = 0
        var info = ThreadInfo(serial: 0, osThreadID: 0, name: nil)
        var heldLocks: [HeldLockInfo] = []
        var stack = StackTrace(addresses: [])
    }

    /// The calling thread's own wait, held locks and stack.
    private static func snapshot(of thread: ThreadState) -> Snapshot {
        let state = thread.pointer
        return Snapshot(
            instance: state.pointee.waiting_instance, holder: state.pointee.waiting_owner,
            lockClass: state.pointee.waiting_class, since: state.pointee.waiting_since_tsc,
            file: state.pointee.waiting_file, line: state.pointee.waiting_line, info: thread.info,
            heldLocks: thread.heldLockInfos(awaiting: state.pointee.waiting_instance), stack: StackTrace.capture())
    }

    /// Another thread's wait; its held locks and stack only once it has parked.
    private static func snapshot(ofOther serial: UInt32) -> Snapshot? {
        let parked = waitUntilParked(serial)
        let info = ThreadRegistry.info(serial)
        return ThreadRegistry.withState(serial) { entry in
            let state = entry.state
            var snapshot = Snapshot(
                instance: lv_load_relaxed_u64(&state.pointee.waiting_instance),
                holder: lv_load_relaxed_u32(&state.pointee.waiting_owner),
                lockClass: lv_load_relaxed_u32(&state.pointee.waiting_class),
                since: lv_load_relaxed_u64(&state.pointee.waiting_since_tsc), info: info)
            guard parked else { return snapshot }
            snapshot.file = state.pointee.waiting_file
            snapshot.line = state.pointee.waiting_line
            // Not the entry its acquire pushed before it began to spin.
            snapshot.heldLocks = ThreadState(pointer: state).heldLockInfos(awaiting: snapshot.instance)
            snapshot.stack = StackTrace(
                addresses: withUnsafeMutablePointer(to: &state.pointee.waiting_stack) { frames in
                    frames.withMemoryRebound(to: UInt.self, capacity: Int(LV_MAX_FRAMES)) { frames in
                        (0..<Int(max(0, state.pointee.waiting_stack_depth))).map { frames[$0] }
                    }
                })
            return snapshot
        }
    }

    /// The thread holding a lock a chain member waits for, as reports name it: nil if none, or gone.
    private static func holderInfo(_ serial: UInt32) -> ThreadInfo? {
        guard serial != 0 else { return nil }
        let info = ThreadRegistry.info(serial)
        return info.osThreadID == 0 ? nil : info
    }

    /// Reports the wait-for chain, writes the report file and aborts the process.
    static func expired(on thread: ThreadState, waitedCycles: UInt64) -> Never {
        lv_enter_validator()  // from here on validator code: its waits and writes are not the program's
        guard !firing.exchange(true, ordering: .acquiringAndReleasing) else {
            // Another thread is already reporting, and will end the process: stop where it can read us.
            park(thread)
        }
        var waits: [ThreadWait] = []
        var visited: Set<UInt32> = []
        var serial = thread.serial
        var closesCycle = false
        while let wait = serial == thread.serial ? snapshot(of: thread) : snapshot(ofOther: serial) {
            let waitingFor =
                wait.instance == 0 ? nil : LockClass.lockInfo(classID: wait.lockClass, instance: wait.instance)
            waits.append(
                ThreadWait(
                    thread: wait.info, waitingFor: waitingFor,
                    waitingAt: wait.instance == 0 || wait.file == nil
                        ? nil : CallSite(file: wait.file!, line: UInt(wait.line)).site,
                    holder: wait.holder,
                    waitedNanoseconds: wait.instance == 0 ? 0 : TSCClock.nanoseconds(lv_rdtsc() &- wait.since),
                    heldLocks: wait.heldLocks, stack: wait.stack, holderThread: holderInfo(wait.holder)))
            visited.insert(serial)
            guard wait.instance != 0, wait.holder != 0 else { break }
            if visited.contains(wait.holder) {
                closesCycle = true
                break
            }
            serial = wait.holder
        }
        let story = waits.map { wait -> String in
            guard let lock = wait.waitingFor else { return "\(wait.thread) is not waiting" }
            return "\(wait.thread) spins on \"\(lock.name)\" held by \(wait.holderDescription(among: waits))"
        }.joined(separator: ", ")
        let milliseconds = (TSCClock.nanoseconds(waitedCycles) / 1e6).rounded()
        let verdict = closesCycle ? "a deadlock" : "starvation (the holder is not waiting on this chain)"
        // Each lock once: a thread waiting on a cycle it is not part of names the lock the cycle closes on.
        var seen = Set<UInt64>()
        let locks = waits.compactMap(\.waitingFor).filter { seen.insert($0.instance).inserted }
        var violation = LockValidator.makeViolation(
            .spinTimeout, summary: "spin wait of \(Int(milliseconds)) ms passed the watchdog: \(story): \(verdict)",
            locks: locks, site: waits.first?.waitingAt, waits: waits,
            awaited: waits.first?.waitingFor?.instance)
        // A wait-for cycle is a deadlock: in confirmation mode, confirmed with the pauses that led to it.
        if closesCycle { violation.confirmation = DeadlockConfirmation.confirmation(ofDeadlock: waits) }
        // The inversion the thread closing the cycle found before it spun, and whatever else running tests
        // collected: their scopes never end now.
        let collected = LockValidator.reportCollectedBeforeRunEnds()
        LockValidator.deliverFatal(violation)
        LockValidator.printRunEndLines(ending: violation, in: ViolationScope.effective, collected: collected)
        ReportWriter.writeConfiguredReport()
        printToStandardError(
            "LockValidator: spin-timeout after \(Int(milliseconds)) ms (LOCKVALIDATOR_SPIN_TIMEOUT_MS="
                + "\(LockValidator.configuration.spinTimeoutMilliseconds)); aborting so the run ends with this diagnosis"
        )
        abort()
    }
}
