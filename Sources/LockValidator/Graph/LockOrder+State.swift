import _LockValidatorShims

extension LockOrder {
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
        /// 0: this process took the order; n: learned from `State.origins[n - 1]`'s process (the store).
        var origin: UInt16 = 0
    }

    /// Everything behind the graph lock.
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
        /// Interned acquire sites, by the `#fileID` pointer and line.
        var sites: [SourceSite] = []
        var siteIndex: [SiteKey: UInt32] = [:]
        /// Threads that created edges, by serial.
        var threads: [UInt32: ThreadInfo] = [:]
        /// Kept stacks, each distinct stack once; index 0 is the empty stack.
        var stacks: [StackTrace] = [StackTrace(addresses: [])]
        var stackIndex: [[UInt]: UInt32] = [[]: 0]
        /// The processes learned orders came from (`LOCKVALIDATOR_GRAPH`).
        var origins: [ValidationReport.ProcessDescription?] = []
        /// Learned orders this process took again, `from << 32 | to`.
        var retaken: Set<UInt64> = []

        /// A fresh state holding the orders earlier processes learned (none without a store).
        static func seeded() -> State {
            var state = State()
            LearnedOrders.seed(&state)
            return state
        }

        /// What learned orders share, each kept once: sites, stacks, threads and processes.
        struct LearnedTables {
            var sites: [SourceSite: UInt32] = [:]
            var stacks: [StackTrace: UInt32] = [:]
            var threads: [ThreadInfo: UInt32] = [:]
            var origins: [ValidationReport.ProcessDescription?: UInt16] = [:]
        }

        /// Adds an order another process learned, with its sites, thread, stack and process.
        mutating func addLearned(
            from: UInt32, to: UInt32, _ edge: ValidationReport.Edge, interning tables: inout LearnedTables
        ) {
            func site(_ site: SourceSite) -> UInt32 {
                if let known = tables.sites[site] { return known }
                sites.append(site)
                tables.sites[site] = UInt32(sites.count - 1)
                return UInt32(sites.count - 1)
            }
            let stack = edge.stack ?? StackTrace(addresses: [])
            let stackIndex = tables.stacks[stack] ?? UInt32(stacks.count)
            if stackIndex == stacks.count {
                stacks.append(stack)
                tables.stacks[stack] = stackIndex
            }
            let threadInfo = edge.thread ?? ThreadInfo(serial: 0, osThreadID: 0, name: nil)
            // Threads of other processes get serials no thread of this one has.
            let thread = tables.threads[threadInfo] ?? UInt32.max - UInt32(tables.threads.count)
            threads[thread] = threadInfo
            tables.threads[threadInfo] = thread
            let origin = tables.origins[edge.process] ?? UInt16(truncatingIfNeeded: origins.count + 1)
            if tables.origins[edge.process] == nil {
                origins.append(edge.process)
                tables.origins[edge.process] = origin
            }
            let record = EdgeRecord(
                fromInstance: 0, toInstance: 0, fromSite: site(edge.fromAcquiredAt), toSite: site(edge.toAcquiredAt),
                thread: thread, stack: stackIndex, irql: edge.irql, heldShared: false, origin: origin)
            _ = graph.insertEdge(from: from, to: to, payload: record)
        }

        struct SiteKey: Hashable {
            let file: UnsafePointer<CChar>?
            let line: UInt64
        }

        mutating func site(of entry: lv_held_lock) -> UInt32 {
            let key = SiteKey(file: entry.file, line: entry.line)
            if let known = siteIndex[key] { return known }
            sites.append(entry.acquiredAt)
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
                stack: stacks[Int(record.stack)],
                process: record.origin == 0 ? nil : origins[Int(record.origin) - 1])
        }

        /// The edges a report shows: the orders this process took, but not the copies that leave
        /// recursive-readers nodes.
        func shownEdges(classes: [UInt32: LockClass]) -> [(from: UInt32, to: UInt32, payload: EdgeRecord)] {
            graph.edges.filter { classes[$0.from]?.readersOf == nil && $0.payload.origin == 0 }
        }
    }
}
