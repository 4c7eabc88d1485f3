import Synchronization
import _LockValidatorShims

/// The calling thread's state, kept in C `__thread` storage so that reaching it costs about a nanosecond.
///
/// Only the owning thread touches its state, except the MCS queue nodes, which other threads reach
/// through atomics.
@frozen
@usableFromInline
package struct ThreadState {
    @usableFromInline
    package let pointer: UnsafeMutablePointer<lv_thread_state>

    @inlinable
    init(pointer: UnsafeMutablePointer<lv_thread_state>) { self.pointer = pointer }

    /// The calling thread's state, registered on first use.
    @inlinable
    package static var current: ThreadState {
        let pointer = lv_thread()!
        if _slowPath(pointer.pointee.serial == 0) { register(pointer) }
        return ThreadState(pointer: pointer)
    }

    /// The calling thread's state without registering it: for code that may not use it at all (with the
    /// `Validation` trait off, the `AtDpcLevel` routines), so the compiler can drop the access.
    @inlinable
    package static var unregistered: ThreadState { ThreadState(pointer: lv_thread()!) }

    /// The thread's process-unique serial number.
    @inlinable
    package var serial: UInt32 { pointer.pointee.serial }

    /// The current IRQL.
    @inlinable
    package var irql: IRQL {
        get { IRQL(unchecked: pointer.pointee.irql) }
        nonmutating set { pointer.pointee.irql = newValue.rawValue }
    }

    /// The number of entries on the held-lock stack.
    @inlinable
    package var depth: Int { Int(pointer.pointee.depth) }

    /// The held-lock entry at `index` (0 is the oldest).
    @inlinable
    package func held(_ index: Int) -> UnsafeMutablePointer<lv_held_lock> {
        lv_held_entry(pointer, index)
    }

    /// The index of the newest entry for `instance`, if the thread holds it.
    @inlinable
    package func indexOfHeld(instance: UInt64) -> Int? {
        var index = depth - 1
        while index >= 0 {
            if held(index).pointee.instance == instance { return index }
            index -= 1
        }
        return nil
    }

    /// The index of the entry for `instance` acquired with the queue node `node`, else of the newest
    /// entry for `instance`: a queued release names its acquisition by the handle's node.
    @inlinable
    package func indexOfHeld(instance: UInt64, queueNode node: UnsafeMutableRawPointer?) -> Int? {
        if let node {
            var index = depth - 1
            while index >= 0 {
                let entry = held(index).pointee
                if entry.instance == instance && entry.queue_node == node { return index }
                index -= 1
            }
        }
        return indexOfHeld(instance: instance)
    }

    /// The index of the newest entry that really holds `instance` (not a reported recursive acquire).
    @inlinable
    package func indexOfHold(instance: UInt64) -> Int? {
        var index = depth - 1
        while index >= 0 {
            let entry = held(index).pointee
            if entry.instance == instance && entry.flags & UInt8(LV_HELD_RECURSIVE) == 0 { return index }
            index -= 1
        }
        return nil
    }

    /// Pushes a held entry, writing only what every hold needs: the hold's clock is stamped once the lock
    /// is taken, the snapshot fields only when a refresh needs them, `deferred_irql` only with its flag.
    /// Returns the entry, or nil when the stack is full (counted in `overflow`).
    @inlinable @inline(__always) @discardableResult
    package func pushHeld(
        instance: UInt64, classID: UInt32, kind: UInt8, flags: UInt8, nesting: UInt8,
        queueNode: UnsafeMutableRawPointer?, site: CallSite, previousChainKey: UInt64,
        lockObject: UnsafeMutableRawPointer?
    ) -> UnsafeMutablePointer<lv_held_lock>? {
        guard _fastPath(depth < Int(LV_MAX_HELD)) else {
            pointer.pointee.overflow &+= 1
            return nil
        }
        return pushHeldUnchecked(
            instance: instance, classID: classID, kind: kind, flags: flags, nesting: nesting, queueNode: queueNode,
            site: site, previousChainKey: previousChainKey, lockObject: lockObject,
            spinHold: kind != AcquireKind.annotated.rawValue)
    }

    /// ``pushHeld(instance:classID:kind:flags:nesting:queueNode:site:previousChainKey:lockObject:)`` when the
    /// caller has checked that the stack has room; `spinHold` says whether the kind is a spin lock's (not
    /// `.annotated`), which a spin lock's caller knows without reading the kind again.
    @inlinable @inline(__always) @discardableResult
    package func pushHeldUnchecked(
        instance: UInt64, classID: UInt32, kind: UInt8, flags: UInt8, nesting: UInt8,
        queueNode: UnsafeMutableRawPointer?, site: CallSite, previousChainKey: UInt64,
        lockObject: UnsafeMutableRawPointer?, spinHold: Bool
    ) -> UnsafeMutablePointer<lv_held_lock> {
        let state = pointer
        let depth = Int(state.pointee.depth)
        let entry = held(depth)
        entry.pointee.instance = instance
        // The class and the four bytes after it, in one store.
        let packed =
            UInt64(classID) | UInt64(kind) << 32 | UInt64(state.pointee.irql) << 40 | UInt64(flags) << 48
            | UInt64(nesting) << 56
        UnsafeMutableRawPointer(entry).storeBytes(of: packed, toByteOffset: Int(LV_HELD_CLASS_OFFSET), as: UInt64.self)
        entry.pointee.acquired_tsc = 0
        entry.pointee.queue_node = queueNode
        entry.pointee.file = site.file
        entry.pointee.line = UInt64(site.line)
        entry.pointee.prev_chain_key = previousChainKey
        entry.pointee.lock_object = lockObject
        // A slot above the stack may still count as carrying its own snapshot: this hold begins under
        // the thread's.
        if state.pointee.snapshot_own_below > UInt16(depth) { state.pointee.snapshot_own_below = UInt16(depth) }
        if spinHold { state.pointee.spin_holds &+= 1 }
        state.pointee.depth = UInt16(truncatingIfNeeded: depth &+ 1)
        return entry
    }

    /// Runs `body`, a validator slow path, billing its time to the validator rather than to the locks
    /// the thread holds (their hold times exclude it).
    @inline(never)
    package func billingValidator<Result>(_ body: () throws -> Result) rethrows -> Result {
        let start = lv_rdtsc()
        defer { pointer.pointee.validator_cycles &+= lv_rdtsc() &- start }
        return try body()
    }

    // MARK: CPU-time snapshots

    /// `entry`, held at `index`, with the (TSC, CPU time, page faults, involuntary switches) snapshot its hold
    /// began under.
    package func heldWithSnapshot(_ entry: lv_held_lock, at index: Int) -> lv_held_lock {
        guard index >= Int(pointer.pointee.snapshot_own_below) else { return entry }
        var entry = entry
        withUnsafeMutablePointer(to: &entry) { copySnapshot(into: $0) }
        return entry
    }

    /// Replaces the thread's snapshot with one taken now: the holds that began under the old one keep it
    /// in their entries, and the hold `entry` begins (held already, not always the newest: an annotated
    /// lock stamps its hold once the real lock is taken) carries the new one.
    func replaceSnapshot(
        tsc: UInt64, cpuNanoseconds: UInt64, usage: lv_thread_usage, beginning entry: UnsafeMutablePointer<lv_held_lock>
    ) {
        let state = pointer
        var index = Int(state.pointee.snapshot_own_below)
        while index < depth {
            copySnapshot(into: held(index))
            index += 1
        }
        state.pointee.snapshot_own_below = UInt16(depth)
        state.pointee.snapshot_tsc = tsc
        state.pointee.snapshot_cpu_ns = cpuNanoseconds
        state.pointee.snapshot_faults = usage.faults
        state.pointee.snapshot_major_faults = usage.major_faults
        state.pointee.snapshot_involuntary_switches = usage.involuntary_switches
        state.pointee.snapshot_system_ns = usage.system_ns
        state.pointee.snapshot_validator_cycles = state.pointee.validator_cycles
        copySnapshot(into: entry)
    }

    /// Writes the thread's current snapshot into `entry`.
    func copySnapshot(into entry: UnsafeMutablePointer<lv_held_lock>) {
        entry.pointee.snapshot_tsc = pointer.pointee.snapshot_tsc
        entry.pointee.snapshot_cpu_ns = pointer.pointee.snapshot_cpu_ns
        entry.pointee.snapshot_faults = UInt16(truncatingIfNeeded: pointer.pointee.snapshot_faults)
        entry.pointee.snapshot_switches = UInt8(truncatingIfNeeded: pointer.pointee.snapshot_involuntary_switches)
    }

    /// The hash of the held classes in order (lockdep's chain key).
    @inlinable
    package var chainKey: UInt64 {
        get { pointer.pointee.chain_key }
        nonmutating set { pointer.pointee.chain_key = newValue }
    }

    /// Mixed into an outermost hold's chain key (`HappensBefore`).
    @inlinable
    package var chainSeed: UInt64 { pointer.pointee.chain_seed }

    /// Changes the chain seed (a new happens-before epoch) and the chain keys of the holds already on the
    /// stack with it, so that the chains taken from now on are validated again in the new epoch.
    func reseed(_ seed: UInt64) {
        pointer.pointee.chain_seed = seed
        var key: UInt64 = 0
        for index in 0..<depth {
            // An entry whose chain began empty starts a context (an ISR's, a DPC's): it stays one.
            if held(index).pointee.prev_chain_key == 0 { key = 0 }
            held(index).pointee.prev_chain_key = key
            key = ChainCache.extend(key, by: held(index).pointee, seed: seed)
        }
        if chainKey != 0 { chainKey = key }
    }

    /// Pops the newest entry, restoring the chain key below it.
    @inlinable @inline(__always)
    package func pop() {
        pop(kind: held(depth - 1).pointee.kind)
    }

    /// ``pop()`` for a caller that knows the newest entry's kind (it checked it): a spin lock's fast
    /// release, whose kind is a constant there, counts its spin hold off without reading the entry's.
    @inlinable @inline(__always)
    package func pop(kind: UInt8) {
        let depth = self.depth
        chainKey = held(depth - 1).pointee.prev_chain_key
        if kind != AcquireKind.annotated.rawValue { pointer.pointee.spin_holds &-= 1 }
        pointer.pointee.depth = UInt16(depth - 1)
    }

    /// ``pop(kind:)`` for a caller that read the stack's depth (`depth`, above 0) and its newest entry
    /// (`newest`) already: the fast release, which would otherwise compute the entry's address again, and
    /// check again that the depth is not 0.
    @inlinable @inline(__always)
    package func pop(_ newest: UnsafeMutablePointer<lv_held_lock>, depth: Int, kind: UInt8) {
        chainKey = newest.pointee.prev_chain_key
        if kind != AcquireKind.annotated.rawValue { pointer.pointee.spin_holds &-= 1 }
        pointer.pointee.depth = UInt16(truncatingIfNeeded: depth &- 1)
    }

    /// Removes the entry at `index`, closing the gap and recomputing the chain keys above it.
    package func remove(at index: Int) {
        let depth = self.depth
        // The entries that carry their own snapshot move down with the rest.
        if index < Int(pointer.pointee.snapshot_own_below) { pointer.pointee.snapshot_own_below -= 1 }
        if held(index).pointee.kind != AcquireKind.annotated.rawValue { pointer.pointee.spin_holds &-= 1 }
        var key = held(index).pointee.prev_chain_key
        var i = index
        while i + 1 < depth {
            // An entry whose chain began empty starts a context (an ISR's, a DPC's): it stays one.
            if held(i + 1).pointee.prev_chain_key == 0 { key = 0 }
            held(i).pointee = held(i + 1).pointee
            held(i).pointee.prev_chain_key = key
            key = ChainCache.extend(key, by: held(i).pointee, seed: chainSeed)
            i += 1
        }
        pointer.pointee.depth = UInt16(depth - 1)
        chainKey = key
    }

    /// The index of the first entry of the context the newest entry belongs to: held locks below it
    /// belong to code that an interrupt or DPC interrupted, and take no part in its lock order.
    package var contextStart: Int {
        var index = depth - 1
        while index > 0 && held(index).pointee.prev_chain_key != 0 { index -= 1 }
        return max(index, 0)
    }

    /// Runs `body` as an interrupt or DPC on this processor: a new lock-order context, as lockdep keeps
    /// one per hard-IRQ and soft-IRQ context. An interrupt can arrive with any lock held, so its locks
    /// take no order from the locks it interrupted (what makes that safe or not is the IRQL the
    /// interrupted locks are held at, which `irql-inconsistent-usage` checks).
    package func runInNewContext<Result>(_ body: () throws -> Result) rethrows -> Result {
        chainKey = 0
        defer { chainKey = keyAfterNewest }
        return try body()
    }

    /// The chain key the held stack makes as it stands (each entry keeps the key below it).
    var keyAfterNewest: UInt64 {
        guard depth > 0 else { return 0 }
        let newest = held(depth - 1).pointee
        return ChainCache.extend(newest.prev_chain_key, by: newest, seed: chainSeed)
    }

    /// Whether the thread holds a spin lock of any kind (not only annotated locks): a count the held
    /// stack's push and pops keep, which the interposer's blocking calls read too (`lv_must_not_block`).
    @inlinable
    package var holdsSpinLock: Bool { pointer.pointee.spin_holds != 0 }

    /// Whether the thread must not block: it holds a spin lock or runs above APC_LEVEL.
    @inlinable
    package var mustNotBlock: Bool { lv_must_not_block() != 0 }

    /// A description of the thread for reports.
    package var info: ThreadInfo {
        var buffer = [CChar](repeating: 0, count: 32)
        let name: String? = buffer.withUnsafeMutableBufferPointer { buffer in
            lv_thread_name(buffer.baseAddress, buffer.count) == 0
                ? ThreadName.readable(String(cString: buffer.baseAddress!), handle: lv_thread_handle()) : nil
        }
        return ThreadInfo(serial: serial, osThreadID: lv_os_thread_id(), name: name)
    }

    @usableFromInline
    @inline(never)
    static func register(_ pointer: UnsafeMutablePointer<lv_thread_state>) {
        _ = configurationRead
        pointer.pointee.serial = nextThreadSerial.wrappingAdd(1, ordering: .relaxed).oldValue
        HappensBefore.registered(pointer)
        let result = lv_register_thread { state in
            guard let state else { return }
            ThreadState(pointer: state).threadDidExit()
        }
        if result != 0 {
            printToStandardError("LockValidator: pthread_setspecific failed (\(result)); thread exit is not observed")
        }
        ThreadRegistry.add(pointer)
    }

    /// Reports the long holds this thread began outside any scope that no later hold could confirm, and
    /// `thread-exit-holding-lock` if the thread is ending with locks held or IRQL raised; runs
    /// once per thread (from ``ProcessorThread`` inside its scope, else at thread exit).
    package func checkExit() {
        guard pointer.pointee.exit_checked == 0 else { return }
        pointer.pointee.exit_checked = 1
        HoldEvidence.threadEnded(serial)
        let infos = heldLockInfos
        let stillHeld = infos.indices.filter { held($0).pointee.flags & UInt8(LV_HELD_RECURSIVE) == 0 }.map {
            infos[$0]
        }
        guard !stillHeld.isEmpty || irql != .passive else { return }
        var what: [String] = []
        if !stillHeld.isEmpty {
            what.append(
                "holding " + stillHeld.map { "\($0.lock) (acquired at \($0.acquiredAt))" }.joined(separator: ", ")
                    + ": nobody can release \(stillHeld.count == 1 ? "it" : "them"), and the next acquire spins forever"
            )
        }
        if irql != .passive { what.append("at \(irql)") }
        LockValidator.record(
            .threadExitHoldingLock, summary: "\(info) is exiting " + what.joined(separator: " and "),
            locks: stillHeld.map { $0.lock }, site: stillHeld.first?.acquiredAt)
    }

    /// Runs once per registered thread as it exits: checks what it leaves held, releases the locks it
    /// abandons, frees its pended-work store, and forgets it.
    private func threadDidExit() {
        checkExit()
        releaseAbandonedLocks()
        // Its lock_stat lines go to their classes' totals; a hold after this goes to a line folded at once.
        pointer.pointee.stat_exited = 1
        LockStatisticsArena.retireTable(of: pointer)
        lv_stat_table_free(pointer)
        LockStatisticsArena.freeLines(ofThread: UInt64(serial), retiring: true)
        ThreadRegistry.remove(serial)
        if let processor = pointer.pointee.processor {
            Unmanaged<Processor>.fromOpaque(processor).release()
            pointer.pointee.processor = nil
        }
    }
}

