import Synchronization
import _LockValidatorShims

/// The validator's state for one lock instance, and the steps every acquire and release of every front
/// end go through: lockdep's `lock_acquire`, `lock_acquired` and `lock_release`, as
/// ``acquire(_:trylock:read:nesting:queueNode:lockObject:on:at:)``, ``acquired(_:on:waitCycles:waited:)``
/// and ``release(_:restoring:queueNode:releasedAt:on:at:)``.
///
/// A front end is a client with a ``LockPolicy``: `SpinLock` (through `SpinLockValidation`), and
/// ``AnnotatedLock`` for ``LockID`` annotations, `ValidatedMutex` and LockValidatorPthreads. It calls
/// `acquire` before it waits for the lock, so that everything that can be checked is checked before the
/// wait (a recursive acquire is reported instead of waiting forever, a lock order that closes a cycle
/// before the threads that close it deadlock), `acquired` once it holds the lock, and `release` before it
/// unlocks, doing what the answers say. The spin lock's common cases, which teach the validator nothing,
/// take the inlinable fast paths first (``holdIfKnown(_:on:queueNode:lockObject:at:)``,
/// ``holdTaken(on:waitCycles:)``, ``releaseIfKnown(_:queueNode:on:)``).
///
/// Finding and reporting are apart, as in lockdep's `check_*` and `print_*_bug`: the steps here find,
/// `LockTracking+Reports.swift` words the reports. The per-thread held-lock stack lives in C `__thread`
/// storage; the owner is kept here, written only by the thread that holds the lock.
@usableFromInline
package struct LockTracking: ~Copyable {
    // What an acquire and its release read first, the init site last: fewer cache lines per lock. In C's
    // order too (`lv_annotated_fast`, which reads an interposed lock in place): checkFastPathLayout(at:).

    /// The lock's class.
    @usableFromInline package let lockClass: LockClass
    /// The instance serial.
    @usableFromInline package let instance: UInt64
    /// The serial of the owning thread, 0 when free.
    @usableFromInline let owner = Atomic<UInt32>(0)
    /// `KindFamily` bits of every kind of routine used on the lock so far.
    @usableFromInline let kindsUsed = Atomic<UInt8>(0)
    /// What the front end's locks are.
    @usableFromInline package let policy: LockPolicy
    /// The generation (`lv_validation_enabled()`, which `LockValidator.reset()` advances) in which the
    /// instance was first held; `LV_GENERATION_LAST + 1` before its first hold. That hold is marked its first
    /// (`LV_NESTING_FIRST_HOLD`), the only one the hold-time rule reports alone.
    @usableFromInline let heldBefore = Atomic<UInt16>(UInt16(LV_GENERATION_LAST + 1))
    /// Bit n: the instance was held at device IRQL n (an exact check across device levels needs the
    /// instance, not only its class).
    @usableFromInline let deviceLevels = Atomic<UInt32>(0)
    /// Where the instance was created, by its number in ``InternedSites``: 4 bytes a lock, not 25.
    let initSiteNumber: UInt32
    /// This lock's hold budget in TSC cycles; 0 follows the configuration's.
    @usableFromInline let holdBudgetCycles: UInt64

    package init(name: String?, policy: LockPolicy = .spinLock, holdBudget: Duration? = nil, site: CallSite) {
        let site = site.keptSite
        self.init(of: LockClass.named(name, site: site), policy: policy, holdBudget: holdBudget, site: site)
    }

    /// - Parameter holdBudget: this lock's own hold budget; nil for the configuration's (none for a lock
    ///   that sleeps).
    package init(of lockClass: LockClass, policy: LockPolicy = .spinLock, holdBudget: Duration? = nil, site: Site?) {
        self.lockClass = lockClass
        self.instance = LockInstance.next()
        self.policy = policy
        self.initSiteNumber = InternedSites.number(of: site)
        // Its lock_stat counters are its class's, kept per thread: an instance is only counted alive.
        LockStatisticsArena.instanceMade(ofClass: lockClass.id)
        // A sleeping lock has no spin-lock hold budget: a year stands for none.
        let budget = policy.contains(.sleeps) ? .seconds(365 * 24 * 3600) : holdBudget
        holdBudgetCycles = budget.map { TSCClock.cycles(nanoseconds: max($0.nanoseconds, 1)) } ?? 0
    }

    /// Forgets what was kept about this instance; call from the lock's deinit.
    package func retire() {
        if deviceLevels.load(ordering: .relaxed) != 0 { IRQLUsage.forgetInstance(instance) }
        LockStatisticsArena.instanceFreed(instance, ofClass: lockClass.id, held: ownerSerial != 0)
    }

    /// The serial of the thread holding the lock, 0 when free (or, for an annotated lock, not known).
    package var ownerSerial: UInt32 { owner.load(ordering: .relaxed) }

    /// Where the instance was created.
    package var initSite: Site? { InternedSites.site(initSiteNumber) }

    /// The lock as reports name it.
    package var info: LockInfo { LockInfo(of: lockClass, instance: instance, site: initSite) }

    /// Forgets the owner: the lock is being released for a thread that exited holding it.
    package func forgetOwner() { owner.store(0, ordering: .relaxed) }

    /// Whether `thread` holds the lock, by its owner word.
    @inlinable
    package func isOwned(by thread: ThreadState) -> Bool { owner.load(ordering: .relaxed) == thread.serial }

    /// Whether C's fast path of an interposed sleeping lock (`lv_annotated_took_fast`,
    /// `lv_annotated_release_fast`) may take this lock's acquires at nesting level `nesting`: a sleeping
    /// annotated lock of a class below the cap, taken at level 0.
    package func isFastPathEligible(nesting: Int) -> Bool {
        // Confirmation mode steers acquires in the Swift steps: its locks take none of C's fast path.
        policy.contains(.annotated) && policy.contains(.sleeps) && nesting == 0 && !lockClass.isOverflow
            && !DeadlockConfirmation.steersEveryAcquire
    }

    /// Checks that this value, at `address`, is laid out as C's fast path reads it in place
    /// (`lv_annotated_fast`, and its class at the `LV_CLASS_*` offsets): Swift lays stored properties out
    /// in order, which no rule promises, so a lock whose layout differs stops the program here rather than
    /// have C read the wrong words.
    package func checkFastPathLayout(at address: UnsafeRawPointer) {
        func offset(_ field: PartialKeyPath<lv_annotated_fast>) -> Int {
            MemoryLayout<lv_annotated_fast>.offset(of: field)!
        }
        let classObject = UnsafeRawPointer(Unmanaged.passUnretained(lockClass).toOpaque())
        let ownerAddress = withUnsafePointer(to: owner) { UnsafeRawPointer($0) }
        let levelsAddress = withUnsafePointer(to: lockClass.levelsUsed) { UnsafeRawPointer($0) }
        precondition(
            address.load(fromByteOffset: offset(\.lock_class), as: UnsafeRawPointer.self) == classObject
                && address.load(fromByteOffset: offset(\.instance), as: UInt64.self) == instance
                && ownerAddress == address + offset(\.owner)
                && classObject.load(fromByteOffset: Int(LV_CLASS_ID_OFFSET), as: UInt32.self) == lockClass.id
                && levelsAddress == classObject + Int(LV_CLASS_LEVELS_USED_OFFSET)
                && classObject.load(fromByteOffset: Int(LV_CLASS_CHAIN_KEY_ALONE_OFFSET), as: UInt64.self)
                    == lockClass.chainKeyAlone,
            "LockValidator: a lock's layout is not the one C's fast path reads (lv_annotated_fast)")
    }

    /// Reports a lock deinitialised while held, and forgets it on the calling thread's held stack.
    package func freed(whileLocked isLocked: Bool) {
        let holder = owner.load(ordering: .relaxed)
        let thread = ThreadState.current
        let heldHere = thread.indexOfHeld(instance: instance) != nil
        guard isLocked || holder != 0 || heldHere else { return }
        printLockFreedWhileHeldBug(holder: holder, heldHere: heldHere, on: thread)
        while let index = thread.indexOfHeld(instance: instance) { thread.remove(at: index) }
    }

    // MARK: lock_acquire: the fast path

    /// A spin lock's acquire (at nesting level 0) that teaches the validator nothing: a lock used before with this
    /// kind of routine at this IRQL, in a chain of held classes validated before. Pushes the held entry,
    /// extends the chain key and returns the entry (for ``holdTaken(_:on:waitCycles:)``); returns nil, having
    /// changed nothing, when any step of ``acquire(_:trylock:read:nesting:queueNode:lockObject:on:at:)`` has
    /// work to do, or the checks are off.
    @inlinable @inline(__always)
    package func holdIfKnown(
        _ kind: AcquireKind, on thread: ThreadState, queueNode: UnsafeMutableRawPointer? = nil,
        lockObject: UnsafeMutableRawPointer? = nil, at site: CallSite
    ) -> UnsafeMutablePointer<lv_held_lock>? {
        let previousChainKey = thread.chainKey
        let isTry = kind == .tryAcquire
        let flags = isTry ? UInt8(LV_HELD_TRY) : 0
        // A try-acquire is held exclusively: its chain element is its class, as the others'.
        let key =
            previousChainKey == 0
            ? lockClass.chainKeyAlone ^ thread.chainSeed : ChainCache.extend(previousChainKey, with: lockClass.id)
        guard
            _fastPath(
                // The checks are on (the generation is not 0) and this is not the instance's first hold
                // of the generation (hold() marks that one), in one compare.
                Int32(heldBefore.load(ordering: .relaxed)) == lv_validation_enabled() && !isOwned(by: thread)
                    && thread.depth < Int(LV_MAX_HELD)
                    && kindsUsed.load(ordering: .relaxed) & KindFamily.of(kind) != 0 && isKnownUsage(at: thread.irql)
                    // A try (rare) tested last: the common cases branch once, with no flag kept.
                    && (previousChainKey == 0 || ChainCache.contains(key) || isTry))
        else { return nil }
        // A spin lock's hold (the only front end that calls this): no second look at the kind.
        let entry = thread.pushHeldUnchecked(
            instance: instance, classID: lockClass.id, kind: kind.rawValue, flags: flags, nesting: 0,
            queueNode: queueNode, site: site, previousChainKey: previousChainKey, lockObject: lockObject,
            spinHold: true)
        thread.chainKey = key
        return entry
    }

    /// Whether this lock's class has been used at `level` before (and this instance, at a device level):
    /// then `noteIRQLUsage` has nothing to record. The overflow class never is: it records nothing.
    @inlinable @inline(__always)
    func isKnownUsage(at level: IRQL) -> Bool {
        // Bit tests (x86 `bt`), not a mask made by a shift.
        let level16 = UInt16(level.rawValue & 15)
        return lockClass.levelsUsed.load(ordering: .relaxed) &>> level16 & 1 != 0 && !lockClass.isOverflow
            && (level <= .dispatch || deviceLevels.load(ordering: .relaxed) &>> UInt32(level16) & 1 != 0)
    }

    // MARK: lock_acquire

    /// Checks an acquire before the caller waits for the lock, in the steps of lockdep's `__lock_acquire`,
    /// and records it on the thread's held stack; the caller takes the lock unless the answer is `.skip`.
    ///
    /// 1. A lock that sleeps, where the thread must not block: `blocking-while-held`.
    /// 2. A lock the thread holds already: a nested hold where the lock allows it (a try-lock that
    ///    succeeded, a reentrant lock, a recursive read under a read), else `recursive-acquire`, recorded
    ///    as a placeholder entry that the matching release removes, instead of waiting forever.
    /// 3. One kind of routine per spin lock (`mixed-acquire-kinds`).
    /// 4. Push the held entry and extend the chain key; a chain no thread has validated is validated
    ///    now, before the wait, so that the thread closing a cycle reports it instead of deadlocking.
    /// 5. Note the IRQL the lock is used at.
    ///
    /// - Parameters:
    ///   - kind: the routine, as the held entry records it.
    ///   - trylock: a try-lock that succeeded: it never waited, so no lock-order edge leads into it.
    ///   - read: a reader's acquire of a reader–writer lock (lockdep's read rules).
    ///   - nesting: the declared nesting level; level n puts the lock in subclass n.
    ///   - queueNode: the MCS node of a queued acquire, which its release names the acquisition by.
    ///   - lockObject: the lock wrapper, released on the thread's behalf if it exits holding the lock.
    ///   - taken: the caller took the lock already, without waiting (an interposed lock that was free):
    ///     this is ``acquired(_:on:waitCycles:waited:)`` as well, in one step.
    ///
    /// Inlined into each front end's acquire, so that its common case is one frame; the front end calls
    /// it only with the checks on (`lv_validation_enabled()`), which it has read already.
    @inlinable @inline(__always)
    package func acquire(
        _ kind: AcquireKind, trylock: Bool = false, read: Bool = false, nesting: Int = 0,
        queueNode: UnsafeMutableRawPointer? = nil, lockObject: UnsafeMutableRawPointer? = nil, taken: Bool = false,
        on thread: ThreadState, at site: CallSite
    ) -> AcquireAction {
        if policy.contains(.sleeps) && !trylock
            && _slowPath(thread.irql >= .dispatch || thread.depth > 0 && thread.holdsSpinLock)
        {
            printBlockingWhileHeldBug(on: thread, at: site)
        }
        if policy.contains(.annotated) {
            if _slowPath(thread.depth > 0), let index = thread.indexOfHold(instance: instance) {
                return acquireAgain(kind, trylock: trylock, read: read, heldAt: index, on: thread, at: site)
            }
        } else if _slowPath(isOwned(by: thread)) {
            return acquireAgain(
                kind, trylock: trylock, read: read, heldAt: nil, queueNode: queueNode, on: thread, at: site)
        }
        // An annotated lock's routines are the caller's own: only a spin lock's can clash.
        if !policy.contains(.annotated) { checkRoutineKind(kind, at: site) }
        var flags = trylock ? UInt8(LV_HELD_TRY) : 0
        if read {
            flags |= UInt8(LV_HELD_SHARED) | (policy.contains(.recursiveReads) ? UInt8(LV_HELD_RECURSIVE_READ) : 0)
        }
        guard
            _fastPath(
                hold(
                    kind, flags: flags, nesting: nesting, queueNode: queueNode, lockObject: lockObject, on: thread,
                    at: site))
        else {
            // Untracked (reported once per thread). An annotated lock's release cannot tell that from a
            // release of a lock not held by its owner word, so the thread counts them.
            if policy.contains(.annotated) { thread.pointer.pointee.untracked_annotated &+= 1 }
            return .lockUntracked
        }
        noteIRQLUsage(on: thread, at: site)
        if taken { acquired(thread.held(thread.depth - 1), on: thread, waited: false) }
        return .lock
    }

    /// Confirmation mode, in a front end's waiting acquire before its `acquire` step and its wait: holds
    /// the thread back when this closes an order of a predicted cycle, until `heldElsewhere` (another
    /// thread holds the lock) or the pause's bound. Only on the Swift steps, which an acquire with a
    /// predicted order always takes in the mode (its chain is never cached).
    package func pauseBeforeWaitIfPredicted(heldElsewhere: () -> Bool) {
        guard _slowPath(DeadlockConfirmation.steersEveryAcquire) else { return }
        DeadlockConfirmation.pauseIfPredicted(before: self, heldElsewhere: heldElsewhere)
    }

    /// Step 2: an acquire of a lock the thread holds (at `heldAt` on its held stack; nil when only the owner
    /// word says so). A nested hold takes no part in lock order and is released as any hold is.
    @usableFromInline
    @inline(never)
    func acquireAgain(
        _ kind: AcquireKind, trylock: Bool, read: Bool, heldAt index: Int?, queueNode: UnsafeMutableRawPointer? = nil,
        on thread: ThreadState, at site: CallSite
    ) -> AcquireAction {
        let heldShared = index.map { thread.held($0).pointee.has(LV_HELD_SHARED) } ?? false
        // A try-lock that succeeded on a lock this thread holds shows the lock allows it.
        if trylock || policy.contains(.reentrant) || read && heldShared && policy.contains(.recursiveReads) {
            var flags = UInt8(LV_HELD_NESTED) | (trylock ? UInt8(LV_HELD_TRY) : 0)
            if read {
                flags |= UInt8(LV_HELD_SHARED) | (policy.contains(.recursiveReads) ? UInt8(LV_HELD_RECURSIVE_READ) : 0)
            }
            _ = pushHeldEntry(
                kind, classID: lockClass.id, flags: flags, nesting: 0, previousChainKey: thread.chainKey,
                queueNode: nil, lockObject: nil, on: thread, at: site)
            return .lock
        }
        printRecursiveAcquireBug(firstAcquiredAt: thread.indexOfHold(instance: instance), on: thread, at: site)
        // The placeholder leaves the chain key as it is: it is not a second hold. It keeps the queue node
        // so that the handle that made it releases it, whatever the order.
        _ = pushHeldEntry(
            kind, classID: lockClass.id, flags: UInt8(LV_HELD_RECURSIVE), nesting: 0,
            previousChainKey: thread.chainKey, queueNode: queueNode, lockObject: nil, on: thread, at: site)
        return .skip
    }

    /// Step 3: notes the first use of each kind of routine, and reports one that clashes with the kinds
    /// used before.
    @inlinable
    func checkRoutineKind(_ kind: AcquireKind, at site: CallSite) {
        if _slowPath(kindsUsed.load(ordering: .relaxed) & KindFamily.of(kind) == 0) { firstUse(of: kind, at: site) }
    }

    @usableFromInline
    @inline(never)
    func firstUse(of kind: AcquireKind, at site: CallSite) {
        let family = KindFamily.of(kind)
        let before = kindsUsed.bitwiseOr(family, ordering: .relaxed).oldValue
        let clashing = before & KindFamily.spinRoutines & ~family
        guard family & KindFamily.spinRoutines != 0, clashing != 0 else { return }
        printMixedAcquireKindsBug(family: family, clashing: clashing, at: site)
    }

    /// Step 4: pushes the held entry and extends the chain key; returns false when the stack is full.
    @inlinable
    func hold(
        _ kind: AcquireKind, flags: UInt8, nesting: Int = 0, queueNode: UnsafeMutableRawPointer? = nil,
        lockObject: UnsafeMutableRawPointer? = nil, on thread: ThreadState, at site: CallSite
    ) -> Bool {
        let classID = lockClass.nested(nesting).id
        let previousChainKey = thread.chainKey
        let flags = flags | (lockClass.isOverflow ? UInt8(LV_HELD_UNTRACKED) : 0)
        guard
            _fastPath(
                pushHeldEntry(
                    kind, classID: classID, flags: flags, nesting: nesting, previousChainKey: previousChainKey,
                    queueNode: queueNode, lockObject: lockObject, on: thread, at: site))
        else { return false }
        let entry = thread.held(thread.depth - 1)
        // The instance's first hold (since the last reset), marked in its entry (no fast path acquires an
        // instance first in a generation).
        let generation = UInt16(truncatingIfNeeded: lv_validation_enabled())
        if _slowPath(heldBefore.load(ordering: .relaxed) != generation) && flags & UInt8(LV_HELD_SHARED) == 0 {
            markFirstHold(entry, generation: generation)
        }
        // The thread's line for the class, kept in the entry now (these are the Swift steps: a new chain's,
        // an instance's first hold), so that a fast release finds it there with no call.
        if entry.pointee.stat_class != lockClass.id, let line = lv_stat_line(thread.pointer, lockClass.id) {
            entry.pointee.stat_class = lockClass.id
            entry.pointee.stat_line = line
        }
        extendChain(from: previousChainKey, classID: classID, flags: flags, on: thread)
        return true
    }

    /// Step 4: marks `entry` as the instance's first hold of `generation`, unless another thread's acquire
    /// was first.
    @usableFromInline
    @inline(never)
    func markFirstHold(_ entry: UnsafeMutablePointer<lv_held_lock>, generation: UInt16) {
        var before = heldBefore.load(ordering: .relaxed)
        while before != generation {
            let (exchanged, found) = heldBefore.compareExchange(
                expected: before, desired: generation, ordering: .relaxed)
            if exchanged { return entry.pointee.nesting |= UInt8(LV_NESTING_FIRST_HOLD) }
            before = found
        }
    }

    /// Step 4: pushes a held entry; returns false when the stack is full (reported once per thread).
    @inlinable
    func pushHeldEntry(
        _ kind: AcquireKind, classID: UInt32, flags: UInt8, nesting: Int, previousChainKey: UInt64,
        queueNode: UnsafeMutableRawPointer?, lockObject: UnsafeMutableRawPointer?, on thread: ThreadState,
        at site: CallSite
    ) -> Bool {
        // The hold's clock is stamped once the lock is taken (acquired).
        let entry = thread.pushHeld(
            instance: instance, classID: classID, kind: kind.rawValue, flags: flags,
            nesting: UInt8(truncatingIfNeeded: nesting), queueNode: queueNode, site: site,
            previousChainKey: previousChainKey, lockObject: lockObject)
        if _fastPath(entry != nil) { return true }
        // Said once per thread, when it first overflows; later untracked acquires are only counted.
        if thread.pointer.pointee.overflow == 1 { printHeldStackFullBug(on: thread, at: site) }
        return false
    }

    /// Step 4: extends the thread's chain key by the new entry (lockdep's `iterate_chain_key`) and
    /// validates a chain no thread has validated (`validate_chain`). The first lock of a context has no
    /// order to learn; a try-acquire adds no edge into itself.
    @inlinable
    func extendChain(from previousChainKey: UInt64, classID: UInt32, flags: UInt8, on thread: ThreadState) {
        guard _fastPath(!lockClass.isOverflow) else { return }
        let key = ChainCache.extend(
            previousChainKey, with: ChainCache.element(classID: classID, flags: flags), seed: thread.chainSeed)
        thread.chainKey = key
        if previousChainKey != 0 && flags & UInt8(LV_HELD_TRY) == 0 && !ChainCache.contains(key) {
            LockOrder.validateNewChain(key, on: thread)
        }
    }

    /// Step 5: records a class, and for device levels this instance, held at an IRQL not seen for it
    /// before (lockdep's `mark_lock`).
    @inlinable @inline(__always)
    package func noteIRQLUsage(on thread: ThreadState, at site: CallSite) {
        if _slowPath(!isKnownUsage(at: thread.irql)) && !lockClass.isOverflow { newIRQLUsage(on: thread, at: site) }
    }

    @usableFromInline
    @inline(never)
    func newIRQLUsage(on thread: ThreadState, at site: CallSite) {
        let level = thread.irql
        let bit = UInt16(1) << UInt16(level.rawValue)
        if lockClass.levelsUsed.load(ordering: .relaxed) & bit == 0 {
            IRQLUsage.recordClassUsage(of: lockClass, instance: instance, at: level, site: site, on: thread)
        }
        if level > .dispatch && deviceLevels.load(ordering: .relaxed) & UInt32(bit) == 0 {
            IRQLUsage.recordInstanceUsage(
                of: lockClass, instance: instance, at: level, site: site, on: thread,
                settingDeviceLevels: { deviceLevels.bitwiseOr($0, ordering: .relaxed).oldValue })
        }
    }

    // MARK: lock_acquired

    /// The spin lock's ``acquired(_:on:waitCycles:waited:)`` for the hold a fast path pushed: the newest,
    /// an exclusive hold of a lock that spins, the checks known to be on.
    @inlinable @inline(__always)
    package func holdTaken(on thread: ThreadState, waitCycles: UInt64 = 0) {
        holdTaken(thread.held(thread.depth - 1), on: thread, waitCycles: waitCycles)
    }

    /// ``holdTaken(on:waitCycles:)`` for the entry ``holdIfKnown(_:on:queueNode:lockObject:at:)`` returned
    /// (the newest): its address is not computed again.
    @inlinable @inline(__always)
    package func holdTaken(
        _ entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState, waitCycles: UInt64 = 0
    ) {
        owner.store(thread.serial, ordering: .relaxed)
        // The acquisition is counted with its hold, at the release.
        if _slowPath(waitCycles != 0) { recordContention(waitCycles: waitCycles, on: thread) }
        stampHoldStart(of: entry, on: thread, waited: waitCycles != 0)
    }

    /// The calling thread holds the lock now, after an acquire answered `action` (not `.skip`) and a wait
    /// of `waitCycles`: for the newest hold, as ``acquired(_:on:waitCycles:waited:)``; for an untracked
    /// one, only its owner and lock_stat. With the checks on, as `acquire`.
    @inlinable
    package func acquired(_ action: AcquireAction, on thread: ThreadState, waitCycles: UInt64 = 0) {
        guard _fastPath(action == .lock) else {
            owner.store(thread.serial, ordering: .relaxed)
            recordUntimedAcquire(waitCycles: waitCycles, on: thread)
            return
        }
        acquired(thread.held(thread.depth - 1), on: thread, waitCycles: waitCycles, waited: waitCycles != 0)
    }

    /// lockdep's `lock_acquired`: the hold `entry` has the lock. An exclusive hold records its owner and
    /// lock_stat and starts its clock; a nested or shared hold leaves that to the exclusive one (readers
    /// are counted at their release, atomically). A lock that sleeps has no hold budget: its hold is only
    /// counted, and needs no CPU-time snapshot.
    ///
    /// - Parameter waited: whether the thread waited for the lock (assumed when not known): a fresh
    ///   snapshot keeps the wait out of the hold.
    @inlinable @inline(__always)
    package func acquired(
        _ entry: UnsafeMutablePointer<lv_held_lock>, on thread: ThreadState, waitCycles: UInt64 = 0, waited: Bool
    ) {
        guard !entry.pointee.has(LV_HELD_NESTED | LV_HELD_SHARED | LV_HELD_RECURSIVE) else { return }
        owner.store(thread.serial, ordering: .relaxed)
        if _slowPath(waitCycles != 0) { recordContention(waitCycles: waitCycles, on: thread) }
        if policy.contains(.sleeps) {
            entry.pointee.acquired_tsc = lv_rdtsc()
            entry.pointee.validator_cycles = thread.pointer.pointee.validator_cycles
        } else {
            stampHoldStart(of: entry, on: thread, waited: waited)
        }
    }

    /// Counts a contention of `waitCycles` in the thread's line for the class.
    @usableFromInline
    @inline(never)
    func recordContention(waitCycles: UInt64, on thread: ThreadState) {
        thread.withStatistics(ofClass: lockClass.id) { $0.recordContention(waitCycles: waitCycles) }
    }

    /// Counts an acquisition with no timed hold to count it (an untracked one), and its contention.
    @usableFromInline
    @inline(never)
    func recordUntimedAcquire(waitCycles: UInt64, on thread: ThreadState) {
        thread.withStatistics(ofClass: lockClass.id) { statistics in
            statistics.recordUntimedAcquire()
            if waitCycles != 0 { statistics.recordContention(waitCycles: waitCycles) }
        }
    }
}
