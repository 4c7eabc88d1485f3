import _LockOrderGraph
import _LockValidatorShims

extension LockOrder {
    /// An edge's record: 12 bytes, the rest interned (sites, the chain's context, instances). The graph
    /// keeps the first two words of each (`Stored`, 8 bytes) and the third only when it is not 0: most
    /// orders are this process's, between their classes' first instances (at 2 million orders each 4
    /// bytes is 8 MB).
    struct EdgeRecord {
        /// What the graph keeps of each edge's record.
        struct Stored {
            /// The tail's site (the low 28 bits), whether the edge is a learned order, whether its record
            /// has a source word, whether the tail was held for reading, and whether the edge was first
            /// sighted when it was made (by its context's thread, in its context's epoch).
            fileprivate let fromSiteAndFlags: UInt32
            /// What the edges a new chain makes share, one number (`State.contexts`): the thread, its
            /// stack, the head's site, the IRQL and the thread's happens-before epoch.
            let context: UInt32

            /// A learned order (`State.origins`), not one this process took.
            var isLearned: Bool { fromSiteAndFlags & EdgeRecord.learnedFlag != 0 }
            /// The record's source word is not 0: `State.sources` has it.
            var hasSource: Bool { fromSiteAndFlags & EdgeRecord.hasSourceFlag != 0 }
            /// The edge's first sighting is its making: its context's thread and epoch, kept nowhere else.
            var firstSightedWhenMade: Bool { fromSiteAndFlags & EdgeRecord.sightedWhenMade != 0 }
        }

        let stored: Stored
        /// This process's edges: where their two lock instances are in `State.instances` (0: each is its
        /// node's first); a learned order's head site with the top bit set (its origin is in its context,
        /// as a learned order's thread is its process's).
        fileprivate let source: UInt32

        private static let siteBits: UInt32 = 28
        fileprivate static let learnedFlag: UInt32 = 1 << 28
        fileprivate static let hasSourceFlag: UInt32 = 1 << 29
        private static let shared: UInt32 = 1 << 30
        fileprivate static let sightedWhenMade: UInt32 = 1 << 31
        private static let learned: UInt32 = 1 << 31

        /// A learned order has `learnedToSite`, its head's site, which its context does not hold.
        init(
            fromSite: UInt32, context: UInt32, instances: UInt32 = 0, learnedToSite: UInt32? = nil, heldShared: Bool
        ) {
            // 268 million interned source sites are past any program (instances are numbered by edges, in 31
            // bits).
            precondition(fromSite < 1 << Self.siteBits && learnedToSite ?? 0 < Self.learned)
            source = learnedToSite.map { $0 | Self.learned } ?? instances
            let flags =
                (heldShared ? Self.shared : 0) | (learnedToSite != nil ? Self.learnedFlag : 0)
                | (source != 0 ? Self.hasSourceFlag : 0)
            stored = Stored(fromSiteAndFlags: fromSite | flags, context: context)
        }

        /// A record as the graph keeps it, with its source word.
        fileprivate init(_ stored: Stored, source: UInt32) { (self.stored, self.source) = (stored, source) }

        private init(_ record: EdgeRecord, sightedWhenMade: Bool) {
            let flags = record.stored.fromSiteAndFlags & ~Self.sightedWhenMade
            stored = Stored(
                fromSiteAndFlags: flags | (sightedWhenMade ? Self.sightedWhenMade : 0), context: record.context)
            source = record.source
        }

        var context: UInt32 { stored.context }
        var fromSite: UInt32 { stored.fromSiteAndFlags & (1 << Self.siteBits - 1) }
        /// The edge's tail was held for reading.
        var heldShared: Bool { stored.fromSiteAndFlags & Self.shared != 0 }
        /// The edge's first sighting is its making: its context's thread and epoch, kept nowhere else.
        var firstSightedWhenMade: Bool { stored.firstSightedWhenMade }
        /// This record, for an edge first sighted as it is made.
        var sightedAsMade: EdgeRecord { EdgeRecord(self, sightedWhenMade: true) }
        /// This record, for an edge not sighted yet (a copy of another edge's).
        var unsighted: EdgeRecord { EdgeRecord(self, sightedWhenMade: false) }
        /// A learned order (`State.origin(of:)` says whose), not one this process took.
        var isLearned: Bool { stored.isLearned }
        /// A learned order's head site; nil for this process's orders, whose context holds it.
        var learnedToSite: UInt32? { source & Self.learned != 0 ? source & ~Self.learned : nil }
        /// This process's edges: where their two lock instances are in `State.instances`.
        var instances: UInt32 { source & Self.learned != 0 ? 0 : source }
    }

