import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Confirmation mode (`LOCKVALIDATOR_CONFIRM=on`, SPEC §8f): DeadlockFuzzer's second phase. A lock-order
/// cycle is *predicted* from this process's graph (a cycle reported) or from the learned-order store (the
/// orders an earlier run learned, `LOCKVALIDATOR_GRAPH`); the schedule is then steered so that it forms.
///
/// Where the pause goes: a thread that holds A and is about to wait for B, where A → B is an edge of a
/// predicted cycle (both in one strongly connected component of the graph), is held back before it
/// takes B, still holding A, for at most `LOCKVALIDATOR_CONFIRM_MS`. That is the moment a deadlock needs:
/// another thread taking the opposite order now takes B, then waits for A, which this thread holds. The
/// pause ends as soon as another thread holds B (then this thread's wait for B closes the cycle), or at
/// its bound; a thread that would wait for a B another thread holds already is not paused at all. Pausing
/// before the first lock of the edge instead would hold nothing, and pausing after taking B would leave
/// no lock for the other thread to take. The wait-for watchdog then sees the real deadlock and ends the
/// process with a report that says *confirmed*, with the pauses that led to it.
///
/// A pause only delays a thread, so every schedule this makes is one the program could run (a thread the
/// scheduler did not run for a while), and the watchdog reports only a real wait-for cycle: a program that
/// cannot deadlock is never confirmed. (One trace is left: an acquire that the interposer's try-first path
/// took is given back before its pause, so another thread's trylock at that instant may fail.) The pauses of a process last at most ``Configuration/confirmBudgetPauses`` times the
/// longest one in all, and an order is not paused at again after ``fruitlessPausesPerOrder`` pauses in
/// which no other thread took its lock, so a cycle that cannot form (a gate lock) costs a bounded delay and
/// stays predicted.
///
/// A gate in front of the cycle: when one thread takes a cycle's order under a lock G (G → A, then
/// A → B) and the other takes the opposite order without G, holding the first thread back at A → B keeps
/// G held, and the other thread, which needs G before its own ungated order, cannot come (the corpus's
/// `abba-gate-sometimes`). So a thread is also held back *before* a lock that leads into a predicted cycle
/// without being on it (a *gate pause*): until another thread begins a pause on a predicted order (the
/// other side of the cycle has arrived, holding its first lock), or the bound. As DeadlockFuzzer keeps
/// one thread running, a thread is not held back at a gate while another is.
///
/// Pthread locks are held back by the interposer's hooks (`pthreadWillAcquire`, which also gives back an
/// acquire its try-first path took); the validator's own spin locks by their waiting acquire's Swift
/// steps (``LockTracking/pauseBeforeWaitIfPredicted(heldElsewhere:)``), and a spin deadlock the spin
/// watchdog then reports says *confirmed* too. Neither holds back an outermost acquire (a gate).
///
/// The hot paths pay nothing: a chain with a predicted edge is never put in the chain cache in this mode
/// (``chainHasPredictedEdge(_:)``), so the acquire that could pause always reaches the Swift steps, where
/// the interposer asks `pauseIfPredicted(before:heldElsewhere:)`; in this mode an interposed lock takes
/// no C fast path (``steersEveryAcquire``), so that an outermost acquire, which no chain validates,
/// reaches them too.
package enum DeadlockConfirmation {
    /// Whether the mode is on (read once, at first use).
    package static let isOn: Bool = {
        let configuration = ConfigurationStore.loaded.configuration
        let on = configuration.isEnabled && configuration.confirmDeadlocks
        // The graph is seeded from the store on first use: before the first acquire that may pause.
        if on { LockOrder.state.withLock { _ in } }
        return on
    }()

    /// Whether the mode is configured: read where locks are made (their C fast path is off in the mode),
    /// without ``isOn``'s seeding of the graph, which takes the class registry's lock.
    package static let steersEveryAcquire: Bool = {
        let configuration = ConfigurationStore.loaded.configuration
        return configuration.isEnabled && configuration.confirmDeadlocks
    }()

    /// The longest one pause lasts.
    static let pauseNanoseconds = UInt64(ConfigurationStore.loaded.configuration.confirmPauseMilliseconds) * 1_000_000

    /// One pause, for the report's interleaving.
    struct Pause {
        let thread: ThreadInfo
        /// The first lock of the predicted order; nil for a gate pause (before a lock leading into a cycle).
        let held: String?
        let wanted: String
        let milliseconds: Double
        /// Whether another thread took `wanted` meanwhile, and which (its serial, 0 when not known yet).
        let taken: Bool
        let takenBy: UInt32
    }

    private struct State {
        /// Predicted edges, `from << 32 | to`, between base classes (a readers node counts as its class).
        var predicted: Set<UInt64> = []
        /// The base classes on predicted cycles, and those with an edge into one without being on one.
        var onCycles: Set<UInt32> = []
        var gates: Set<UInt32> = []
        /// Pause time granted so far, in nanoseconds.
        var spent: UInt64 = 0
        /// Per predicted edge, its pauses in which no other thread took the lock: past
        /// ``fruitlessPausesPerOrder`` the edge is not paused at again (a gate, one thread, a join keeps
        /// the other order away), so that the budget is left to the others.
        var fruitless: [UInt64: Int] = [:]
        var pauses: [Pause] = []
        /// The lock classes of each deadlock reported in this mode, with how it formed: a test's inversion
        /// of the same cycle is reported before the deadlock's report exists, and takes its steps from here.
        var deadlocks: [(classes: Set<String>, interleaving: [String])] = []
    }

    private static let state = InternalLock(State())
    /// Pauses of one predicted edge that saw nothing, after which it is no longer paused at.
    static let fruitlessPausesPerOrder = 3
    /// Whether any edge is predicted: read without the lock on every acquire that asks.
    private static let hasPredictions = Atomic<Bool>(false)
    /// Threads in a gate pause now, and how many pauses on a predicted order have begun (what ends one).
    private static let gatePausing = Atomic<Int>(0)
    private static let orderPausesBegun = Atomic<Int>(0)
    /// The key of a gate pause's entry in `State.fruitless`: no order has `UInt32.max` as its head.
    private static func gateKey(_ gate: UInt32) -> UInt64 { UInt64(gate) << 32 | UInt64(UInt32.max) }

    // MARK: Predicting (under the graph lock)

    /// Makes the predicted edges those of `edges` (the whole lock-order graph) that lie on a cycle: both
    /// ends in one strongly connected component. Called with the graph lock held, when the store's orders
    /// are seeded and whenever a new cycle is found; returns whether the prediction grew.
    @discardableResult
    static func predict(fromGraphEdges edges: [(from: UInt32, to: UInt32)]) -> Bool {
        let components = stronglyConnectedComponents(edges)
        var predicted: Set<UInt64> = []
        var cyclic: Set<Int> = []
        var onCycles: Set<UInt32> = []
        for (from, to) in edges where components[from] != nil && components[from] == components[to] {
            let tail = baseClass(from)
            let head = baseClass(to)
            guard tail != head else { continue }
            predicted.insert(UInt64(tail) << 32 | UInt64(head))
            cyclic.insert(components[from]!)
            onCycles.formUnion([tail, head])
        }
        var gates: Set<UInt32> = []
        for (from, to) in edges where components[from] != components[to] && cyclic.contains(components[to] ?? -1) {
            gates.insert(baseClass(from))
        }
        let grew = state.withLock { state in
            let before = state.predicted.count
            state.predicted.formUnion(predicted)
            state.onCycles.formUnion(onCycles)
            state.gates.formUnion(gates)
            state.gates.subtract(state.onCycles)
            return state.predicted.count > before
        }
        if grew { hasPredictions.store(true, ordering: .releasing) }
        return grew
    }

    /// The class a readers node stands for, or the class itself.
    private static func baseClass(_ id: UInt32) -> UInt32 { LockClass.withID(id)?.readersOf?.id ?? id }

    /// The component number of every node on some edge (Tarjan's algorithm, without recursion).
    static func stronglyConnectedComponents(_ edges: [(from: UInt32, to: UInt32)]) -> [UInt32: Int] {
        var successors: [UInt32: [UInt32]] = [:]
        for (from, to) in edges {
            successors[from, default: []].append(to)
            if successors[to] == nil { successors[to] = [] }
        }
        var index: [UInt32: Int] = [:]
        var lowLink: [UInt32: Int] = [:]
        var onStack: Set<UInt32> = []
        var stack: [UInt32] = []
        var component: [UInt32: Int] = [:]
        var nextIndex = 0
        var componentCount = 0
        for root in successors.keys where index[root] == nil {
            // Each frame: a node and how many of its successors were visited.
            var frames: [(node: UInt32, next: Int)] = [(root, 0)]
            index[root] = nextIndex
            lowLink[root] = nextIndex
            nextIndex += 1
            stack.append(root)
            onStack.insert(root)
            while let (node, next) = frames.last {
                let list = successors[node] ?? []
                if next < list.count {
                    frames[frames.count - 1].next += 1
                    let successor = list[next]
                    if index[successor] == nil {
                        index[successor] = nextIndex
                        lowLink[successor] = nextIndex
                        nextIndex += 1
                        stack.append(successor)
                        onStack.insert(successor)
                        frames.append((successor, 0))
                    } else if onStack.contains(successor) {
                        lowLink[node] = min(lowLink[node]!, index[successor]!)
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last?.node { lowLink[parent] = min(lowLink[parent]!, lowLink[node]!) }
                guard lowLink[node] == index[node] else { continue }
                while let member = stack.popLast() {
                    onStack.remove(member)
                    component[member] = componentCount
                    if member == node { break }
                }
                componentCount += 1
            }
        }
        return component
    }

    /// Whether a new chain ends in a predicted edge (a held class → the newest class), so that it must
    /// stay out of the chain cache: its acquires keep reaching the Swift steps. Under the graph lock.
    static func chainHasPredictedEdge(_ chain: LockOrder.NewChain) -> Bool {
        guard hasPredictions.load(ordering: .acquiring) else { return false }
        let newest = chain.newest.lock_class
        return state.withLock { state in
            chain.heldIndices.contains { index in
                let held = chain.thread.held(index).pointee.lock_class
                return state.predicted.contains(UInt64(held) << 32 | UInt64(newest))
            }
        }
    }

    // MARK: Pausing (the acquiring thread, no validator lock held)

    /// Where an acquire would be held back.
    package enum PausePoint {
        /// Before the second lock of a predicted order, holding its first (`held`).
        case order(held: lv_held_lock)
        /// Before a lock that leads into a predicted cycle without being on one.
        case gate
    }

    /// Why an acquire of `lock` would be held back, if it would: holding the first lock of a predicted
    /// order whose second is `lock`, or before a gate of a predicted cycle while no other thread is held
    /// back at one; a lock no other thread holds (`heldElsewhere`), with pause time left.
    package static func heldLockToPauseFor(
        before lock: borrowing LockTracking, heldElsewhere: @autoclosure () -> Bool
    ) -> PausePoint? {
        guard isOn, hasPredictions.load(ordering: .acquiring), !heldElsewhere() else { return nil }
        let thread = ThreadState.current
        let depth = thread.depth
        let target = lock.lockClass.id
        let notHolds = LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED
        return state.withLock { state -> PausePoint? in
            guard state.spent < pauseNanoseconds * UInt64(Configuration.confirmBudgetPauses) else { return nil }
            for index in thread.contextStart..<depth {
                let entry = thread.held(index).pointee
                if entry.has(notHolds) || entry.lock_class == target { continue }
                let edge = UInt64(entry.lock_class) << 32 | UInt64(target)
                if state.predicted.contains(edge) && state.fruitless[edge, default: 0] < fruitlessPausesPerOrder {
                    return .order(held: entry)
                }
            }
            if state.gates.contains(target), state.fruitless[gateKey(target), default: 0] < fruitlessPausesPerOrder,
                gatePausing.load(ordering: .relaxed) == 0
            {
                return .gate
            }
            return nil
        }
    }

    /// Holds the calling thread back before it waits for `lock`: holding the first lock of a predicted
    /// order, until another thread holds `lock` (`heldElsewhere`); before a gate, until another thread
    /// begins such a pause; or the pause's bound. Returns whether it paused.
    @discardableResult
    package static func pauseIfPredicted(before lock: borrowing LockTracking, heldElsewhere: () -> Bool) -> Bool {
        guard let point = heldLockToPauseFor(before: lock, heldElsewhere: heldElsewhere()) else { return false }
        var isGate = false
        if case .gate = point {
            // One thread at a time at a gate: the others run, so that the other side of a cycle can come.
            guard gatePausing.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged
            else { return false }
            isGate = true
        }
        defer { if isGate { gatePausing.store(0, ordering: .releasing) } }
        let granted = state.withLock { state -> UInt64 in
            let budget = pauseNanoseconds * UInt64(Configuration.confirmBudgetPauses)
            let granted = min(pauseNanoseconds, budget - min(state.spent, budget))
            state.spent += granted
            return granted
        }
        guard granted > 0 else { return false }
        let thread = ThreadState.current
        let started = lv_monotonic_ns()
        let pausesBefore = orderPausesBegun.wrappingAdd(isGate ? 0 : 1, ordering: .acquiringAndReleasing).newValue
        var taken = false
        // Validator code: the pause's sleeps are not the program's blocking calls (under a spin lock).
        lv_enter_validator()
        defer { lv_leave_validator() }
        while lv_monotonic_ns() - started < granted {
            if isGate ? orderPausesBegun.load(ordering: .acquiring) != pausesBefore : heldElsewhere() {
                taken = true
                break
            }
            usleep(1_000)
        }
        // Who took it, by the validator's owner word (0 while the holder's acquire is not recorded yet).
        let takenBy = taken && !isGate ? lock.ownerSerial : 0
        let elapsed = lv_monotonic_ns() - started
        var key = gateKey(lock.lockClass.id)
        var heldName: String?
        if case .order(let held) = point {
            key = UInt64(held.lock_class) << 32 | UInt64(lock.lockClass.id)
            heldName = LockClass.withID(held.lock_class)?.name ?? "class \(held.lock_class)"
        }
        let pause = Pause(
            thread: thread.info, held: heldName, wanted: lock.lockClass.name,
            milliseconds: Double(elapsed) / 1e6, taken: taken, takenBy: takenBy)
        state.withLock { state in
            // Time not used goes back to the budget.
            state.spent -= granted - min(granted, elapsed)
            state.pauses.append(pause)
            if !taken { state.fruitless[key, default: 0] += 1 }
        }
        return true
    }

    // MARK: Reporting

    /// At the end of a process in the mode that no deadlock ended: what was steered for, one line; nothing
    /// when no thread was held back (a process that ran no test, or never came near a predicted order).
    package static func printSummary() {
        guard isOn else { return }
        let (pauses, edges) = state.withLock { ($0.pauses, $0.predicted.count) }
        guard !pauses.isEmpty else { return }
        let total = pauses.reduce(0) { $0 + $1.milliseconds }
        let budget = Int(pauseNanoseconds / 1_000_000) * Configuration.confirmBudgetPauses
        printToStandardError(
            "LockValidator: LOCKVALIDATOR_CONFIRM: \(edges) lock order\(edges == 1 ? "" : "s") on predicted cycles;"
                + " threads held back \(pauses.count) time\(pauses.count == 1 ? "" : "s"), \(Int(total.rounded())) ms"
                + " in all (at most \(budget) ms); no cycle formed: the cycles stay predicted")
    }

    /// The confirmation of a deadlock the watchdog found among `waits`: confirmed, with the pauses of
    /// its threads (in time order) and then its waits. Nil outside the mode.
    static func confirmation(ofDeadlock waits: [ThreadWait]) -> CycleConfirmation? {
        guard isOn else { return nil }
        let names = Set(waits.compactMap { $0.waitingFor?.name })
        let serials = Set(waits.map(\.thread.serial))
        let pauses = state.withLock { state -> [Pause] in
            state.pauses.filter {
                serials.contains($0.thread.serial) && (names.contains($0.wanted) || $0.held == nil)
            }
        }
        // A thread named as reports name it, when it is one of the cycle's (where the names are known).
        func taker(_ serial: UInt32) -> String {
            waits.first { $0.thread.serial == serial }?.thread.description ?? "thread \(serial)"
        }
        var steps = pauses.map { pause in
            guard let held = pause.held else {
                let woken = pause.taken ? "until another thread was held back on the cycle" : "for its whole bound"
                return "\(pause.thread) held back \(Int(pause.milliseconds.rounded())) ms before taking"
                    + " \"\(pause.wanted)\", a lock that leads into the cycle, \(woken)"
            }
            // A pause ends when the lock itself says it is held, often before the taker's acquire is
            // recorded: the deadlock's wait for that lock names its holder.
            let takenBy =
                pause.takenBy != 0
                ? pause.takenBy : waits.first { $0.waitingFor?.name == pause.wanted }?.holder ?? 0
            let taken =
                !pause.taken
                ? "no thread took \"\(pause.wanted)\" meanwhile"
                : "meanwhile \(takenBy != 0 ? taker(takenBy) : "another thread") took \"\(pause.wanted)\""
            return "\(pause.thread) held back \(Int(pause.milliseconds.rounded())) ms holding \"\(held)\""
                + " before taking \"\(pause.wanted)\"; \(taken)"
        }
        if steps.isEmpty {
            // Each asked for its second lock after the other had taken it: there was no moment to hold one back.
            steps.append("no thread was held back: each found the lock it waits for taken already when it asked")
        }
        for wait in waits {
            let holding = wait.heldLocks.map { "\"\($0.lock.name)\"" }.joined(separator: ", ")
            steps.append(
                "\(wait.thread) holding \(holding.isEmpty ? "nothing" : holding) waits for"
                    + " \"\(wait.waitingFor?.name ?? "?")\" held by \(wait.holderDescription(among: waits))")
        }
        state.withLock { $0.deadlocks.append((names, steps)) }
        return CycleConfirmation(status: .confirmed, interleaving: steps)
    }

    /// Before the report of a deadlock the mode confirmed: the inversion of its cycle, confirmed with the
    /// deadlock's interleaving, when this process reported none over its classes. A cycle the learned-order
    /// store predicted whole has no order that is new to this run, so nothing else reports it; the output
    /// then reads as a test's does: the inversion, then the deadlock that confirmed it. `awaited` is the
    /// caller's pending entry for the lock it waits for (not a held lock).
    static func reportInversionBeforeDeadlock(
        _ waits: [ThreadWait], confirmation: CycleConfirmation?, scope: ViolationScope?, awaited: UInt64?
    ) {
        guard isOn, let confirmation, confirmation.status == .confirmed, waits.count >= 2 else { return }
        let locks = waits.compactMap(\.waitingFor)
        let classes = locks.compactMap(\.classID)
        guard classes.count == waits.count else { return }
        let names = Set(locks.map(\.name))
        let reported = LockValidator.globalLog.snapshot + (scope?.violations ?? [])
        guard !reported.contains(where: { $0.rule == .lockOrderInversion && Set($0.cycle) == names }) else { return }
        // Each member holds the lock the one before it waits for, and waits for its own: that order.
        let orders = classes.indices.map { (from: classes[($0 + classes.count - 1) % classes.count], to: classes[$0]) }
        guard let edges = LockOrder.dependencyEdges(along: orders) else { return }
        let chain = (locks + [locks[0]]).map { "\"\($0.name)\"" }.joined(separator: " -> ")
        let learned = edges.contains { $0.process != nil }
        var inversion = LockValidator.makeViolation(
            .lockOrderInversion,
            summary: "the orders \(chain) form a cycle of \(locks.count) locks"
                + (learned ? ", learned by earlier runs (LOCKVALIDATOR_GRAPH)" : "")
                + "; the deadlock below formed on it",
            locks: locks, site: waits.first?.waitingAt, edges: edges,
            verdict: LockOrder.orders(of: edges).map(LockOrder.verdict(ofCycle:))
                ?? (learned ? .acrossProcesses : .canDeadlock),
            awaited: awaited, scope: scope)
        inversion.confirmation = confirmation
        LockValidator.deliver(inversion)
    }

    /// `violations` with each `lock-order-inversion` marked, in the mode: confirmed when a deadlock among
    /// its classes was reported, with that deadlock's interleaving; predicted otherwise.
    static func annotated(_ violations: [Violation]) -> [Violation] {
        guard isOn else { return violations }
        let formed = state.withLock { $0.deadlocks }
        return violations.map { violation in
            guard violation.rule == .lockOrderInversion, violation.confirmation == nil else { return violation }
            var marked = violation
            let classes = Set(violation.cycle)
            if let deadlock = formed.first(where: { $0.classes == classes }) {
                marked.confirmation = CycleConfirmation(status: .confirmed, interleaving: deadlock.interleaving)
            } else {
                marked.confirmation = CycleConfirmation(status: .predicted)
            }
            return marked
        }
    }
}
