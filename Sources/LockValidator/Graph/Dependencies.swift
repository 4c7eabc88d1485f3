import _LockValidatorShims

/// What the validator has learned across all threads, lock order and IRQL usage, and the slow paths
/// that learn it. A thread reaches these only for a chain of held classes no thread has validated
/// before, or for a lock held at an IRQL it has not been held at before.
@usableFromInline
enum Dependencies {
    /// What the graph keeps per edge: 40 bytes, the rest interned (sites, threads, stacks).
    struct EdgeRecord {
        let fromInstance: UInt64
        let toInstance: UInt64
        let fromSite: UInt32
        let toSite: UInt32
        let thread: UInt32
        let stack: UInt32
        let irql: IRQL
        /// The edge's tail was held for reading.
        let heldShared: Bool
    }

    struct State {
        var graph = LockOrderGraph<EdgeRecord>()
        /// Edges found closing a cycle while the edge table was full (not kept), `from << 32 | to`.
        var reportedInversions: Set<UInt64> = []
        /// Recursive-readers graph nodes by the class they stand for (see `LockClass.recursiveReaders`).
        var readersNodes: [UInt32: UInt32] = [:]
        /// For a class with no readers node yet: edges first made from a read hold and since taken from a
        /// write hold too (class → head → that write hold's record), which its readers node will need.
        var writeHoldsOfReadEdges: [UInt32: [UInt32: EdgeRecord]] = [:]
        /// Classes some edge was made from while held for reading (most programs: none).
        var heldForReading: Set<UInt32> = []
        /// The first usage of each class at each IRQL: class id → IRQL → usage.
        var usages: [UInt32: [UInt8: LockUsage]] = [:]
        /// The first usage of each instance at each device IRQL: instance → IRQL → usage.
        var instanceUsages: [UInt64: [UInt8: LockUsage]] = [:]
        /// Interned acquire sites, by the `#fileID` pointer and line.
        var sites: [SourceSite] = []
        var siteIndex: [SiteKey: UInt32] = [:]
        /// Threads that created edges, by serial.
        var threads: [UInt32: ThreadInfo] = [:]
        /// Kept stacks, each distinct stack once; index 0 is the empty stack.
        var stacks: [StackTrace] = [StackTrace(addresses: [])]
        var stackIndex: [[UInt]: UInt32] = [[]: 0]

        struct SiteKey: Hashable {
            let file: UnsafePointer<CChar>?
            let line: UInt32
        }

        mutating func site(of entry: lv_held_lock) -> UInt32 {
            let key = SiteKey(file: entry.file, line: entry.line)
            if let known = siteIndex[key] { return known }
            sites.append(Dependencies.site(entry))
            siteIndex[key] = UInt32(sites.count - 1)
            return UInt32(sites.count - 1)
        }

        /// Keeps `stack` (once), or nothing past the stack cap.
        mutating func keep(_ stack: StackTrace, cap: Int, full: inout Bool) -> UInt32 {
            if let known = stackIndex[stack.addresses] { return known }
            guard stacks.count <= cap else {
                full = true
                return 0
            }
            stacks.append(stack)
            stackIndex[stack.addresses] = UInt32(stacks.count - 1)
            return UInt32(stacks.count - 1)
        }

        /// The edge as reports show it. An edge leaving a recursive-readers node is a copy of its class's
        /// edge (a write hold), and is shown as that.
        func edge(from: UInt32, to: UInt32, _ record: EdgeRecord, classes: [UInt32: LockClass]) -> DependencyEdge {
            func lock(_ id: UInt32, _ instance: UInt64, holding: Bool) -> LockInfo {
                var lockClass = classes[id]
                if holding, let readersOf = lockClass?.readersOf { lockClass = readersOf }
                return LockInfo(
                    name: lockClass?.name ?? "class \(id)", site: lockClass?.site ?? SourceSite(fileID: "?", line: 0),
                    instance: instance)
            }
            return DependencyEdge(
                from: lock(from, record.fromInstance, holding: true), to: lock(to, record.toInstance, holding: false),
                fromAcquiredAt: sites[Int(record.fromSite)], toAcquiredAt: sites[Int(record.toSite)], irql: record.irql,
                thread: threads[record.thread] ?? ThreadInfo(serial: record.thread, osThreadID: 0, name: nil),
                stack: stacks[Int(record.stack)])
        }

