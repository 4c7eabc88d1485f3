import Synchronization
import _LockOrderGraph
import _LockValidatorShims

extension LockOrder {
    /// Adds the edges "each held class → the newest class" for a chain no thread has validated, and
    /// reports the cycles they close and any nesting of one class without a nesting level: found under
    /// the graph lock (`checkPrevsAdd`, as lockdep's `check_prevs_add`), reported outside it
    /// (`printBug`, as `print_circular_bug`).
    ///
    /// As in lockdep: only the locks of the newest entry's context count (an interrupt or DPC takes no
    /// order from what it interrupted); the newest entry is not a try-acquire (a try never waits, so
    /// no edge leads into it); placeholders of reported recursive acquires and nested holds are not
    /// separate holds; and the read rules decide which edges a shared hold makes (see
    /// `LockClass.recursiveReaders`).
    @usableFromInline
    @inline(never)
    static func validateNewChain(_ key: UInt64, on thread: ThreadState) {
        thread.billingValidator {
            var chain = NewChain(on: thread)
            // The stack its new edges keep, taken before the graph lock (and ten frames nearer the
            // caller), when a held lock could make an edge at all: a chain of one lock never does. The
            // chain's parts are passed, not the chain: a struct passed by value is copied whole (memcpy).
            if NewChain.mayAddEdges(chain.heldIndices, on: thread) {
                prefetchGraphLines(chain.heldIndices, to: chain.newestEntry.pointee.lock_class, on: thread)
                chain.stack = StackTrace.captureTransient()
            }
            let chainCap = chain.capacity.chains
            state.withLock { state in
                guard !ChainCache.contains(key) else { return }  // validated by another thread meanwhile
                checkPrevsAdd(&chain, in: &state)
                publishPrefetchLayout(state.graph.prefetchLayout)
                // A chain that takes an order of a reported cycle is validated at every acquire: each test
                // (scope) whose threads take the cycle's orders is told, whichever thread validated them before.
                // A new cycle's orders may be in chains cached already: those are validated again once (the
                // counts of chains validated are kept: the report's figure is the run's).
                let closesNewCycle = chain.bugs.contains {
                    if case .inversion(_, _, _, false) = $0 { true } else { false }
                }
                if closesNewCycle { ChainCache.revalidateAll() }
                // Not `isOn`, whose first read takes this lock to seed the graph: a front end that never
                // asked it before (a spin lock's, an annotated lock's) would wait for itself here.
                if DeadlockConfirmation.steersEveryAcquire {
                    // A new cycle is predicted at once; a chain with a predicted edge is never cached, so
                    // that its acquires reach the Swift steps that may pause them.
                    if closesNewCycle {
                        DeadlockConfirmation.predict(fromGraphEdges: state.edges.map { ($0.from, $0.to) })
                    }
                    if DeadlockConfirmation.chainHasPredictedEdge(chain) { return }
                }
                if chain.takesReportedCycleOrder { return }
                if ChainCache.chainCount < chainCap {
                    ChainCache.insert(key)
                } else {
                    chain.chainsFull = true
                }
            }
            // Both rare: tested first, so that the common case copies no part of the chain.
            if chain.edgesFull || chain.chainsFull || chain.stacksFull { reportFullTables(chain) }
            if !chain.bugs.isEmpty {
                for bug in chain.bugs { printBug(bug, newest: chain.newest, on: thread) }
            }
        }
    }

    /// The graph's layout as last published under the graph lock, read without it by
    /// `prefetchGraphLines`: a torn or stale read only prefetches a line for nothing.
    private static let prefetchNodes = Atomic<UInt>(0)
    private static let prefetchNodeCount = Atomic<Int>(0)
    private static let prefetchNodeStride = Atomic<Int>(0)
    private static let prefetchEdges = Atomic<UInt>(0)
    private static let prefetchEdgeSlots = Atomic<Int>(0)

    private static func publishPrefetchLayout(_ layout: LockOrderGraph.PrefetchLayout) {
        prefetchNodes.store(layout.nodes, ordering: .relaxed)
        prefetchNodeCount.store(layout.nodeCount, ordering: .relaxed)
        prefetchNodeStride.store(layout.nodeStride, ordering: .relaxed)
        prefetchEdges.store(layout.edges.base, ordering: .relaxed)
        prefetchEdgeSlots.store(layout.edges.slots, ordering: .relaxed)
    }