    /// What the edges of one new chain share: the thread that made them, its kept stack, the head's site
    /// (the newest lock's), the IRQL and the thread's happens-before epoch then (0: no clock). 16 bytes,
    /// kept once for all the edges that share it; the epoch changes only when the thread starts or joins
    /// another, so a thread's chains at one place share one. A learned order's has no head site (its
    /// record keeps it) and its origin in place of an epoch: it is one per thread, stack and process.
    struct EdgeContext: Equatable {
        let thread: UInt32
        let stack: UInt32
        /// The head's site (the low 26 bits) and the IRQL.
        private let toSiteAndIRQL: UInt32
        let epoch: UInt32

        private static let siteBits: UInt32 = 26

        init(thread: UInt32, stack: UInt32, toSite: UInt32, irql: IRQL, epoch: UInt32) {
            // 67 million interned source sites are past any program.
            precondition(toSite < 1 << Self.siteBits)
            (self.thread, self.stack, self.epoch) = (thread, stack, epoch)
            toSiteAndIRQL = toSite | UInt32(irql.rawValue & 15) << Self.siteBits
        }

        var toSite: UInt32 { toSiteAndIRQL & (1 << Self.siteBits - 1) }
        var irql: IRQL { IRQL(unchecked: UInt8(toSiteAndIRQL >> Self.siteBits & 15)) }

        /// Its key in `State.contextNumbers`: a multiply-xor mix, never 0; two contexts with the same mix
        /// are told apart by `State.nextStackKey`.
        var key: UInt64 {
            let low = (UInt64(thread) << 32 | UInt64(stack)) &* 0x9E37_79B9_7F4A_7C15
            return (low ^ (UInt64(toSiteAndIRQL) << 32 | UInt64(epoch))) &* 0xBF58_476D_1CE4_E5B9 | 1
        }
    }