        /// The edges a report shows: every edge but the copies that leave recursive-readers nodes.
        func shownEdges(classes: [UInt32: LockClass]) -> [(from: UInt32, to: UInt32, payload: EdgeRecord)] {
            graph.edges.filter { classes[$0.from]?.readersOf == nil }
        }
    }

    /// The graph lock: the one global lock of the validator, taken only on slow paths.
    static let state = InternalLock(State())

    /// Every edge of the lock-order graph.
    static var edges: [DependencyEdge] {
        let classes = Dictionary(uniqueKeysWithValues: LockClass.all.map { ($0.id, $0) })
        return state.withLock { state in
            state.shownEdges(classes: classes).map {
                state.edge(from: $0.from, to: $0.to, $0.payload, classes: classes)
            }
        }
    }

    /// The number of edges.
    static var edgeCount: Int { state.withLock { $0.graph.edgeCount } }

    /// Forgets the graph, the validated chains, every class's IRQL usage and every lock's statistics.
    static func reset() {
        let classes = LockClass.all
        state.withLock { state in
            state = State()
            ChainCache.removeAll()
            for lockClass in classes {
                lockClass.levelsUsed.store(0, ordering: .relaxed)
                lockClass.resetStatistics()
            }
        }
        Capacity.reset()
    }

    /// Forgets what was kept about a freed lock instance.
    static func forgetInstance(_ instance: UInt64) {
        state.withLock { state in state.instanceUsages[instance] = nil }
    }

    // MARK: New chains

    private enum Finding {
        case sameClass(held: lv_held_lock)
        case inversion(held: lv_held_lock, closing: DependencyEdge, existing: [DependencyEdge])
    }

    /// Adds the edges "each held class → the newest class" for a chain no thread has validated, and
    /// reports the cycles they close and any nesting of one class without a nesting level.
    ///
    /// As in lockdep: only the locks of the newest entry's context count (an interrupt or DPC takes no
    /// order from what it interrupted); the newest entry is not a try-acquire (a try never waits, so
    /// no edge leads into it); placeholders of reported recursive acquires and nested holds are not
    /// separate holds; and the read rules decide which edges a shared hold makes (see
    /// `LockClass.recursiveReaders`).
    @usableFromInline
    @inline(never)
    static func validateNewChain(_ key: UInt64, on thread: ThreadState) {
        thread.billingValidator { validate(key, on: thread) }
    }