    /// Asks for the graph lines the chain's new edges read first (both nodes' records and the edge's
    /// index slot) before the stack is captured, so that they arrive while the stack is walked rather
    /// than one after another under the graph lock.
    private static func prefetchGraphLines(_ heldIndices: Range<Int>, to newestClass: UInt32, on thread: ThreadState) {
        let layout = LockOrderGraph.PrefetchLayout(
            nodes: prefetchNodes.load(ordering: .relaxed), nodeCount: prefetchNodeCount.load(ordering: .relaxed),
            nodeStride: prefetchNodeStride.load(ordering: .relaxed),
            edges: (prefetchEdges.load(ordering: .relaxed), prefetchEdgeSlots.load(ordering: .relaxed)))
        for index in heldIndices {
            guard
                let (tail, head, slot) = layout.addresses(
                    from: thread.held(index).pointee.lock_class, to: newestClass)
            else { continue }
            lv_prefetch(tail)
            lv_prefetch(head)
            lv_prefetch(slot)
        }
    }

    /// A lock-order bug found under the graph lock, reported once it is released.
    enum Bug {
        /// The newest lock is of the class of `held`, with no nesting level.
        case sameClass(held: lv_held_lock)
        /// The edge `held → newest` closes the cycle `closing` + `existing`; or, `takenAgain`, is an order of
        /// a cycle reported before, taken by a thread that validates it for the first time.
        case inversion(held: lv_held_lock, closing: DependencyEdge, existing: [DependencyEdge], takenAgain: Bool)
    }

    /// One new chain being validated: the newest hold, the holds of its context it orders after, what
    /// was found, and the stack its new edges keep (captured once, and kept once, on first need).
    struct NewChain {
        let thread: ThreadState
        /// The newest hold, read in place: a copy of the entry was a dozen stores a new chain, and only this
        /// thread changes its held stack, which it does not while it validates the chain.
        let newestEntry: UnsafeMutablePointer<lv_held_lock>
        /// A copy of the newest hold, for a report.
        var newest: lv_held_lock { newestEntry.pointee }
        /// Where the holds of the newest entry's context are on the thread's held stack (the newest
        /// excluded); read in place, as only this thread changes them.
        let heldIndices: Range<Int>
        let capacity = currentCapacity.capacity
        var bugs: [Bug] = []
        /// The captured stack, in the thread's capture buffer, and its number once kept.
        var stack: UnsafeBufferPointer<UInt>?
        var keptStack: UInt32?
        /// The thread, kept stack, newest site, IRQL and epoch as an edge record's context, once numbered:
        /// every edge of the chain has it.
        var context: UInt32?
        /// Whether one of its edges is an order of a reported cycle: such a chain is never cached.
        var takesReportedCycleOrder = false
        var edgesFull = false
        var chainsFull = false
        var stacksFull = false

        init(on thread: ThreadState) {
            self.thread = thread
            let depth = thread.depth
            newestEntry = thread.held(depth - 1)
            heldIndices = thread.contextStart..<depth - 1
        }

        /// Whether some hold at `heldIndices` (a chain's context) can order before the newest.
        static func mayAddEdges(_ heldIndices: Range<Int>, on thread: ThreadState) -> Bool {
            let notHolds = LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED
            return heldIndices.contains { !thread.held($0).pointee.has(notHolds) }
        }

        /// The record of the new edge from the hold `entry` (on the thread's held stack) to the newest hold,
        /// graph nodes `from` → `to`.
        mutating func record(
            from entry: UnsafeMutablePointer<lv_held_lock>, _ from: UInt32, _ to: UInt32, in state: inout State
        ) -> EdgeRecord {
            if stack == nil { stack = StackTrace.captureTransient() }
            if keptStack == nil { keptStack = state.keep(stack!, cap: capacity.stacks, full: &stacksFull) }
            if context == nil {
                context = state.context(
                    EdgeContext(
                        thread: thread.serial, stack: keptStack!, toSite: state.site(of: newestEntry),
                        irql: thread.irql,
                        epoch: thread.pointer.pointee.hb_epoch))
            }
            let heldShared = entry.pointee.has(LV_HELD_SHARED)
            if heldShared { state.heldForReading.insert(entry.pointee.lock_class) }
            state.noteThread(thread)
            return EdgeRecord(
                fromSite: state.site(of: entry), context: context!,
                instances: state.keep(instances: entry.pointee.instance, newestEntry.pointee.instance, nodes: from, to),
                heldShared: heldShared)
        }
    }