    /// Everything behind the graph lock.
    struct State {
        var graph = LockOrderGraph()
        /// Each edge's record as kept, by the graph's number for the edge (`record(_:)` reads one whole).
        private(set) var records = MappedBuffer<EdgeRecord.Stored>()
        /// The source words of the records that have one, in the order of their edges' numbers.
        private var sources: [(number: UInt32, source: UInt32)] = []
        /// Edges found closing a cycle while the edge table was full (not kept), `from << 32 | to`.
        var reportedInversions: Set<UInt64> = []
        /// Recursive-readers graph nodes by the class they stand for (see `LockClass.recursiveReaders`).
        var readersNodes: [UInt32: UInt32] = [:]
        /// For a class with no readers node yet: edges first made from a read hold and since taken from a
        /// write hold too (class → head → that write hold's record), which its readers node will need.
        var writeHoldsOfReadEdges: [UInt32: [UInt32: EdgeRecord]] = [:]
        /// Classes some edge was made from while held for reading (most programs: none).
        var heldForReading: Set<UInt32> = []
        /// The lock instances of this process's edges whose two locks are not each their class's first
        /// (learned orders have none): kept apart, so that the 100,000 records of a learned-order store do
        /// not carry them. Most orders are between the classes' first instances (a class has one lock, or
        /// its first made the order): their records say so with 0 and keep nothing here.
        var instances: [(from: UInt64, to: UInt64)] = []
        /// The first lock instance of each graph node (class) to make an edge, by node (0: none yet); a
        /// recursive-readers node starts with its class's, as it starts with copies of its class's edges.
        var firstInstances = MappedBuffer<UInt64>()
        /// Interned acquire sites, by the `#fileID` pointer and line.
        var sites: [Site] = []
        var siteIndex: [SiteKey: UInt32] = [:]
        var recentSites = [(file: UnsafePointer<CChar>?, line: UInt64, index: UInt32)?](repeating: nil, count: 256)
        /// Threads that created edges, by serial.
        var threads: [UInt32: ThreadInfo] = [:]
        /// The last thread that created an edge: the next edge is most often its too.
        var lastThread: UInt32 = 0
        /// Each edge record's context, by its `context`; each once.
        var contexts: [EdgeContext] = []
        /// Each context's number by its `key`.
        var contextNumbers = NumberTable()
        /// The last context numbered or found, and its number: a thread's new chains at one place share
        /// it, and find it without a probe.
        var lastContext: (context: EdgeContext, number: UInt32)?
        /// Kept stacks, each distinct stack once; index 0 is the empty stack.
        var stacks: [StackTrace] = [StackTrace(addresses: [])]
        /// Each kept stack's number by a mix of its addresses (`stackKey`).
        var stackNumbers = Self.emptyStackNumbers
        /// The processes learned orders came from (`LOCKVALIDATOR_GRAPH`).
        var origins: [ValidationReport.ProcessDescription?] = []
        /// Learned orders this process took again, `from << 32 | to`.
        var retaken: Set<UInt64> = []
        /// This process's record of each learned order it took again, by edge number: from then on the
        /// order is shown as this run's (its site, thread and stack), and is among the edges it reports.
        var retakenRecords: [Int: EdgeRecord] = [:]
        /// The first reported cycle each edge is on (its nodes in order, each edge from one to the next), by
        /// edge number: a thread that validates the edge for the first time tells its own scope (a test)
        /// of that cycle, if another scope found it.
        var cycleOfReportedEdge: [Int: [UInt32]] = [:]
        /// The cycles a retaken order closed, each as its sorted classes: reported once, from whichever
        /// of its orders this process took again first.
        var retakenCycles: Set<[UInt32]> = []
        /// The first sighting of the edges not first sighted when made (a learned order taken again, a
        /// recursive-readers node's copy), by edge number. An edge first sighted as it is made keeps
        /// nothing: its record says so, and its context holds the thread and epoch.
        var laterFirstSightings: [Int: EdgeEvidence] = [:]
        /// The evidence of the edges seen more than once, or with locks held across them, by edge number.
        var evidenceExtras: [Int: EdgeEvidence.Extra] = [:]

        /// Edge `number`'s first sighting, as `EdgeEvidence` keeps it (unsighted: none yet).
        func firstSighting(of number: Int) -> EdgeEvidence {
            if number < records.count, records[number].firstSightedWhenMade {
                let context = contexts[Int(records[number].context)]
                guard context.epoch != 0 else { return EdgeEvidence(firstSighting: nil) }
                return EdgeEvidence(firstSerial: context.thread, firstEpoch: context.epoch)
            }
            return laterFirstSightings[number] ?? EdgeEvidence()
        }

        /// Keeps `occurrence` (nil: an untracked thread) as edge `number`'s first sighting.
        mutating func noteFirstSighting(of number: Int, _ occurrence: EdgeEvidence.Occurrence?) {
            laterFirstSightings[number] = EdgeEvidence(firstSighting: occurrence)
        }

        /// Keeps the locks held across a new edge's first sighting, its making (nil: none).
        mutating func noteGatesOfNewEdge(_ number: Int, held: () -> [(classID: UInt32, instance: UInt64)]) {
            let gates = held()
            if !gates.isEmpty { evidenceExtras[number] = EdgeEvidence.Extra(gates: gates) }
        }

        /// The sightings of `from → to` (threads and epochs, whether any was unordered) and the locks
        /// held across all of them; nil when the graph has no such edge or it was not sighted here.
        func evidence(from: UInt32, to: UInt32) -> EdgeEvidence.Summary? {
            guard let number = graph.edgeNumber(from: from, to: to).map(Int.init) else { return nil }
            let edge = firstSighting(of: number)
            guard edge.sighted else { return nil }
            let extra = evidenceExtras[number] ?? EdgeEvidence.Extra()
            let unordered = extra.unordered || edge.firstSerial == EdgeEvidence.untracked
            return ((edge.first.map { [$0] } ?? []) + extra.more, extra.laterThreads, unordered, extra.gates)
        }

