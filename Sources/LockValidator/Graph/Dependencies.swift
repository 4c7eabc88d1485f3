import _LockValidatorShims

/// What the validator has learned across all threads, lock order and IRQL usage, and the slow paths
/// that learn it. A thread reaches these only for a chain of held classes no thread has validated
/// before, or for a class held at an IRQL it has not been held at before.
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
    }

    struct State {
        var graph = LockOrderGraph<EdgeRecord>()
        /// Edges already reported as closing a cycle, `from << 32 | to`.
        var reportedInversions: Set<UInt64> = []
        /// The first usage of each class at each IRQL: class id → IRQL → usage.
        var usages: [UInt32: [UInt8: LockUsage]] = [:]
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

        /// The edge as reports show it.
        func edge(from: UInt32, to: UInt32, _ record: EdgeRecord, classes: [UInt32: LockClass]) -> DependencyEdge {
            func lock(_ id: UInt32, _ instance: UInt64) -> LockInfo {
                let lockClass = classes[id]
                return LockInfo(
                    name: lockClass?.name ?? "class \(id)", site: lockClass?.site ?? SourceSite(fileID: "?", line: 0),
                    instance: instance)
            }
            return DependencyEdge(
                from: lock(from, record.fromInstance), to: lock(to, record.toInstance),
                fromAcquiredAt: sites[Int(record.fromSite)], toAcquiredAt: sites[Int(record.toSite)], irql: record.irql,
                thread: threads[record.thread] ?? ThreadInfo(serial: record.thread, osThreadID: 0, name: nil),
                stack: stacks[Int(record.stack)])
        }
    }

    /// The graph lock: the one global lock of the validator, taken only on slow paths.
    static let state = InternalLock(State())

    /// Every edge of the lock-order graph.
    static var edges: [DependencyEdge] {
        let classes = Dictionary(uniqueKeysWithValues: LockClass.all.map { ($0.id, $0) })
        return state.withLock { state in
            state.graph.edges.map { state.edge(from: $0.from, to: $0.to, $0.payload, classes: classes) }
        }
    }

    /// The number of edges.
    static var edgeCount: Int { state.withLock { $0.graph.edgeCount } }

    /// Forgets the graph, the validated chains and every class's IRQL usage.
    static func reset() {
        let classes = LockClass.all
        state.withLock { state in
            state = State()
            ChainCache.removeAll()
            for lockClass in classes { lockClass.levelsUsed.store(0, ordering: .relaxed) }
        }
        Capacity.reset()
    }

    // MARK: New chains

    private enum Finding {
        case sameClass(held: lv_held_lock)
        case inversion(held: lv_held_lock, closing: DependencyEdge, existing: [DependencyEdge])
    }

    /// Adds the edges "each held class → the newest class" for a chain no thread has validated, and
    /// reports the cycles they would close and any nesting of one class without a nesting level.
    ///
    /// As in lockdep, the newest entry is not a try-acquire (a try never waits, so no edge leads into
    /// it), and placeholder entries of reported recursive acquires are not held.
    @usableFromInline
    @inline(never)
    static func validateNewChain(_ key: UInt64, on thread: ThreadState) {
        thread.billingValidator { validate(key, on: thread) }
    }

    private static func validate(_ key: UInt64, on thread: ThreadState) {
        let depth = thread.depth
        let newest = thread.held(depth - 1).pointee
        let untracked = UInt8(LV_HELD_RECURSIVE | LV_HELD_UNTRACKED)
        let held = (0..<depth - 1).map { thread.held($0).pointee }.filter { $0.flags & untracked == 0 }
        // Class objects are needed only to name locks in a report: looked up then, not per edge.
        var classes: [UInt32: LockClass] = [:]
        func resolveClasses() {
            guard classes.isEmpty else { return }
            for entry in held + [newest] where classes[entry.lock_class] == nil {
                classes[entry.lock_class] = LockClass.withID(entry.lock_class)
            }
        }
        func info(_ entry: lv_held_lock) -> LockInfo {
            resolveClasses()
            return lockInfo(classes[entry.lock_class], entry)
        }
        let capacity = currentCapacity.capacity

        var stack: StackTrace?
        var stacksFull = false
        var edgesFull = false
        var chainsFull = false
        func record(from entry: lv_held_lock, in state: inout State) -> EdgeRecord {
            if stack == nil { stack = .capture() }
            // A thread's name and id cost system calls: read once per thread.
            if state.threads[thread.serial] == nil { state.threads[thread.serial] = thread.info }
            return EdgeRecord(
                fromInstance: entry.instance, toInstance: newest.instance, fromSite: state.site(of: entry),
                toSite: state.site(of: newest), thread: thread.serial,
                stack: state.keep(stack!, cap: capacity.stacks, full: &stacksFull), irql: thread.irql)
        }

        var findings: [Finding] = []
        state.withLock { state in
            guard !ChainCache.contains(key) else { return }  // validated by another thread meanwhile
            for entry in held {
                if entry.lock_class == newest.lock_class {
                    findings.append(.sameClass(held: entry))
                    continue
                }
                let (from, to) = (entry.lock_class, newest.lock_class)
                let path: [UInt32]
                if state.graph.hasEdge(from: from, to: to) { continue }
                let newRecord = record(from: entry, in: &state)
                if state.graph.edgeCount >= capacity.edges {
                    // Full: the order is not kept, but a cycle it would close is still found.
                    edgesFull = true
                    guard state.graph.isReachable(from, from: to) else { continue }
                    path = state.graph.path(from: to, to: from) ?? [to, from]
                } else {
                    guard case .closesCycle(let cycle) = state.graph.insertEdge(from: from, to: to, payload: newRecord)
                    else { continue }
                    path = cycle
                }
                guard state.reportedInversions.insert(UInt64(from) << 32 | UInt64(to)).inserted else { continue }
                resolveClasses()
                let missing = zip(path, path.dropFirst()).map { ($0, $1) }.filter {
                    classes[$0.0] == nil || classes[$0.1] == nil
                }
                for (a, b) in missing {
                    classes[a] = classes[a] ?? LockClass.withID(a)
                    classes[b] = classes[b] ?? LockClass.withID(b)
                }
                let existing = zip(path, path.dropFirst()).compactMap { a, b in
                    state.graph.payload(from: a, to: b).map { state.edge(from: a, to: b, $0, classes: classes) }
                }
                let closing = state.edge(from: from, to: to, newRecord, classes: classes)
                findings.append(.inversion(held: entry, closing: closing, existing: existing))
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
                    summary: "\(thread.info) is trying to acquire \(info(newest)) while holding \(info(entry)),"
                        + " but the order \(chain) was taken before: \(existing.count + 1) locks in a cycle"
                        + " that deadlocks when its threads meet",
                    locks: [closing.to] + existing.map(\.to), site: site(newest), edges: [closing] + existing)
            }
        }
    }

    // MARK: IRQL usage

    /// Records that `lockClass` was held at `level` for the first time, and reports a conflict with a
    /// usage at another level: held at a device IRQL in one place and at a lower IRQL in another, the
    /// lock deadlocks when an interrupt at the higher level arrives on a processor holding it at the
    /// lower one.
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
            let levels = before | bit
            let highest = UInt8(15 - levels.leadingZeroBitCount)
            let lowest = UInt8(levels.trailingZeroBitCount)
            let dispatch = IRQL.dispatch.rawValue
            let pair: (UInt8, UInt8)? =
                level.rawValue > dispatch && lowest < level.rawValue
                ? (level.rawValue, lowest)
                : highest > dispatch && highest > level.rawValue ? (highest, level.rawValue) : nil
            if let (higher, lower) = pair, let a = state.usages[lockClass.id]?[higher],
                let b = state.usages[lockClass.id]?[lower]
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
        let names = Dictionary(uniqueKeysWithValues: LockClass.all.map { ($0.id, $0.name) })
        return state.withLock { state in
            state.graph.edges.map { edge in
                ValidationReport.Edge(
                    from: names[edge.from] ?? "class \(edge.from)", to: names[edge.to] ?? "class \(edge.to)",
                    fromAcquiredAt: state.sites[Int(edge.payload.fromSite)],
                    toAcquiredAt: state.sites[Int(edge.payload.toSite)], irql: edge.payload.irql)
            }
        }.sorted { ($0.from, $0.to) < ($1.from, $1.to) }
    }
}
