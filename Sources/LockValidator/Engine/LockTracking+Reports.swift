import Synchronization
import _LockValidatorShims

// What a lock's acquire and release steps found, as reports word it: the steps find (lockdep's `check_*`),
// these report (its `print_*_bug`). Each runs only when something is wrong, out of line.

extension LockTracking {
    // MARK: Acquire

    /// `blocking-while-held`: a lock that sleeps taken at DISPATCH_LEVEL or above, or with a spin lock held.
    @usableFromInline
    @inline(never)
    func printBlockingWhileHeldBug(on thread: ThreadState, at site: CallSite) {
        // Worked out inside `record`'s autoclosures, whose time is billed to the validator, not the holds.
        LockValidator.record(
            .blockingWhileHeld,
            summary: "\(thread.info) takes the sleeping lock \(info) "
                + (newestSpinLock(on: thread).map {
                    "with the spin lock \($0.lockInfo) held (acquired at \($0.acquiredAt))"
                } ?? "at \(thread.irql)"),
            locks: [info] + (newestSpinLock(on: thread).map { [$0.lockInfo] } ?? []), site: site.site)
    }

    /// The newest spin lock `thread` holds, which a report names as a blocking call's report does.
    private func newestSpinLock(on thread: ThreadState) -> lv_held_lock? {
        (0..<thread.depth).reversed().lazy.map { thread.held($0).pointee }
            .first { $0.kind != AcquireKind.annotated.rawValue }
    }

    /// `recursive-acquire`: the thread holds the lock (first acquired at the held entry `index`, if it has
    /// one) and would wait for itself.
    @usableFromInline
    @inline(never)
    func printRecursiveAcquireBug(firstAcquiredAt index: Int?, on thread: ThreadState, at site: CallSite) {
        LockValidator.record(
            .recursiveAcquire,
            summary: "\(thread.info) is trying to acquire \(info), which it already holds"
                + (index.map { " (first acquired at \(Self.siteShown(ofHold: $0, on: thread)))" } ?? "")
                + "; reported instead of waiting for itself forever",
            locks: [info], site: site.site)
    }

    /// Where hold `index` of `thread` was acquired, as the held list shows it: a hold taken in lock-wrapper
    /// code (an outer `DispatchQueue.sync`) at its caller, not at the wrapper's call into the lock.
    private static func siteShown(ofHold index: Int, on thread: ThreadState) -> Site {
        let site = thread.held(index).pointee.acquiredAt
        guard case .code = site else { return site }  // a source site is the caller's own line
        let held = LockWrapperCode.sitesOutside(
            thread.heldLockInfos(awaiting: nil), along: StackTrace.capture().addresses)
        return held[index].acquiredAt
    }

    /// `mixed-acquire-kinds`: the routines of `family` used here, those of `clashing` elsewhere.
    func printMixedAcquireKindsBug(family: UInt8, clashing: UInt8, at site: CallSite) {
        LockValidator.record(
            .mixedAcquireKinds,
            summary: "\(info) is acquired with \(KindFamily.name(family)) routines here and with"
                + " \(KindFamily.name(clashing)) routines elsewhere; one KSPIN_LOCK must use one kind",
            locks: [info], site: site.site)
    }

    /// `capacity-exhausted`: the thread's held-lock stack is full.
    @usableFromInline
    @inline(never)
    func printHeldStackFullBug(on thread: ThreadState, at site: CallSite) {
        LockValidator.record(
            .capacityExhausted,
            summary: "the held-lock stack of \(thread.info) is full (\(LV_MAX_HELD) entries): \(info) and any"
                + " further lock taken while this many are held go untracked; the locks themselves still work",
            site: site.site)
    }

    /// `irql-too-high`: `routine` called above the IRQL it raises to.
    @usableFromInline
    @inline(never)
    package func printIRQLTooHighBug(_ routine: String, at irql: IRQL, limit: IRQL, site: CallSite) {
        LockValidator.record(
            .irqlTooHigh,
            summary: "\(routine) on \(info) called at \(irql); it must be called at or below \(limit)",
            locks: [info], site: site.site)
    }