        /// Adds a sighting of edge `number` by `occurrence` (nil: an untracked thread) to its evidence;
        /// `held` lists the other locks held then (nil: none), read only when needed.
        mutating func noteSighting(
            of number: Int, _ occurrence: EdgeEvidence.Occurrence?,
            held: (() -> [(classID: UInt32, instance: UInt64)])?
        ) {
            let first = firstSighting(of: number)
            guard first.sighted else {
                noteFirstSighting(of: number, occurrence)
                let gates = held?() ?? []
                if !gates.isEmpty { evidenceExtras[number] = EdgeEvidence.Extra(gates: gates) }
                return
            }
            var extra = evidenceExtras.removeValue(forKey: number) ?? EdgeEvidence.Extra()
            first.noteAgain(occurrence, in: &extra)
            if !extra.gates.isEmpty {
                let now = held?() ?? []
                extra.gates.removeAll { gate in
                    !now.contains { $0.classID == gate.classID && $0.instance == gate.instance }
                }
            }
            // An edge seen again by its first thread and epoch, with nothing held across it, keeps nothing.
            if !extra.more.isEmpty || !extra.gates.isEmpty || extra.unordered { evidenceExtras[number] = extra }
        }

        /// A fresh state holding the orders earlier processes learned (none without a store).
        static func seeded() -> State {
            var state = State()
            LearnedOrders.seed(&state)
            // The store's cycles are DeadlockFuzzer's first phase: this run steers for them.
            // (Not `DeadlockConfirmation.isOn`, whose first read seeds this state.)
            if ConfigurationStore.loaded.configuration.confirmDeadlocks {
                DeadlockConfirmation.predict(fromGraphEdges: state.edges.map { ($0.from, $0.to) })
            }
            return state
        }

        /// A fresh state that still holds the orders learned from the store, which was read once, at
        /// start. Their sites, stacks, threads and processes go along, whole tables, as the orders'
        /// records point into them.
        func keepingLearnedOrders() -> State {
            var fresh = State()
            guard !origins.isEmpty else { return fresh }
            (fresh.sites, fresh.siteIndex, fresh.recentSites, fresh.threads) = (sites, siteIndex, recentSites, threads)
            (fresh.stacks, fresh.stackNumbers, fresh.origins) = (stacks, stackNumbers, origins)
            (fresh.contexts, fresh.contextNumbers, fresh.lastContext) = (contexts, contextNumbers, lastContext)
            let learned = edges.filter { $0.record.isLearned }
            fresh.reserveCapacity(edges: learned.count * 9 / 8 + 1024)
            for edge in learned { _ = fresh.insertEdge(from: edge.from, to: edge.to, record: edge.record) }
            return fresh
        }

        /// Adds the orders other processes learned (`store`), with their sites, threads, stacks and
        /// processes; `classIDs` are the graph nodes of the store's classes by number.
        mutating func addLearned(_ store: LearnedOrderStore, classIDs: [UInt32]) {
            // The store's tables are appended whole, so an order's numbers are offsets into them.
            let siteBase = UInt32(sites.count)
            sites += store.sites
            let stackBase = UInt32(stacks.count)
            stacks += store.stacks
            let originBase = UInt32(origins.count) + 1
            origins += store.processes.map(Optional.some) + [nil]
            // Threads of other processes get serials no thread of this one has.
            func thread(_ number: UInt32) -> UInt32 { UInt32.max - number }
            for (number, info) in store.threads.enumerated() { threads[thread(UInt32(number))] = info }
            let none = LearnedOrderStore.NumberedOrder.none
            threads[thread(UInt32(store.threads.count))] = ThreadInfo(serial: 0, osThreadID: 0, name: nil)
            // Room for this process's own orders too, so that its first new edge copies no table; each
            // learned order keeps its head site apart.
            reserveCapacity(edges: graph.edgeCount + store.numberedOrders.count * 9 / 8 + 1024)
            sources.reserveCapacity(sources.count + store.numberedOrders.count)
            // Orders into recursive reads last: a readers node, made for the first, copies the write holds'
            // orders of its class, which must all be in the graph by then.
            let intoReads = store.numberedOrders.lazy.filter(\.toRecursiveRead)
            for order in store.numberedOrders.lazy.filter({ !$0.toRecursiveRead }) + intoReads {
                let from = classIDs[Int(order.from)]
                var to = classIDs[Int(order.to)]
                guard from != 0 && to != 0 else { continue }
                // An order into a recursive read: into this process's readers node of the class.
                if order.toRecursiveRead { to = LockOrder.readersNode(of: to, in: &self) }
                let origin = originBase + (order.process == none ? UInt32(store.processes.count) : order.process)
                let record = EdgeRecord(
                    fromSite: siteBase + order.fromSite,
                    context: context(
                        EdgeContext(
                            thread: thread(order.thread == none ? UInt32(store.threads.count) : order.thread),
                            stack: order.stack == none ? 0 : stackBase + order.stack, toSite: 0, irql: order.irql,
                            epoch: origin)),
                    learnedToSite: siteBase + order.toSite, heldShared: order.heldShared)
                // A read hold's order stays one: a recursive-readers node made later copies no such edge.
                if order.heldShared { heldForReading.insert(from) }
                _ = insertEdge(from: from, to: to, record: record)
            }
        }