extension ThreadState {
    /// Runs `body` on the thread's lock_stat line for class `classID` (lockdep keeps lock_stat per class):
    /// from its table (`lv_stat_line`), else made in the arena and kept there.
    @inlinable @inline(__always)
    func withStatistics(ofClass classID: UInt32, _ body: (LockStatisticsBlock) -> Void) {
        if let line = lv_stat_line(pointer, classID) { return body(LockStatisticsBlock(words: line)) }
        withStatisticsLine(ofClass: classID, body)
    }

    @usableFromInline
    @inline(never)
    func withStatisticsLine(ofClass classID: UInt32, _ body: (LockStatisticsBlock) -> Void) {
        // Billed to the validator: a lock held around this release must not count the arena's lock, a
        // chunk's mapping or the table's allocation as its hold time.
        let (block, exited) = billingValidator { () -> (LockStatisticsBlock, Bool) in
            if let line = lv_stat_line(pointer, classID) { return (LockStatisticsBlock(words: line), false) }
            // After the exit hook (a hold in another key's destructor) nothing would fold a kept line.
            if pointer.pointee.stat_exited != 0 {
                return (LockStatisticsArena.line(ofThread: UInt64(serial), classID: classID), true)
            }
            // The table is the index of its lines (retireTable), but for class ids past it, which the
            // arena's own index keeps.
            let block =
                Int(classID) < Int(LV_STAT_DIRECTORY_SIZE * LV_STAT_LEAF_SIZE)
                ? LockStatisticsArena.newLine(ofThread: UInt64(serial), classID: classID)
                : LockStatisticsArena.line(ofThread: UInt64(serial), classID: classID)
            lv_stat_table_insert(pointer, classID, block.words)
            return (block, false)
        }
        body(block)
        if exited { billingValidator { LockStatisticsArena.freeLines(ofThread: UInt64(serial), retiring: true) } }
    }
}