    private static func validate(_ key: UInt64, on thread: ThreadState) {
        let depth = thread.depth
        let newest = thread.held(depth - 1).pointee
        let notHolds = UInt8(LV_HELD_RECURSIVE | LV_HELD_UNTRACKED | LV_HELD_NESTED)
        let held = (thread.contextStart..<depth - 1).map { thread.held($0).pointee }.filter { $0.flags & notHolds == 0 }
        // Class objects are needed only to name locks in a report: looked up then, not per edge.
        var classes: [UInt32: LockClass] = [:]
        func resolveClasses(_ ids: [UInt32]) {
            for id in ids where classes[id] == nil { classes[id] = LockClass.withID(id) }
        }
        func info(_ entry: lv_held_lock) -> LockInfo {
            resolveClasses([entry.lock_class])
            return lockInfo(classes[entry.lock_class], entry)
        }
        let capacity = currentCapacity.capacity

        var stack: StackTrace?
        var stacksFull = false
        var edgesFull = false
        var chainsFull = false
        func record(from entry: lv_held_lock, in state: inout State) -> EdgeRecord {
            if stack == nil { stack = .capture() }
            if entry.flags & UInt8(LV_HELD_SHARED) != 0 { state.heldForReading.insert(entry.lock_class) }
            // A thread's name and id cost system calls: read once per thread.
            if state.threads[thread.serial] == nil { state.threads[thread.serial] = thread.info }
            return EdgeRecord(
                fromInstance: entry.instance, toInstance: newest.instance, fromSite: state.site(of: entry),
                toSite: state.site(of: newest), thread: thread.serial,
                stack: state.keep(stack!, cap: capacity.stacks, full: &stacksFull), irql: thread.irql,
                heldShared: entry.flags & UInt8(LV_HELD_SHARED) != 0)
        }

        /// Learns `from → to`; returns the path back from `to` to `from` when the edge closes a cycle.
        func learn(_ from: UInt32, _ to: UInt32, _ entry: lv_held_lock, in state: inout State) -> [UInt32]? {
            if state.graph.hasEdge(from: from, to: to) { return nil }
            let newRecord = record(from: entry, in: &state)
            guard state.graph.edgeCount < capacity.edges else {
                // Full: the order is not kept, but a cycle it would close is still found, once.
                edgesFull = true
                guard state.graph.isReachable(from, from: to),
                    state.reportedInversions.insert(UInt64(from) << 32 | UInt64(to)).inserted
                else { return nil }
                return state.graph.path(from: to, to: from) ?? [to, from]
            }
            guard case .closesCycle(let path) = state.graph.insertEdge(from: from, to: to, payload: newRecord) else {
                return nil
            }
            return path
        }

        var findings: [Finding] = []
        state.withLock { state in
            guard !ChainCache.contains(key) else { return }  // validated by another thread meanwhile
            let readsRecursively = newest.flags & UInt8(LV_HELD_RECURSIVE_READ) != 0
            let target = readsRecursively ? readersNode(of: newest.lock_class, in: &state) : newest.lock_class
            for entry in held {
                let heldShared = entry.flags & UInt8(LV_HELD_SHARED) != 0
                if entry.lock_class == newest.lock_class {
                    // lockdep allows a recursive read under a read of the same class.
                    if !(heldShared && readsRecursively) { findings.append(.sameClass(held: entry)) }
                    continue
                }
                // A reader waiting for a lock is blocked by any holder; a recursive reader only by a
                // writer: so a write hold also leaves the class's readers node.
                var sources = [entry.lock_class]
                if !heldShared {
                    if let readers = state.readersNodes[entry.lock_class] {
                        sources.append(readers)
                    } else if !state.heldForReading.isEmpty, state.heldForReading.contains(entry.lock_class),
                        state.graph.payload(from: entry.lock_class, to: target)?.heldShared == true,
                        state.writeHoldsOfReadEdges[entry.lock_class]?[target] == nil
                    {
                        state.writeHoldsOfReadEdges[entry.lock_class, default: [:]][target] = record(
                            from: entry, in: &state)
                    }
                }
                for from in sources {
                    guard let path = learn(from, target, entry, in: &state) else { continue }
                    resolveClasses(path + [from])
                    let existing = zip(path, path.dropFirst()).compactMap { a, b in
                        state.graph.payload(from: a, to: b).map { state.edge(from: a, to: b, $0, classes: classes) }
                    }
                    let closing = state.edge(
                        from: from, to: target,
                        state.graph.payload(from: from, to: target) ?? record(from: entry, in: &state),
                        classes: classes)
                    findings.append(.inversion(held: entry, closing: closing, existing: existing))
                    break  // one report per held lock
                }
            }
            if ChainCache.chainCount < capacity.chains {
                ChainCache.insert(key)
            } else {
                chainsFull = true
            }
        }
        if edgesFull {
            Capacity.exhausted(.edges, cap: capacity.edges, detail: "new lock orders are checked, not kept")
        }
        if chainsFull {
            Capacity.exhausted(.chains, cap: capacity.chains, detail: "new chains are validated at every acquire")
        }
        if stacksFull {
            Capacity.exhausted(.stacks, cap: capacity.stacks, detail: "new edges are kept without a stack")
        }

        for finding in findings {
            switch finding {
            case .sameClass(let entry):
                LockValidator.record(
                    .sameClassNesting,
                    summary: "\(thread.info) is trying to acquire \(info(newest)) while holding \(info(entry)),"
                        + " another lock of the same class, with no nesting level declared; if the order is"
                        + " intended, acquire the inner lock with `nesting: 1`",
                    locks: [info(newest), info(entry)], site: site(newest))
            case .inversion(let entry, let closing, let existing):
                let chain = ([closing.to] + existing.map(\.to)).map { "\"\($0.name)\"" }.joined(separator: " -> ")
                LockValidator.record(
                    .lockOrderInversion,
                    summary: "\(thread.info) is trying to acquire \(closing.to) while holding \(info(entry)),"
                        + " but the order \(chain) was taken before: \(existing.count + 1) locks in a cycle"
                        + " that deadlocks when its threads meet",
                    locks: [closing.to] + existing.map(\.to), site: site(newest), edges: [closing] + existing)
            }
        }
    }

