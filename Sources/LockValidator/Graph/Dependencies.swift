import _LockValidatorShims

/// What the validator has learned across all threads, lock order and IRQL usage, and the slow paths
/// that learn it. A thread reaches these only for a chain of held classes no thread has validated
/// before, or for a class held at an IRQL it has not been held at before.
@usableFromInline
enum Dependencies {
    struct State {
        var graph = LockOrderGraph<DependencyEdge>()
        /// Edges already reported as closing a cycle, `from << 32 | to`.
        var reportedInversions: Set<UInt64> = []
        /// The first usage of each class at each IRQL: class id → IRQL → usage.
        var usages: [UInt32: [UInt8: LockUsage]] = [:]
    }

    /// The graph lock: the one global lock of the validator, taken only on slow paths.
    static let state = InternalLock(State())

    /// Every edge of the lock-order graph.
    static var edges: [DependencyEdge] { state.withLock { $0.graph.edges.map(\.payload) } }

    /// Forgets the graph, the validated chains and every class's IRQL usage.
    static func reset() {
        state.withLock { state in
            state = State()
            ChainCache.removeAll()
            for lockClass in LockClass.all { lockClass.levelsUsed.store(0, ordering: .relaxed) }
        }
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
        let held = (0..<depth - 1).map { thread.held($0).pointee }.filter { $0.flags & UInt8(LV_HELD_RECURSIVE) == 0 }
        var classes: [UInt32: LockClass] = [:]
        for entry in held + [newest] where classes[entry.lock_class] == nil {
            classes[entry.lock_class] = LockClass.withID(entry.lock_class)
        }
        func info(_ entry: lv_held_lock) -> LockInfo { lockInfo(classes[entry.lock_class], entry) }

        var stack: StackTrace?
        var threadInfo: ThreadInfo?
        func edge(from entry: lv_held_lock) -> DependencyEdge {
            if stack == nil { stack = .capture() }
            if threadInfo == nil { threadInfo = thread.info }
            return DependencyEdge(
                from: info(entry), to: info(newest), fromAcquiredAt: site(entry), toAcquiredAt: site(newest),
                irql: thread.irql, thread: threadInfo!, stack: stack!)
        }

        var findings: [Finding] = []
        state.withLock { state in
            guard !ChainCache.contains(key) else { return }  // validated by another thread meanwhile
            for entry in held {
                if entry.lock_class == newest.lock_class {
                    findings.append(.sameClass(held: entry))
                    continue
                }
                let insertion = state.graph.insertEdge(
                    from: entry.lock_class, to: newest.lock_class, payload: edge(from: entry))
                guard case .closesCycle(let path) = insertion else { continue }
                let edgeKey = UInt64(entry.lock_class) << 32 | UInt64(newest.lock_class)
                guard state.reportedInversions.insert(edgeKey).inserted else { continue }
                let existing = zip(path, path.dropFirst()).compactMap { state.graph.payload(from: $0, to: $1) }
                findings.append(.inversion(held: entry, closing: edge(from: entry), existing: existing))
            }
            ChainCache.insert(key)
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

    private static func site(_ entry: lv_held_lock) -> SourceSite {
        SourceSite(fileID: entry.file.map { String(cString: $0) } ?? "?", line: UInt(entry.line))
    }
}