        /// Inserts `from → to` into the graph unless it is there, keeping `record` (evaluated only then).
        mutating func insertEdge(
            from: UInt32, to: UInt32, record: @autoclosure () -> EdgeRecord
        ) -> LockOrderGraph.Insertion {
            let insertion = graph.insertEdge(from: from, to: to)
            if graph.edgeCount > records.count {
                let record = record()
                if record.source != 0 { sources.append((UInt32(records.count), record.source)) }
                records.append(record.stored)
            }
            return insertion
        }

        /// Edge `number`'s record, whole.
        func record(_ number: Int) -> EdgeRecord {
            let stored = records[number]
            guard stored.hasSource else { return EdgeRecord(stored, source: 0) }
            // The numbers are in order: a binary search.
            var (low, high) = (0, sources.count)
            while low < high {
                let middle = (low + high) / 2
                if sources[middle].number < UInt32(number) { low = middle + 1 } else { high = middle }
            }
            return EdgeRecord(stored, source: sources[low].source)
        }

        /// The record of `from → to`, if the graph has the edge: this process's, for a learned order it took.
        func record(from: UInt32, to: UInt32) -> EdgeRecord? {
            graph.edgeNumber(from: from, to: to).map { retakenRecords[Int($0)] ?? record(Int($0)) }
        }

        /// Every edge with its record, in no particular order.
        var edges: [(from: UInt32, to: UInt32, record: EdgeRecord)] {
            graph.edges.map { ($0.from, $0.to, record(Int($0.number))) }
        }

        /// Makes room for `count` edges in all, so that inserting many at once grows no table.
        mutating func reserveCapacity(edges count: Int) {
            graph.reserveCapacity(edges: count)
            records.reserveCapacity(count)
        }

        /// Keeps the two lock instances of a new edge between graph nodes `fromNode` and `toNode`; returns
        /// where: 0 when each is its node's first instance to make an edge, which costs nothing more.
        mutating func keep(instances from: UInt64, _ to: UInt64, nodes fromNode: UInt32, _ toNode: UInt32) -> UInt32 {
            // 0 is no instance (never first: a later lock of its class would read as the first).
            if from != 0 && to != 0 && isFirstInstance(from, of: fromNode) && isFirstInstance(to, of: toNode) {
                return 0
            }
            instances.append((from, to))
            return UInt32(instances.count)
        }

        /// Whether `instance` is the first of graph node `node` to make an edge (it becomes it when none has).
        private mutating func isFirstInstance(_ instance: UInt64, of node: UInt32) -> Bool {
            let index = Int(node)
            guard index < LockStatisticsArena.denseClassIDs else { return false }
            if index >= firstInstances.count {
                firstInstances.append(repeating: 0, count: index + 1 - firstInstances.count)
            }
            if firstInstances[index] == 0 { firstInstances[index] = instance }
            return firstInstances[index] == instance
        }

        /// Gives a new recursive-readers node its class's first instance, before its copies of the class's
        /// edges (whose records may say "the first instances") are inserted.
        mutating func inheritFirstInstance(_ readers: UInt32, from classID: UInt32) {
            guard Int(classID) < firstInstances.count, firstInstances[Int(classID)] != 0 else { return }
            _ = isFirstInstance(firstInstances[Int(classID)], of: readers)
        }

