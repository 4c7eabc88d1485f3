extension LockOrder {
    /// The verdict on the cycle made of `orders` (graph nodes, `from` and `to`), from the evidence its
    /// edges hold now: decided when the cycle is reported, and again whenever a report is read, since a
    /// later sighting (without the gate, by another thread) can only make it can-deadlock.
    static func verdict(ofCycle orders: [(from: UInt32, to: UInt32)]) -> CycleVerdict {
        let happensBefore = HappensBefore.snapshot
        let evidence = state.withLock { state in orders.map { state.evidence(from: $0.from, to: $0.to) } }
        // An order of the cycle this process never took (learned from another process): no evidence.
        guard orders.count >= 2, evidence.allSatisfy({ $0 != nil }) else { return .canDeadlock }
        let edges = evidence.map { $0! }
        let names = orders.map { order in
            "\"\(LockClass.withID(order.from)?.name ?? "?")\" -> \"\(LockClass.withID(order.to)?.name ?? "?")\""
        }
        let threads = Set(edges.flatMap { $0.occurrences.map(\.serial) + $0.laterThreads })
        if threads.count == 1, !edges.contains(where: \.unordered) {
            return CycleVerdict(kind: .cannotDeadlock, reason: .oneThread, orders: names)
        }
        var ordered: CycleVerdict?
        for i in edges.indices {
            for j in edges.indices where j > i {
                if let gate = edges[i].gates.first(where: { gate in
                    edges[j].gates.contains { $0 == gate } && isOneLock(gate.classID)
                }) {
                    return CycleVerdict(
                        kind: .cannotDeadlock, reason: .gateLock, gate: LockClass.withID(gate.classID)?.name,
                        orders: [names[i], names[j]])
                }
                if ordered == nil, let reason = orderReason(edges[i], edges[j], happensBefore) {
                    ordered = CycleVerdict(kind: .cannotDeadlock, reason: reason, orders: [names[i], names[j]])
                }
            }
        }
        return ordered ?? canDeadlock(witnessedBy: edges, names, happensBefore)
    }

    /// Can-deadlock, naming two threads that took two of the cycle's orders and could run at once (the
    /// pair that decided it, which a report's edges, each its first sighting, may not show).
    private static func canDeadlock(
        witnessedBy edges: [EdgeEvidence.Summary], _ names: [String], _ happensBefore: HappensBefore.Snapshot
    ) -> CycleVerdict {
        for a in edges[0].occurrences {
            for b in edges[1].occurrences where a.serial != b.serial {
                guard happensBefore.ordered(a, before: b) == nil, happensBefore.ordered(b, before: a) == nil else {
                    continue
                }
                let known = state.withLock { state in (state.threads[a.serial], state.threads[b.serial]) }
                func thread(_ serial: UInt32, _ known: ThreadInfo?) -> ThreadInfo {
                    let live = ThreadRegistry.info(serial)
                    return live.osThreadID != 0 ? live : known ?? live
                }
                let witnesses = [
                    "\(thread(a.serial, known.0)) took \(names[0])", "\(thread(b.serial, known.1)) took \(names[1])",
                ]
                return CycleVerdict(kind: .canDeadlock, threads: witnesses)
            }
        }
        return .canDeadlock
    }

    /// Whether class `classID` is one lock: a gate must be one lock, and a chain taken again under
    /// another lock of the gate's class is not validated again (the chain cache keys classes, not locks),
    /// so a class that ever had two locks alive at once is never a gate. A gate freed since (the test that
    /// made it has ended, as every report is read again then) is still one; a static lock's class is one
    /// lock, though racing first locks made it two objects for a moment.
    private static func isOneLock(_ classID: UInt32) -> Bool {
        LockClass.withID(classID)?.isStaticVariable == true || LockStatisticsArena.neverHadTwoAlive(ofClass: classID)
    }

    /// Why two edges are never in progress at once by their threads, if they are not: every pair of
    /// sightings is one thread, or ordered by start and join (either way round).
    private static func orderReason(
        _ first: EdgeEvidence.Summary, _ second: EdgeEvidence.Summary, _ happensBefore: HappensBefore.Snapshot
    ) -> CycleVerdict.Reason? {
        // Sightings whose epochs were dropped cannot be ordered.
        guard !first.unordered, !second.unordered, first.laterThreads.isEmpty, second.laterThreads.isEmpty
        else { return nil }
        var byJoin = false
        var byCreate = false
        for a in first.occurrences {
            for b in second.occurrences where a.serial != b.serial {
                switch happensBefore.ordered(a, before: b) ?? happensBefore.ordered(b, before: a) {
                case .byJoin?: byJoin = true
                case .byCreate?: byCreate = true
                case nil: return nil
                }
            }
        }
        return byJoin ? .orderedByJoin : byCreate ? .orderedByCreate : .oneThread
    }

    /// The graph nodes of a cycle's edges; nil when one was not taken in this process.
    static func orders(of edges: [DependencyEdge]) -> [(from: UInt32, to: UInt32)]? {
        let orders = edges.compactMap { edge -> (from: UInt32, to: UInt32)? in
            guard edge.process == nil, let from = edge.from.classID, let to = edge.to.classID else { return nil }
            return (from, to)
        }
        return orders.count == edges.count ? orders : nil
    }

    /// `violation` with its verdict decided again from the evidence now (a cycle report of this process;
    /// others are returned as they are).
    static func reVerdicted(_ violation: Violation) -> Violation {
        guard violation.rule == .lockOrderInversion, violation.verdict != nil, !violation.verdictIsTheScopes else {
            return violation
        }
        guard let orders = orders(of: violation.edges) else { return violation }
        var copy = violation
        copy.verdict = verdict(ofCycle: orders)
        let configured = ConfigurationStore.loaded.configuration.failOn
        copy.severity = copy.fails(underItsSettingOr: configured) ? copy.rule.severity : .warning
        return copy
    }
}
