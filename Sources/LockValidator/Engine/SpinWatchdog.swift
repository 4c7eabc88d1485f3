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
@usableFromInline
package enum SpinWatchdog {
    /// Called by a spinning thread at each yield: publishes the wait, keeps the stack once the wait is
    /// long, and fires after the timeout.
    package static func check(
        waitingFor tracking: borrowing LockTracking, since start: UInt64, on thread: ThreadState,
        fileID: StaticString, line: UInt
    ) {
        guard lv_validation_enabled() != 0 else { return }
        let state = thread.pointer
        let now = lv_rdtsc()
        if state.pointee.waiting_instance == 0 {
            state.pointee.waiting_file = UnsafeRawPointer(fileID.utf8Start).assumingMemoryBound(to: CChar.self)
            state.pointee.waiting_line = UInt32(truncatingIfNeeded: line)
            lv_store_relaxed_u32(&state.pointee.waiting_class, tracking.lockClass.id)
            lv_store_relaxed_u64(&state.pointee.waiting_since_tsc, start)
            lv_store_relaxed_u64(&state.pointee.waiting_instance, tracking.instance)
        }
        lv_store_relaxed_u32(&state.pointee.waiting_owner, tracking.ownerSerial)
        let timeout = lv_spin_timeout_cycles()
        let elapsed = now &- start
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

    /// Reports the wait-for chain, writes the report file and aborts the process.
    static func expired(on thread: ThreadState, waitedCycles: UInt64) -> Never {
        guard !firing.exchange(true, ordering: .acquiringAndReleasing) else {
            // Another thread is already reporting; it will end the process.
            while true { sleep(1) }
        }
        var waits: [ThreadWait] = []
        var visited: Set<UInt32> = []
        var serial = thread.serial
        var closesCycle = false
        while let entry = ThreadRegistry.entry(serial) {
            let state = entry.state
            let instance = lv_load_relaxed_u64(&state.pointee.waiting_instance)
            let holder = lv_load_relaxed_u32(&state.pointee.waiting_owner)
            let lockClass = LockClass.withID(lv_load_relaxed_u32(&state.pointee.waiting_class))
            let waitingFor =
                instance == 0
                ? nil
                : LockInfo(
                    name: lockClass?.name ?? "?", site: lockClass?.site ?? SourceSite(fileID: "?", line: 0),
                    instance: instance)
            let since = lv_load_relaxed_u64(&state.pointee.waiting_since_tsc)
            let stack =
                serial == thread.serial
                ? StackTrace.capture()
                : StackTrace(
                    addresses: withUnsafeMutablePointer(to: &state.pointee.waiting_stack) { frames in
                        frames.withMemoryRebound(to: UInt.self, capacity: Int(LV_MAX_FRAMES)) { frames in
                            (0..<Int(max(0, state.pointee.waiting_stack_depth))).map { frames[$0] }
                        }
                    })
            waits.append(
                ThreadWait(
                    thread: serial == thread.serial ? thread.info : ThreadRegistry.info(serial), waitingFor: waitingFor,
                    waitingAt: instance == 0 || state.pointee.waiting_file == nil
                        ? nil
                        : SourceSite(
                            fileID: String(cString: state.pointee.waiting_file), line: UInt(state.pointee.waiting_line)),
                    holder: holder, waitedNanoseconds: instance == 0 ? 0 : TSCClock.nanoseconds(lv_rdtsc() &- since),
                    heldLocks: ThreadState(pointer: state).heldLockInfos, stack: stack))
            visited.insert(serial)
            guard instance != 0, holder != 0 else { break }
            if visited.contains(holder) {
                closesCycle = true
                break
            }
            serial = holder
        }
        let story = waits.map { wait -> String in
            guard let lock = wait.waitingFor else { return "\(wait.thread) is not waiting" }
            return "\(wait.thread) spins on \"\(lock.name)\" held by thread \(wait.holder)"
        }.joined(separator: ", ")
        let milliseconds = (TSCClock.nanoseconds(waitedCycles) / 1e6).rounded()
        let verdict = closesCycle ? "a deadlock" : "starvation (the holder is not waiting on this chain)"
        LockValidator.deliverFatal(
            LockValidator.makeViolation(
                .spinTimeout, summary: "spin wait of \(Int(milliseconds)) ms passed the watchdog: \(story): \(verdict)",
                locks: waits.compactMap(\.waitingFor), site: waits.first?.waitingAt, waits: waits))
        ReportWriter.writeConfiguredReport()
        printToStandardError(
            "LockValidator: spin-timeout after \(Int(milliseconds)) ms (LOCKVALIDATOR_SPIN_TIMEOUT_MS="
                + "\(LockValidator.configuration.spinTimeoutMilliseconds)); aborting so the run ends with this diagnosis"
        )
        abort()
    }
}