    // MARK: Finding (under the graph lock)

    /// Each held lock in turn: an edge from it to the newest, or a same-class bug.
    private static func checkPrevsAdd(_ chain: inout NewChain, in state: inout State) {
        let newestClass = chain.newestEntry.pointee.lock_class
        let readsRecursively = chain.newestEntry.pointee.has(LV_HELD_RECURSIVE_READ)
        let target = readsRecursively ? readersNode(of: newestClass, in: &state) : newestClass
        let notHolds = LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED
        for index in chain.heldIndices where !chain.thread.held(index).pointee.has(notHolds) {
            // Read in place, as the steps below (a copy is a dozen stores).
            let entry = chain.thread.held(index)
            if entry.pointee.lock_class == newestClass {
                // lockdep allows a recursive read under a read of the same class.
                if !(entry.pointee.has(LV_HELD_SHARED) && readsRecursively) {
                    chain.bugs.append(.sameClass(held: entry.pointee))
                }
                continue
            }
            checkPrevAdd(entry, to: target, &chain, in: &state)
        }
    }

    /// Adds the edges from one held lock to `target` (the newest class, or its readers node), and the
    /// report of the cycle the first of them closes. A reader waiting for a lock is blocked by any
    /// holder, a recursive reader only by a writer: so a write hold also leaves the class's readers node.
    private static func checkPrevAdd(
        _ entry: UnsafeMutablePointer<lv_held_lock>, to target: UInt32, _ chain: inout NewChain, in state: inout State
    ) {
        let heldClass = entry.pointee.lock_class
        var readers: UInt32?
        if !entry.pointee.has(LV_HELD_SHARED) {
            if !state.readersNodes.isEmpty, let node = state.readersNodes[heldClass] {
                readers = node
            } else if !state.heldForReading.isEmpty, state.heldForReading.contains(heldClass),
                state.record(from: heldClass, to: target)?.heldShared == true,
                state.writeHoldsOfReadEdges[heldClass]?[target] == nil
            {
                state.writeHoldsOfReadEdges[heldClass, default: [:]][target] = chain.record(
                    from: entry, heldClass, target, in: &state)
            }
        }
        state.graph.prefetchLists(from: heldClass, to: target)
        // One report per held lock: the class's own edge first, then its readers node's.
        if !addEdgeFindingInversion(from: heldClass, to: target, entry, &chain, in: &state), let readers {
            addEdgeFindingInversion(from: readers, to: target, entry, &chain, in: &state)
        }
    }

    /// Inserts `from → target` for `entry`; when it closes a cycle, adds the inversion to the chain's bugs
    /// and returns true.
    @discardableResult
    private static func addEdgeFindingInversion(
        from: UInt32, to target: UInt32, _ entry: UnsafeMutablePointer<lv_held_lock>, _ chain: inout NewChain,
        in state: inout State
    ) -> Bool {
        guard let (path, takenAgain) = insertEdgeFindingCycle(from, target, entry, &chain, in: &state) else {
            return false
        }
        var classes: [UInt32: LockClass] = [:]
        for id in path + [from] where classes[id] == nil { classes[id] = LockClass.withID(id) }
        let existing = zip(path, path.dropFirst()).compactMap { a, b in
            state.record(from: a, to: b).map { state.edge(from: a, to: b, $0, classes: classes) }
        }
        // The record first: `state.edge` would read the state as it was before `record` added to it. An
        // order taken again is shown as this thread took it.
        let record =
            takenAgain ? chain.record(from: entry, from, target, in: &state)
            : state.record(from: from, to: target) ?? chain.record(from: entry, from, target, in: &state)
        let closing = state.edge(from: from, to: target, record, classes: classes)
        let cycle = [from] + path.dropLast()
        for (a, b) in zip(cycle, path) {
            guard let number = state.graph.edgeNumber(from: a, to: b).map(Int.init) else { continue }
            if state.cycleOfReportedEdge[number] == nil { state.cycleOfReportedEdge[number] = cycle }
        }
        chain.takesReportedCycleOrder = true
        chain.bugs.append(
            .inversion(held: entry.pointee, closing: closing, existing: existing, takenAgain: takenAgain))
        return true
    }