        /// The key of a stack in `stackNumbers`: a multiply-xor mix of its return addresses, never 0.
        /// Two stacks with the same mix are told apart by `nextStackKey`.
        static func stackKey(_ addresses: UnsafeBufferPointer<UInt>) -> UInt64 {
            var mix: UInt64 = 0xCBF2_9CE4_8422_2325
            for address in addresses { mix = (mix ^ UInt64(address)) &* 0x100_0000_01B3 }
            return mix | 1
        }

        static func sameAddresses(_ kept: [UInt], _ addresses: UnsafeBufferPointer<UInt>) -> Bool {
            guard kept.count == addresses.count else { return false }
            for index in kept.indices where kept[index] != addresses[index] { return false }
            return true
        }

        /// The key to try after `key` was taken by another stack with the same mix.
        static func nextStackKey(_ key: UInt64) -> UInt64 { (key &* 0x9E37_79B9_7F4A_7C15) | 1 }

        static let emptyStackNumbers: NumberTable = {
            var table = NumberTable()
            table.insert(stackKey(UnsafeBufferPointer(start: nil, count: 0)), number: 0)
            return table
        }()

        struct SiteKey: Hashable {
            let file: UnsafePointer<CChar>?
            let line: UInt64
        }

        /// The number of the acquire site of the hold `entry` (read in place: a copy of an entry is a dozen
        /// stores). Inlined, the cache's hit; apart, the rest, whose saved registers the hit does not pay.
        @inline(__always)
        mutating func site(of entry: UnsafePointer<lv_held_lock>) -> UInt32 {
            let (file, line) = (entry.pointee.file, entry.pointee.line)
            // A direct-mapped cache in front of the dictionary: a program's new edges come from few sites.
            let mixed = (UInt(bitPattern: file) ^ UInt(truncatingIfNeeded: line)) &* 0x9E37_79B9_7F4A_7C15
            let slot = Int(truncatingIfNeeded: mixed >> 56)
            if let cached = recentSites[slot], cached.file == file && cached.line == line {
                return cached.index
            }
            return siteNotCached(of: entry, slot: slot)
        }

        /// ``site(of:)`` past its cache: numbered by the dictionary (a new site appended), and cached.
        @inline(never)
        mutating func siteNotCached(of entry: UnsafePointer<lv_held_lock>, slot: Int) -> UInt32 {
            let (file, line) = (entry.pointee.file, entry.pointee.line)
            let key = SiteKey(file: file, line: line)
            let index = siteIndex[key] ?? UInt32(sites.count)
            if index == sites.count {
                sites.append(entry.pointee.acquiredAt)
                siteIndex[key] = index
            }
            recentSites[slot] = (file, line, index)
            return index
        }

        /// Keeps the stack `addresses` (once), or nothing past the stack cap; returns its number. A
        /// known stack is found by its key and compared address by address, and allocates nothing.
        mutating func keep(_ addresses: UnsafeBufferPointer<UInt>, cap: Int, full: inout Bool) -> UInt32 {
            var key = Self.stackKey(addresses)
            while let known = stackNumbers[key] {
                if Self.sameAddresses(stacks[Int(known)].addresses, addresses) { return known }
                key = Self.nextStackKey(key)
            }
            guard stacks.count <= cap else {
                full = true
                return 0
            }
            stacks.append(StackTrace(addresses: Array(addresses)))
            stackNumbers.insert(key, number: UInt32(stacks.count - 1))
            return UInt32(stacks.count - 1)
        }

        /// The number of `context` (an edge record's), numbered on first use. Inlined, the test of the last
        /// one (a thread's new edges from one stack share it); apart, the rest.
        @inline(__always)
        mutating func context(_ context: EdgeContext) -> UInt32 {
            if let last = lastContext, last.context == context { return last.number }
            return contextNotLast(context)
        }

        /// ``context(_:)`` for a context other than the last: found, or numbered now.
        @inline(never)
        mutating func contextNotLast(_ context: EdgeContext) -> UInt32 {
            var key = context.key
            while let known = contextNumbers[key] {
                if contexts[Int(known)] == context {
                    lastContext = (context, known)
                    return known
                }
                key = Self.nextStackKey(key)
            }
            let number = UInt32(contexts.count)
            contexts.append(context)
            contextNumbers.insert(key, number: number)
            lastContext = (context, number)
            return number
        }

