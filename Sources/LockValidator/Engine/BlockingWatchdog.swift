import _LockValidatorShims

/// The deadlock watchdog's report, for threads blocked in interposed pthread waits (the pthread
/// interposer finds the cycle; see `deadlock_watchdog.c`): every thread of the wait-for cycle, what it
/// holds and waits for, and its stack, as the spin watchdog reports a chain; then the report file and
/// the learned-order store are written and the process ends, so a test run ends with a diagnosis
/// instead of a hung CI job.
///
/// The process ends with `_exit`, not `exit`: the program's exit handlers could wait for the locks the
/// deadlocked threads hold, and what `exit` would write for the validator (the report, the store) is
/// written here.
package enum BlockingWatchdog {
    /// Reports the deadlock among `members` (the calling thread first; each waits for a lock the next
    /// one holds, the last for one the first holds), and ends the process: with `LOCKVALIDATOR_EXIT_CODE`
    /// unless that is 0 (a deadlocked process has not done its work, whatever violations may be let pass),
    /// else with `failureStatus`.
    ///
    /// Every member but the caller has parked (stopped for good) by now, unless `parked` says otherwise:
    /// its held stack and stack are read only then.
    ///
    /// With `callerIsMember` false (the Dispatch queue monitor reports threads blocked in `sync`), no member
    /// is the calling thread.
    ///
    /// - Parameter memberScope: with `callerIsMember` false, the scope of the first member that has one
    ///   (the code that waits, not the monitor that found it): the deadlock belongs to that test.
    package static func reportDeadlock(
        _ members: UnsafeBufferPointer<lv_deadlock_member>, failureStatus: Int, callerIsMember: Bool = true,
        memberScope: ViolationScope? = nil, lockInfo: (UnsafeMutableRawPointer) -> LockInfo
    ) -> Never {
        lv_enter_validator()  // validator code: its writes are not the program's blocking calls
        let threads = members.indices.map { threadInfo(members[$0], isCaller: callerIsMember && $0 == 0) }
        let waits = members.indices.map { index in
            let next = (index + 1) % members.count
            return threadWait(members[index], thread: threads[index], holder: threads[next], lockInfo: lockInfo)
        }
        // Each holder named as its thread is everywhere else in reports, not by its number alone.
        let story = waits.map { wait in
            "\(wait.thread) waits for \(wait.waitingFor.map { "\($0)" } ?? "?") held by"
                + " \(wait.holderDescription(among: waits))"
        }.joined(separator: ", ")
        let scope = callerIsMember ? ViolationScope.effective : memberScope
        var violation = LockValidator.makeViolation(
            .deadlock,
            summary: "\(waits.count) threads blocked on each other's locks: \(story): a deadlock",
            locks: waits.compactMap(\.waitingFor), site: waits.first?.waitingAt, waits: waits,
            // The caller's own held list, without the lock it waits for (its entry pushed before the wait).
            awaited: callerIsMember ? members.first?.instance : nil, scope: scope)
        if !callerIsMember, let first = waits.first {
            // The monitor found it: the report is the first member's (its thread, held locks and stack).
            violation = Violation(
                rule: violation.rule, summary: violation.summary, severity: violation.severity,
                locks: violation.locks, site: violation.site, thread: first.thread, irql: violation.irql,
                heldLocks: first.heldLocks, stack: first.stack, occurrences: 1, scope: violation.scope,
                waits: waits)
        }
        violation.confirmation = DeadlockConfirmation.confirmation(ofDeadlock: waits)
        // A cycle the learned-order store predicted whole: its inversion first, as this run took no new order.
        DeadlockConfirmation.reportInversionBeforeDeadlock(
            waits, confirmation: violation.confirmation, scope: scope,
            awaited: callerIsMember ? members.first?.instance : nil)
        // The inversion its closing thread found before it waited, and whatever else running tests collected.
        let collected = LockValidator.reportCollectedBeforeRunEnds()
        LockValidator.deliverFatal(violation)
        LockValidator.printRunEndLines(ending: violation, in: scope, collected: collected)
        ReportWriter.writeConfiguredReport()
        LearnedOrders.writeBack()
        let configured = ConfigurationStore.loaded.configuration.exitCode
        let status = configured.flatMap { $0 == 0 ? nil : $0 } ?? failureStatus
        printToStandardError(
            "LockValidator: deadlock among \(waits.count) threads; exiting with status \(status) so the run ends"
                + " with this diagnosis")
        lv_flush_and_exit(Int32(truncatingIfNeeded: status))
    }

    /// A member's thread as reports name it.
    private static func threadInfo(_ member: lv_deadlock_member, isCaller: Bool) -> ThreadInfo {
        let thread = isCaller ? ThreadState.current.info : ThreadRegistry.info(member.serial)
        guard thread.osThreadID == 0 else { return thread }
        return ThreadInfo(serial: member.serial, osThreadID: member.os_thread_id, name: nil)
    }

    /// One member as the report shows it; `holder` holds the lock it waits for.
    private static func threadWait(
        _ member: lv_deadlock_member, thread: ThreadInfo, holder: ThreadInfo,
        lockInfo: (UnsafeMutableRawPointer) -> LockInfo
    ) -> ThreadWait {
        var member = member
        var held: [HeldLockInfo] = []
        if member.parked != 0, let state = member.state {
            held = ThreadState(pointer: state).heldLockInfos
            // Not the entry its acquire pushed before it began to wait.
            if held.last?.lock.instance == member.instance { held.removeLast() }
        }
        let depth = Int(max(0, member.stack_depth))
        let stack = withUnsafeBytes(of: &member.stack) { frames in
            (0..<depth).map { frames.load(fromByteOffset: $0 * MemoryLayout<UInt>.stride, as: UInt.self) }
        }
        held = LockWrapperCode.sitesOutside(held, along: stack)
        let how = Int(member.how)
        // In wrapper code (`DispatchQueue.sync`, `NSLock.lock`), the site is its caller on the stack.
        let asked = Site.code(CodeSite(returnAddress: UInt(member.caller)))
        let waitingAt = LockWrapperCode.siteOutside(asked, along: stack) ?? asked
        return ThreadWait(
            thread: thread, waitingFor: member.lock_object.map(lockInfo),
            waitingAt: waitingAt, holder: holder.serial,
            waitedNanoseconds: Double(member.blocked_ns), heldLocks: held, stack: StackTrace(addresses: stack),
            isBlocking: how != LV_WAIT_SPIN,
            forReading: how == LV_WAIT_READ ? true : how == LV_WAIT_WRITE ? false : nil, holderThread: holder)
    }
}