extension ThreadState {
    /// Releases the spin locks an exiting thread still holds, newest first, after
    /// `thread-exit-holding-lock` reported them: nobody else could, the next acquire would spin forever,
    /// and a queued lock's word would point into this thread's storage, freed with it. The program goes
    /// on as if the thread had released them; annotated locks are only forgotten (the validator cannot
    /// release a lock it does not own).
    func releaseAbandonedLocks() {
        while depth > 0 {
            let entry = held(depth - 1).pointee
            pointer.pointee.depth -= 1
            if entry.kind != AcquireKind.annotated.rawValue { pointer.pointee.spin_holds &-= 1 }
            guard entry.flags & UInt8(LV_HELD_RECURSIVE | LV_HELD_NESTED) == 0, entry.acquired_tsc != 0,
                let object = entry.lock_object
            else { continue }
            // Released only while the lock is alive: its deinit waits for this.
            LockClass.ifAlive(entry.instance) {
                let lock = Unmanaged<AnyObject>.fromOpaque(object).takeUnretainedValue() as? AbandonableLock
                lock?.releaseAbandoned(AcquireKind(rawValue: entry.kind) ?? .ordinary, queueNode: entry.queue_node)
            }
        }
        chainKey = 0
    }
}

private let nextThreadSerial = Atomic<UInt32>(1)

/// The configuration is read from the environment when the first thread is first seen.
private let configurationRead: Bool = {
    _ = ConfigurationStore.loaded
    return true
}()