    /// The recursive-readers node of class `classID`, made on first use: it starts with a copy of every
    /// edge the class makes from a write hold, since a recursive reader waits only for a writer.
    private static func readersNode(of classID: UInt32, in state: inout State) -> UInt32 {
        if let known = state.readersNodes[classID] { return known }
        guard let readers = LockClass.withID(classID)?.recursiveReaders else { return classID }
        state.readersNodes[classID] = readers.id
        // The node has no edge into it yet, so none of these closes a cycle.
        for head in state.graph.successors(of: classID) {
            guard let record = state.graph.payload(from: classID, to: head), !record.heldShared else { continue }
            _ = state.graph.insertEdge(from: readers.id, to: head, payload: record)
        }
        for (head, record) in state.writeHoldsOfReadEdges.removeValue(forKey: classID) ?? [:] {
            _ = state.graph.insertEdge(from: readers.id, to: head, payload: record)
        }
        return readers.id
    }

    // MARK: IRQL usage

    /// Levels at which device interrupts arrive (PASSIVE, APC and DISPATCH), and the device levels.
    private static let interruptibleLevels: UInt16 = 0b111
    private static let deviceLevels: UInt16 = ~interruptibleLevels

    /// Records that `lockClass` was held at `level` for the first time, and reports a conflict as
    /// lockdep's hard-IRQ state does: a class held at a device IRQL (irq-safe) and, somewhere else, at
    /// an IRQL where device interrupts arrive (irq-unsafe) deadlocks when the interrupt arrives on a
    /// processor holding it there. Holds at two device levels are not a class conflict: each device's
    /// instance is taken at its own level (``recordInstanceUsage(of:instance:statistics:at:fileID:line:on:)``
    /// checks one instance across device levels).
    @usableFromInline
    @inline(never)
    static func recordUsage(
        of lockClass: LockClass, instance: UInt64, at level: IRQL, fileID: StaticString, line: UInt,
        on thread: ThreadState
    ) {
        thread.billingValidator {
            recordFirstUsage(of: lockClass, instance: instance, at: level, fileID: fileID, line: line, on: thread)
        }
    }

    private static func recordFirstUsage(
        of lockClass: LockClass, instance: UInt64, at level: IRQL, fileID: StaticString, line: UInt,
        on thread: ThreadState
    ) {
        let bit = UInt16(1) << UInt16(level.rawValue)
        var conflict: (higher: LockUsage, lower: LockUsage)?
        state.withLock { state in
            let before = lockClass.levelsUsed.bitwiseOr(bit, ordering: .relaxed).oldValue
            guard before & bit == 0 else { return }
            let usage = LockUsage(
                lock: LockInfo(name: lockClass.name, site: lockClass.site, instance: instance), irql: level,
                site: SourceSite(fileID, line), thread: thread.info, stack: .capture())
            state.usages[lockClass.id, default: [:]][level.rawValue] = usage
            let pair: (higher: UInt8, lower: UInt8)?
            if bit & deviceLevels != 0, before & interruptibleLevels != 0 {
                pair = (level.rawValue, highestLevel(in: before & interruptibleLevels))
            } else if bit & interruptibleLevels != 0, before & deviceLevels != 0 {
                pair = (UInt8((before & deviceLevels).trailingZeroBitCount), level.rawValue)
            } else {
                pair = nil
            }
            if let pair, let a = state.usages[lockClass.id]?[pair.higher],
                let b = state.usages[lockClass.id]?[pair.lower]
            {
                conflict = (a, b)
            }
        }
        guard let conflict else { return }
        let (higher, lower) = conflict
        LockValidator.record(
            .irqlInconsistentUsage,
            summary: "\"\(lockClass.name)\" is held at \(higher.irql) (acquired at \(higher.site)) and at"
                + " \(lower.irql) (acquired at \(lower.site)): an interrupt at \(higher.irql) arriving on a"
                + " processor that holds it at \(lower.irql) spins on it forever",
            locks: [higher.lock], site: SourceSite(fileID, line), usages: [higher, lower])
    }