    /// Inserts `from → to` (lockdep's `check_noncircular` only searches; this also adds the edge, as
    /// `add_lock_to_list` does after it); returns the path back from `to` to `from` when the edge closes a
    /// cycle. A closing edge is kept too, so that a later, different cycle through it is found; with the
    /// edge table full, the edge is only searched for. A known edge returns the path too when it is an
    /// order of a cycle reported before (`takenAgain`): the code that took it is told, if not yet.
    private static func insertEdgeFindingCycle(
        _ from: UInt32, _ to: UInt32, _ entry: UnsafeMutablePointer<lv_held_lock>, _ chain: inout NewChain,
        in state: inout State
    ) -> (path: [UInt32], takenAgain: Bool)? {
        if let number = state.graph.edgeNumber(from: from, to: to).map(Int.init) {
            noteSighting(of: number, from: entry, chain, in: &state)
            if state.records[number].isLearned, state.retakenRecords[number] == nil {
                return retakeLearnedOrder(number, from, to, entry, &chain, in: &state).map { ($0, false) }
            }
            guard !state.cycleOfReportedEdge.isEmpty, let cycle = state.cycleOfReportedEdge[number],
                let start = cycle.firstIndex(of: to)
            else { return nil }
            chain.takesReportedCycleOrder = true
            // Outside any scope the process log has the cycle already: nothing to tell, nothing to build.
            guard let scope = ViolationScope.effective else { return nil }
            // The reported cycle, from this edge's head round to its tail.
            let path = Array(cycle[start...] + cycle[..<start])
            let orders = zip([from] + path, path).map { UInt64($0) << 32 | UInt64($1) }
            guard scope.tookEveryOrder(of: orders, taking: orders[0], by: chain.thread.serial) else { return nil }
            return (path, true)
        }
        let record = chain.record(from: entry, from, to, in: &state)
        guard state.graph.edgeCount < chain.capacity.edges else {
            // Full: the order is not kept, but a cycle it would close is still found, once.
            chain.edgesFull = true
            guard state.graph.isReachable(from, from: to),
                state.reportedInversions.insert(UInt64(from) << 32 | UInt64(to)).inserted
            else { return nil }
            return (state.graph.path(from: to, to: from) ?? [to, from], false)
        }
        let number = state.graph.edgeCount  // the new edge's, as edges are numbered in order
        // Its first sighting is this one: the record's context holds the thread and its epoch.
        let insertion = state.insertEdge(from: from, to: to, record: record.sightedAsMade)
        if state.graph.edgeCount > number && chain.heldIndices.count > 1 {
            let instance = entry.pointee.instance
            state.noteGatesOfNewEdge(number) { gates(besides: instance, chain.heldIndices, on: chain.thread) }
        }
        guard case .closesCycle(let path) = insertion else { return nil }
        return (path, false)
    }

    /// A learned order this process takes for the first time becomes its own (its record, shown in its
    /// report), and a cycle through it is found as a new edge's would be: else a cycle that an earlier run
    /// left whole in the store would never be reported again. Returns the path back from `to` to `from`
    /// the first time one of a cycle's orders is taken again.
    private static func retakeLearnedOrder(
        _ number: Int, _ from: UInt32, _ to: UInt32, _ entry: UnsafeMutablePointer<lv_held_lock>,
        _ chain: inout NewChain, in state: inout State
    ) -> [UInt32]? {
        state.retaken.insert(UInt64(from) << 32 | UInt64(to))
        state.retakenRecords[number] = chain.record(from: entry, from, to, in: &state)
        guard let path = state.graph.path(from: to, to: from), state.retakenCycles.insert(path.sorted()).inserted
        else { return nil }
        return path
    }