        /// The serial of the thread that made `record`'s edge.
        func thread(of record: EdgeRecord) -> UInt32 { contexts[Int(record.context)].thread }

        /// 0: this process took `record`'s order; n: learned from `origins[n - 1]`'s process (the store).
        func origin(of record: EdgeRecord) -> UInt32 { record.isLearned ? contexts[Int(record.context)].epoch : 0 }

        /// The number of the stack that made `record`'s edge.
        func stack(of record: EdgeRecord) -> UInt32 { contexts[Int(record.context)].stack }

        /// Keeps the name and id of `thread`, the first time it creates an edge (they cost system calls).
        /// Inlined, the test of the last thread; apart, the rest.
        @inline(__always)
        mutating func noteThread(_ thread: ThreadState) {
            if thread.serial != lastThread { noteOtherThread(thread) }
        }

        @inline(never)
        mutating func noteOtherThread(_ thread: ThreadState) {
            if threads[thread.serial] == nil { threads[thread.serial] = thread.info }
            lastThread = thread.serial
        }

        /// The edge as reports show it. An edge leaving a recursive-readers node is a copy of its class's
        /// edge (a write hold), and is shown as that.
        func edge(from: UInt32, to: UInt32, _ record: EdgeRecord, classes: [UInt32: LockClass]) -> DependencyEdge {
            func lock(_ id: UInt32, _ instance: UInt64, holding: Bool) -> LockInfo {
                var lockClass = classes[id]
                if holding, let readersOf = lockClass?.readersOf { lockClass = readersOf }
                guard let lockClass else { return LockInfo(name: "class \(id)", site: nil, instance: instance) }
                return LockInfo(of: lockClass, instance: instance)
            }
            let origin = origin(of: record)
            let (fromInstance, toInstance) =
                origin != 0
                ? (0, 0)
                : record.instances == 0
                    ? (firstInstances[Int(from)], firstInstances[Int(to)])
                    : instances[Int(record.instances) - 1]
            let context = contexts[Int(record.context)]
            let stack = stacks[Int(context.stack)]
            let serial = context.thread
            // An interposed acquire made in lock-wrapper code is shown at its caller, where the edge's stack
            // shows it: looked up here, when the edge is shown, not when it is made.
            let toSite = sites[Int(record.learnedToSite ?? context.toSite)]
            return DependencyEdge(
                from: lock(from, fromInstance, holding: true), to: lock(to, toInstance, holding: false),
                fromAcquiredAt: LockWrapperCode.heldSiteOutside(
                    sites[Int(record.fromSite)], acquiring: toSite, along: stack.addresses)!,
                toAcquiredAt: LockWrapperCode.siteOutside(toSite, along: stack.addresses)!,
                irql: context.irql,
                thread: threads[serial] ?? ThreadInfo(serial: serial, osThreadID: 0, name: nil),
                stack: stack,
                process: origin == 0 ? nil : origins[Int(origin) - 1],
                heldShared: takenOnlyFromReadHolds(from: from, to: to, record))
        }

        /// Whether every sighting of `from → to` held `from` for reading. The record keeps the first
        /// sighting; a write hold of the same order since is kept for the class's recursive-readers node
        /// (`writeHoldsOfReadEdges` until the node exists, then the node's own edge).
        func takenOnlyFromReadHolds(from: UInt32, to: UInt32, _ record: EdgeRecord) -> Bool {
            guard record.heldShared else { return false }
            if writeHoldsOfReadEdges[from]?[to] != nil { return false }
            if let readers = readersNodes[from], graph.edgeNumber(from: readers, to: to) != nil { return false }
            return true
        }

        /// The edges a report shows: the orders this process took, but not the copies that leave
        /// recursive-readers nodes.
        func shownEdges(classes: [UInt32: LockClass]) -> [(from: UInt32, to: UInt32, record: EdgeRecord)] {
            graph.edges.compactMap { edge in
                let record = retakenRecords[Int(edge.number)] ?? self.record(Int(edge.number))
                guard classes[edge.from]?.readersOf == nil && !record.isLearned else { return nil }
                return (edge.from, edge.to, record)
            }
        }
    }
}