    /// `irql-too-low`: an `AtDpcLevel` / `FromDpcLevel` routine called below DISPATCH_LEVEL.
    @usableFromInline
    @inline(never)
    package func printIRQLTooLowBug(_ routine: String, at irql: IRQL, site: CallSite) {
        LockValidator.record(
            .irqlTooLow,
            summary: "\(routine) on \(info) called at \(irql); it must be called at or above DISPATCH_LEVEL",
            locks: [info], site: site.site)
    }

    // MARK: Release

    /// `release-not-held`, or `release-wrong-thread` when the owner word names another thread (`holder`).
    @usableFromInline
    @inline(never)
    func printReleaseNotHeldBug(holder: UInt32, on thread: ThreadState, at site: CallSite) {
        // A spin lock's bad release is not made; an annotated lock's is the caller's own.
        let outcome = policy.contains(.annotated) ? "" : "; the release is ignored"
        if holder != 0 && holder != thread.serial {
            LockValidator.record(
                .releaseWrongThread,
                summary: "\(thread.info) is trying to release \(info), which \(ThreadRegistry.described(holder))"
                    + " holds\(outcome)",
                locks: [info], site: site.site)
        } else if policy.contains(.annotated) {
            LockValidator.record(
                .releaseNotHeld,
                summary: "\(thread.info) is trying to release \(info), which it does not hold (a double release,"
                    + " one never acquired, or one acquired on another thread)",
                locks: [info], site: site.site)
        } else {
            LockValidator.record(
                .releaseNotHeld,
                summary: "\(thread.info) is trying to release \(info), which no thread holds"
                    + " (a double release, or one never acquired)\(outcome)",
                locks: [info], site: site.site)
        }
    }

    /// `release-out-of-order`: `newer`, acquired after this lock, is still held.
    @usableFromInline
    @inline(never)
    func printReleaseOutOfOrderBug(newer: lv_held_lock, on thread: ThreadState, at site: CallSite) {
        LockValidator.record(
            .releaseOutOfOrder,
            summary: "\(thread.info) releases \(info) while \(newer.lockInfo), acquired later at"
                + " \(newer.acquiredAt), is still held",
            locks: [info], site: site.site)
    }

    /// `release-wrong-irql`: released at an IRQL other than `heldAt`, the one it runs at.
    @usableFromInline
    @inline(never)
    func printReleaseWrongIRQLBug(heldAt irql: IRQL, on thread: ThreadState, at site: CallSite) {
        LockValidator.record(
            .releaseWrongIRQL, summary: "\(info) runs at \(irql) but is released at \(thread.irql)", locks: [info],
            site: site.site)
    }

    /// `mixed-acquire-kinds` at a release: acquired with one family of routines, released with another.
    @usableFromInline
    @inline(never)
    func printMixedAcquireKindsBug(acquiredWith acquired: UInt8, releasedWith released: UInt8, at site: CallSite) {
        LockValidator.record(
            .mixedAcquireKinds,
            summary: "\(info) was acquired with \(KindFamily.name(acquired)) routines and is released with"
                + " \(KindFamily.name(released)) routines; it is released as acquired",
            locks: [info], site: site.site)
    }

    // MARK: Other events

    /// `error-while-held`: an error thrown out of a critical section of this lock.
    package func printErrorWhileHeldBug(_ error: any Error, at site: CallSite) {
        LockValidator.record(
            .errorWhileHeld,
            summary: "an error (\(type(of: error)): \(error)) was thrown out of a critical section of \(info);"
                + " the lock is released and the error rethrown",
            locks: [info], site: site.site)
    }

    /// `lock-freed-while-held`: by the thread `holder` (0: none known), or by this thread.
    func printLockFreedWhileHeldBug(holder: UInt32, heldHere: Bool, on thread: ThreadState) {
        let by =
            holder == thread.serial || heldHere
            ? " by this thread" : holder == 0 ? "" : " by \(ThreadRegistry.described(holder))"
        LockValidator.record(
            .lockFreedWhileHeld, summary: "\(info) is being freed while it is held\(by)", locks: [info], site: nil)
    }
}