    /// Adds this sighting of edge `number` (from `entry` to the newest hold) to its evidence: the thread
    /// and its happens-before epoch, and the other locks of the context held exclusively across it (a
    /// read hold excludes no other reader, so it is no gate), read only when there may be one.
    private static func noteSighting(
        of number: Int, from entry: UnsafeMutablePointer<lv_held_lock>, _ chain: borrowing NewChain,
        in state: inout State
    ) {
        let thread = chain.thread
        let epoch = thread.pointer.pointee.hb_epoch
        let occurrence = epoch == 0 ? nil : EdgeEvidence.Occurrence(serial: thread.serial, epoch: epoch)
        guard chain.heldIndices.count > 1 else {
            state.noteSighting(of: number, occurrence, held: nil)
            return
        }
        let (instance, context) = (entry.pointee.instance, chain.heldIndices)
        state.noteSighting(of: number, occurrence) { gates(besides: instance, context, on: thread) }
    }

    /// The locks at `context` on `thread`'s held stack held exclusively, but `instance` (a read hold
    /// excludes no other reader, so it is no gate).
    private static func gates(besides instance: UInt64, _ context: Range<Int>, on thread: ThreadState) -> [(
        classID: UInt32, instance: UInt64
    )] {
        let notGates = LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED | LV_HELD_SHARED
        return context.compactMap { index in
            let hold = thread.held(index)
            guard hold.pointee.instance != instance, !hold.pointee.has(notGates) else { return nil }
            return (hold.pointee.lock_class, hold.pointee.instance)
        }
    }

    /// The recursive-readers node of class `classID`, made on first use: it starts with a copy of every
    /// edge the class makes from a write hold, since a recursive reader waits only for a writer.
    static func readersNode(of classID: UInt32, in state: inout State) -> UInt32 {
        if let known = state.readersNodes[classID] { return known }
        guard let readers = LockClass.withID(classID)?.recursiveReaders else { return classID }
        state.readersNodes[classID] = readers.id
        state.inheritFirstInstance(readers.id, from: classID)
        // The node has no edge into it yet, so none of these closes a cycle.
        // Copies, not sighted until a thread takes them: the class's first sightings are not theirs.
        for head in state.graph.successors(of: classID) {
            guard let record = state.record(from: classID, to: head), !record.heldShared else { continue }
            _ = state.insertEdge(from: readers.id, to: head, record: record.unsighted)
        }
        for (head, record) in state.writeHoldsOfReadEdges.removeValue(forKey: classID) ?? [:] {
            _ = state.insertEdge(from: readers.id, to: head, record: record)
        }
        return readers.id
    }

    // MARK: Reporting (outside the graph lock)

    private static func printBug(_ bug: Bug, newest: lv_held_lock, on thread: ThreadState) {
        switch bug {
        case .sameClass(let entry):
            LockValidator.record(
                .sameClassNesting,
                summary: "\(thread.info) is trying to acquire \(newest.lockInfo) while holding \(entry.lockInfo),"
                    + " another lock of the same class, with no nesting level declared; if the order is"
                    + " intended, \(nestingAdvice(for: newest))",
                locks: [newest.lockInfo, entry.lockInfo], site: newest.acquiredAt, awaited: newest.instance)
        case .inversion(let entry, let closing, let existing, let takenAgain):
            let chain = ([closing.to] + existing.map(\.to)).map { "\"\($0.name)\"" }.joined(separator: " -> ")
            let edges = [closing] + existing
            var verdict =
                orders(of: edges).map(verdict(ofCycle:))
                ?? (edges.contains { $0.process != nil } ? .acrossProcesses : .canDeadlock)
            var verdictIsTheScopes = false
            var reportedBefore = ""
            if takenAgain {
                guard let told = verdictForScope(takingAgain: closing, of: edges, on: thread) else { return }
                verdictIsTheScopes = told != nil
                verdict = told ?? verdict
                reportedBefore = "; " + firstReport(ofCycle: Set(edges.map(\.to.name)))
            }
            // The locks this thread wants and holds as it has them: an edge keeps the instances that first
            // took its order (another account pair's), which "locks involved" must not show as held here.
            let (wanted, held) = (newest.lockInfo, entry.lockInfo)
            let involved = ([closing.to] + existing.map(\.to)).map { lock in
                lock.name == wanted.name ? wanted : lock.name == held.name ? held : lock
            }
            LockValidator.record(
                .lockOrderInversion,
                summary: "\(thread.info) is trying to acquire \(closing.to) while holding \(entry.lockInfo),"
                    + " but the order \(chain) was taken before: a cycle of \(existing.count + 1) locks"
                    + reportedBefore,
                locks: involved, site: newest.acquiredAt, edges: edges, verdict: verdict,
                verdictIsTheScopes: verdictIsTheScopes, retold: takenAgain,
                awaited: newest.instance)
        }
    }