    /// Records that one lock instance was held at device IRQL `level` for the first time, and reports
    /// it held at two device levels: an interrupt at the higher level arriving while this very lock is
    /// held at the lower one spins on it forever. (Instances of one class at different device levels,
    /// one per device, cannot deadlock each other, and are not a conflict.)
    @usableFromInline
    @inline(never)
    static func recordInstanceUsage(
        of lockClass: LockClass, instance: UInt64, statistics: LockStatisticsBlock, at level: IRQL,
        fileID: StaticString, line: UInt, on thread: ThreadState
    ) {
        thread.billingValidator {
            let bit = UInt64(1) << UInt64(level.rawValue)
            var conflict: (higher: LockUsage, lower: LockUsage)?
            state.withLock { state in
                let before = statistics.setBits(bit, in: .deviceLevels)
                guard before & bit == 0 else { return }
                let lock = LockInfo(name: lockClass.name, site: lockClass.site, instance: instance)
                let usage = LockUsage(
                    lock: lock, irql: level, site: SourceSite(fileID, line), thread: thread.info, stack: .capture())
                state.instanceUsages[instance, default: [:]][level.rawValue] = usage
                guard before != 0,
                    let other = state.instanceUsages[instance]?.first(where: { $0.key != level.rawValue })
                else { return }
                conflict = other.key > level.rawValue ? (other.value, usage) : (usage, other.value)
            }
            guard let (higher, lower) = conflict else { return }
            LockValidator.record(
                .irqlInconsistentUsage,
                summary: "\(higher.lock) is held at \(higher.irql) (acquired at \(higher.site)) and at \(lower.irql)"
                    + " (acquired at \(lower.site)): an interrupt at \(higher.irql) arriving on a processor that"
                    + " holds this lock at \(lower.irql) spins on it forever",
                locks: [higher.lock], site: SourceSite(fileID, line), usages: [higher, lower])
        }
    }

    private static func highestLevel(in levels: UInt16) -> UInt8 { UInt8(15 - levels.leadingZeroBitCount) }

    // MARK: Helpers

    private static func lockInfo(_ lockClass: LockClass?, _ entry: lv_held_lock) -> LockInfo {
        LockInfo(
            name: lockClass?.name ?? "class \(entry.lock_class)",
            site: lockClass?.site ?? SourceSite(fileID: "?", line: 0), instance: entry.instance)
    }

    static func site(_ entry: lv_held_lock) -> SourceSite {
        SourceSite(fileID: entry.file.map { String(cString: $0) } ?? "?", line: UInt(entry.line))
    }
}

extension Dependencies {
    /// The graph as reports keep it: names and first sites, no stacks; sorted.
    static var graphEdges: [ValidationReport.Edge] {
        let classes = Dictionary(uniqueKeysWithValues: LockClass.all.map { ($0.id, $0) })
        return state.withLock { state in
            state.shownEdges(classes: classes).map { edge in
                ValidationReport.Edge(
                    from: classes[edge.from]?.name ?? "class \(edge.from)",
                    to: classes[edge.to]?.name ?? "class \(edge.to)",
                    fromAcquiredAt: state.sites[Int(edge.payload.fromSite)],
                    toAcquiredAt: state.sites[Int(edge.payload.toSite)], irql: edge.payload.irql)
            }
        }.sorted { ($0.from, $0.to) < ($1.from, $1.to) }
    }
}