    /// For an order of a cycle reported before, taken again by a thread that validates it for the first
    /// time: whether its scope (a test) is told of the cycle, and with what verdict. Told once, when the
    /// scope's own threads have now taken every order of the cycle and it has no report of it: a test
    /// that can close a cycle another test closed first fails too. Nil: not told; `.some(nil)`: the
    /// cycle's verdict; else the scope's own (one thread took all its orders there).
    private static func verdictForScope(
        takingAgain closing: DependencyEdge, of edges: [DependencyEdge], on thread: ThreadState
    ) -> CycleVerdict?? {
        // Outside any scope the process log has the cycle already.
        guard let scope = ViolationScope.effective else { return nil }
        func key(_ edge: DependencyEdge) -> UInt64 {
            UInt64(edge.from.classID ?? 0) << 32 | UInt64(edge.to.classID ?? 0)
        }
        let sightings = scope.noteSighting(ofCycleOrder: key(closing), by: thread.serial)
        let threads = edges.map { sightings[key($0)] }
        guard threads.allSatisfy({ $0 != nil }) else { return nil }
        let classes = Set(edges.map(\.to.name))
        guard !scope.log.contains(where: { $0.rule == .lockOrderInversion && Set($0.locks.map(\.name)) == classes })
        else { return nil }
        guard Set(threads.flatMap { $0! }).count == 1 else { return .some(nil) }
        return CycleVerdict(
            kind: .cannotDeadlock, reason: .oneThread, orders: edges.map { "\"\($0.from.name)\" -> \"\($0.to.name)\"" })
    }

    /// Where the cycle of `classes` was reported first, for a scope told of it again: the process report
    /// keeps that one entry, and counts this one as another occurrence of it.
    private static func firstReport(ofCycle classes: Set<String>) -> String {
        let first = LockValidator.globalLog.first {
            $0.rule == .lockOrderInversion && Set($0.locks.map(\.name)) == classes
        }
        guard let first else { return "this cycle was reported first by another scope of this process" }
        guard let scope = first.scope else { return "this cycle was reported first outside any test" }
        return "this cycle was reported first in \"\(scope)\""
    }

    /// How to declare the nesting, in the words of the lock's own front end.
    private static func nestingAdvice(for entry: lv_held_lock) -> String {
        let lockClass = LockClass.withID(entry.lock_class)
        if lockClass?.isInterposed == true {
            // A pthread lock takes no arguments where it is taken: its class is chosen where it is created.
            return "create the inner lock in a class of its own, nested:"
                + " `LockValidator.withLockClass(\"Child.lock\", nesting: 1) { ... }` around its creation"
                + " (`LockValidator.setClassName(\"Child.lock\", nesting: 1, for: &mutex)` for a C mutex)"
        }
        if entry.kind == AcquireKind.annotated.rawValue {
            let name = lockClass?.name ?? "Child.lock"
            return "give the inner lock a nesting level: `LockID(\"\(name)\", nesting: 1)`"
                + " (`ValidatedMutex(\"\(name)\", value, nesting: 1)`)"
        }
        return "acquire the inner lock with a nesting level: `withLock(nesting: 1)`"
    }

    private static func reportFullTables(_ chain: NewChain) {
        let capacity = chain.capacity
        if chain.edgesFull {
            Capacity.exhausted(.edges, cap: capacity.edges, detail: "new lock orders are checked, not kept")
        }
        if chain.chainsFull {
            Capacity.exhausted(.chains, cap: capacity.chains, detail: "new chains are validated at every acquire")
        }
        if chain.stacksFull {
            Capacity.exhausted(.stacks, cap: capacity.stacks, detail: "new edges are kept without a stack")
        }
    }
}
