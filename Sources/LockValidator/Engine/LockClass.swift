import Synchronization

/// A lock class, as lockdep keys them: every lock created with one name, or at one init site when
/// unnamed, belongs to one class, and the lock-order rules are about classes, not instances.
///
/// A class also has up to seven nesting subclasses (lockdep's `spin_lock_nested`): acquiring with
/// `nesting: n` puts the lock in subclass `n`, a separate node of the lock-order graph, so that an
/// intended parent-then-child order between two instances of one class is legal.
@usableFromInline package final class LockClass: @unchecked Sendable, CustomStringConvertible {
    // What every acquire reads comes first, in ten bytes, so that it is one cache line wherever the
    // object starts: a program with thousands of classes finds most of them out of cache.

    /// The class id, dense from 1.
    @usableFromInline package let id: UInt32
    /// The one class that every lock created past the class cap shares: held, but outside lock-order
    /// and IRQL-usage checks (one class for unrelated locks would invent cycles).
    @usableFromInline package let isOverflow: Bool
    /// Set while the class has a suspect site (``HoldEvidence``): every acquire then takes an exact
    /// CPU-time snapshot and keeps its stack, so the confirming hold is exact and shows both stacks.
    @usableFromInline package let isTraced = Atomic<Bool>(false)
    /// Bit n: the class has been held at IRQL n.
    @usableFromInline package let levelsUsed = Atomic<UInt16>(0)
    /// The chain key of this class held exclusively with nothing held before it: most acquires'.
    @usableFromInline package let chainKeyAlone: UInt64

    /// The class name: the name given at init, else `Module/File.swift:line` of the init site, or, for
    /// a class keyed by the machine code that creates its locks (a pthread lock's), what that code is
    /// (`NSLock created at Cache.swift:37:21 in Cache.init`), looked up when first shown; a subclass
    /// adds `/n`, a readers node ` (read)`.
    package var name: String {
        if let readersOf { return "\(readersOf.name) (read)" }
        if let base { return "\(base.name)/\(nesting)" }
        return Self.name(of: naming)
    }

    private static func name(of naming: Naming) -> String {
        switch naming {
        case .given(let name): return name
        case .createdAt(let site, let noun, let verb): return name(noun: noun, createdAt: site, verb: verb)
        case .variable(let variable, let noun): return "static \(noun) \(variable.name) in \(variable.module)"
        }
    }

    /// What a class is named by. The cases that carry a code site are boxed (`indirect`): a `CodeSite`
    /// inline made every class object 248 bytes, the given names' as well.
    enum Naming {
        /// A name the program gave, or a source site's `Module/File.swift:line`.
        case given(String)
        /// The code that creates its locks, named lazily: naming it needs debug information.
        /// `verb` says what the code did: created the lock, or first locked it (a lock whose creation was
        /// not seen, such as a `Mutex` moved after it was made).
        indirect case createdAt(CodeSite, noun: String, verb: String)
        /// The static variable that is its one lock, named lazily by its symbol.
        indirect case variable(StaticVariable, noun: String)
    }

    private let naming: Naming

    /// The name the program gave the class, which it is found by (not a subclass's or readers node's).
    var givenName: String? {
        guard base == nil, readersOf == nil, case .given(let name) = naming else { return nil }
        return name
    }

    /// Whether the class is a static lock's own (``variable(_:noun:)``): one lock, whatever objects stood
    /// for it (two threads' first locks of it make one each, and the loser's is freed at once).
    var isStaticVariable: Bool {
        if case .variable = naming { return true }
        return false
    }

    /// Whether ``name`` is known without looking anything up.
    private var hasNameWithoutLookUp: Bool {
        if let base { return base.hasNameWithoutLookUp }
        if case .given = naming { return true }
        return false
    }

    /// `NSLock created at Cache.swift:37:21 in Cache.init`: the column too, so that two locks created on
    /// one line are two names, in every process.
    static func name(noun: String, createdAt site: CodeSite, verb: String = "created") -> String {
        let location = site.location
        guard let fileName = location.fileName, let line = location.line else { return "\(noun) \(verb) at \(site)" }
        return "\(noun) \(verb) at \(fileName):\(line)" + (location.column.map { ":\($0)" } ?? "")
            + (location.function.map { " in \($0)" } ?? "")
    }

    /// The first init site seen for the class; nil for the class of locks past the class cap.
    package var site: Site? { InternedSites.site(siteNumber) }
    /// ``site`` by its number in ``InternedSites``: 4 bytes, not an inline `Site?` of 26, which with the
    /// nesting level's `Int` made a class object 120 bytes (128 in malloc's chunks; now 88, 96).
    private let siteNumber: UInt32
    /// Whether its locks are pthread locks the interposer sees: a nesting level is then given where they
    /// are created (`LockValidator.withLockClass`), not where they are taken.
    package let isInterposed: Bool
    /// The nesting level: 0 for a class, 1...7 for its subclasses.
    package var nesting: Int { Int(nestingLevel) }
    private let nestingLevel: UInt8
    /// The class a subclass nests under; nil for a class itself.
    package let base: LockClass?
    /// For the node that stands for this class's recursive readers (``recursiveReaders``): the class
    /// whose readers it stands for; nil for every other class.
    package let readersOf: LockClass?
    /// Runs `body` if `instance`, on an exiting thread's held stack, is alive, keeping it alive meanwhile:
    /// a lock's deinit retires it under the same lock, so it cannot finish while `body` runs.
    static func ifAlive(_ instance: UInt64, _ body: () -> Void) { LockStatisticsArena.ifAlive(instance, body) }

    /// Every class's counters over all its instances, for the classes ever acquired.
    static var statisticsReports: [LockClassStatistics] {
        let counts = LockStatisticsArena.countsByClass
        return all.compactMap { lockClass in
            counts[lockClass.id].map { LockClassStatistics(name: lockClass.name, counts: $0) }
        }
    }

    /// The address of a table of subclass 1...7 as `Unmanaged` bits, 0 until created, slot 0 holding the
    /// recursive-readers node; 0 until the first of them is made (most classes never nest nor are read
    /// recursively, and 100,000 of them would carry 6 MB of empty tables).
    private let subclassTable = Atomic<UInt>(0)

    /// The bits of subclass slot `slot`, 0 when not made.
    private func subclassBits(_ slot: Int) -> UInt {
        let table = subclassTable.load(ordering: .acquiring)
        guard let slots = UnsafeMutablePointer<Atomic<UInt>>(bitPattern: table) else { return 0 }
        return (slots + slot).pointee.load(ordering: .acquiring)
    }

    /// Publishes `made` in subclass slot `slot`; under the registry's lock.
    private func setSubclass(_ slot: Int, _ made: LockClass) {
        var table = UnsafeMutablePointer<Atomic<UInt>>(bitPattern: subclassTable.load(ordering: .acquiring))
        if table == nil {
            let slots = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: Self.maximumNesting + 1)
            for index in 0...Self.maximumNesting { (slots + index).initialize(to: Atomic(0)) }
            subclassTable.store(UInt(bitPattern: slots), ordering: .releasing)
            table = slots
        }
        // Classes live as long as the process; the registry keeps the reference.
        (table! + slot).pointee.store(UInt(bitPattern: Unmanaged.passUnretained(made).toOpaque()), ordering: .releasing)
    }

    /// The deepest nesting level.
    package static let maximumNesting = 7

    init(
        id: UInt32, naming: Naming, site: Site?, isInterposed: Bool = false, nesting: Int = 0, base: LockClass? = nil,
        isOverflow: Bool = false, readersOf: LockClass? = nil
    ) {
        self.isInterposed = isInterposed
        self.isOverflow = isOverflow
        self.readersOf = readersOf
        self.id = id
        chainKeyAlone = ChainCache.extend(0, with: ChainCache.element(classID: id, flags: 0))
        self.naming = naming
        siteNumber = InternedSites.number(of: site)  // a leaf lock: taken under the registry's, never around it
        nestingLevel = UInt8(nesting)
        self.base = base
    }

    @usableFromInline package var description: String { name }

    /// The class for `name`, or for the init site when `name` is nil; created on first use.
    ///
    /// - Parameter isInterposed: the class is of pthread locks the interposer sees.
    package static func named(_ name: String?, site: Site, isInterposed: Bool = false) -> LockClass {
        // A class's name is its identity (stores, suppressions): an init site names it module-qualified.
        named([(name ?? site.source?.text ?? site.description, site)], isInterposed: isInterposed)[0]
    }

    /// The classes named `names` (made if new), under one hold of the registry: how a store of
    /// 10,000 learned classes is loaded. Past the class cap, a name gets the one untracked class.
    package static func named(_ names: [(name: String, site: Site?)], isInterposed: Bool = false) -> [LockClass] {
        let cap = ConfigurationStore.loaded.configuration.capacity.classes
        var firstOverflow: String?
        let made = registry.withLock { registry in
            names.map { name, site -> LockClass in
                if let existing = registry.byName[name] { return existing }
                guard registry.all.count < cap else {
                    firstOverflow = firstOverflow ?? name
                    return registry.overflow()
                }
                return registry.add(name: name) {
                    LockClass(id: $0, naming: .given(name), site: site, isInterposed: isInterposed)
                }
            }
        }
        if let firstOverflow { reportClassCapReached(by: firstOverflow, cap: cap) }
        return made
    }

    /// The class of the locks that the code at `site` creates, a `noun` (`NSLock`, `mutex`) each; created
    /// on first use, and named when first shown (``name``). Once a learned-order store is in use, it is
    /// named now, so that it is the store's class of that name.
    package static func created(at site: CodeSite, noun: String, verb: String = "created") -> LockClass {
        keyedByCode(.createdAt(site, noun: noun, verb: verb), site: .code(site))
    }

    /// The class of the static lock `variable`, a `noun` (`mutex`); created on first use and named when
    /// first shown, as ``created(at:noun:)``. It has no init site: the variable is its one lock.
    package static func variable(_ variable: StaticVariable, noun: String) -> LockClass {
        keyedByCode(.variable(variable, noun: noun), site: nil)
    }

    private static func keyedByCode(_ naming: Naming, site: Site?) -> LockClass {
        let key = CodeKey(naming)
        if let known = registry.withLock({ $0.byCode[key] }) { return known }
        // Naming may start a symbolizer: never under the registry's lock.
        let name = namesEagerly.load(ordering: .acquiring) ? Self.name(of: naming) : nil
        let cap = ConfigurationStore.loaded.configuration.capacity.classes
        var overflowed = false
        let made = registry.withLock { registry -> LockClass in
            if let known = registry.byCode[key] { return known }
            if let name, let named = registry.byName[name] {
                registry.byCode[key] = named
                return named
            }
            guard registry.all.count < cap else {
                overflowed = true
                return registry.overflow()
            }
            let made = registry.add(name: name) { LockClass(id: $0, naming: naming, site: site, isInterposed: true) }
            registry.byCode[key] = made
            return made
        }
        if overflowed { reportClassCapReached(by: name ?? Self.name(of: naming), cap: cap) }
        return made
    }

    /// Names every class keyed by code now, and every such class made from now on when it is made: a
    /// learned-order store is about to be loaded, whose classes are found by name.
    static func nameEveryClassFromNowOn() {
        namesEagerly.store(true, ordering: .releasing)
        // Named outside the registry's lock (a symbolizer may start), then entered under it. Readers nodes
        // are never found by name.
        let named = registry.withLock { $0.all }.filter { $0.readersOf == nil && !$0.hasNameWithoutLookUp }
            .map { ($0.name, $0) }
        registry.withLock { registry in
            for (name, lockClass) in named where registry.byName[name] == nil {
                registry.byName.set(lockClass, for: name)
            }
        }
    }

    private static let namesEagerly = Atomic<Bool>(false)

    private static func reportClassCapReached(by name: String, cap: Int) {
        Capacity.exhausted(
            .classes, cap: cap, detail: "lock class \"\(name)\" and later ones share one untracked class")
    }

    /// What keys a class made by code: the code, or the static variable, and what it is (one call site can
    /// make an `NSLock` and, through a helper, a mutex).
    private enum CodeKey: Hashable {
        case site(CodeSite, noun: String)
        indirect case variable(StaticVariable, noun: String)

        init(_ naming: Naming) {
            switch naming {
            case .createdAt(let site, let noun, _): self = .site(site, noun: noun)
            case .variable(let variable, let noun): self = .variable(variable, noun: noun)
            case .given(let name): preconditionFailure("\(name) is keyed by its name")
            }
        }
    }

    /// The subclass for nesting level `level` (self for 0).
    ///
    /// - Precondition: `level` is in 0...7.
    @inlinable @inline(__always)
    package func nested(_ level: Int) -> LockClass {
        if _fastPath(level == 0 || isOverflow) { return self }
        return subclass(level)
    }

    @usableFromInline
    func subclass(_ level: Int) -> LockClass {
        precondition((1...Self.maximumNesting).contains(level), "nesting level \(level) is outside 0...7")
        let bits = subclassBits(level)
        if _fastPath(bits != 0) {
            return Unmanaged<LockClass>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
        }
        return makeSubclass(level)
    }

    @usableFromInline
    func makeSubclass(_ level: Int) -> LockClass {
        LockClass.registry.withLock { registry in
            let bits = subclassBits(level)
            if bits != 0 {
                return Unmanaged<LockClass>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
            }
            // Found by name once its name needs no lookup (which must not happen under the registry's lock).
            let name =
                hasNameWithoutLookUp || LockClass.namesEagerly.load(ordering: .acquiring) ? "\(name)/\(level)" : nil
            let subclass = registry.add(name: name) {
                LockClass(
                    id: $0, naming: .given(""), site: site, isInterposed: isInterposed, nesting: level, base: self)
            }
            setSubclass(level, subclass)
            return subclass
        }
    }

    /// The graph node for acquisitions of this class as a recursive reader, created on first use.
    ///
    /// lockdep's read rules as two nodes per class: this class's own node is "waited for by a writer
    /// (or a reader that queues behind writers)", blocked by any holder; the readers node is "waited
    /// for by a recursive reader", blocked only by a writer. So an edge from a lock held for reading
    /// leaves the class's own node only, and a path through a recursive read continues only from a
    /// write hold: a cycle in the graph is exactly lockdep's strong (deadlocking) cycle.
    var recursiveReaders: LockClass {
        let bits = subclassBits(0)
        if bits != 0 {
            return Unmanaged<LockClass>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
        }
        return LockClass.registry.withLock { registry in
            let bits = subclassBits(0)
            if bits != 0 {
                return Unmanaged<LockClass>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
            }
            // Not found by name: a lock named like it is another class.
            let readers = registry.add(name: nil) {
                LockClass(
                    id: $0, naming: .given(""), site: site, isInterposed: isInterposed, nesting: nesting,
                    readersOf: self)
            }
            setSubclass(0, readers)
            return readers
        }
    }

    /// The class with id `id`, if one was created.
    package static func withID(_ id: UInt32) -> LockClass? {
        registry.withLock { registry in
            id >= 1 && Int(id) <= registry.all.count ? registry.all[Int(id) - 1] : nil
        }
    }

    /// Lock `instance` of class `classID` as reports name it; a class that cannot be found is named by
    /// its id.
    static func lockInfo(classID: UInt32, instance: UInt64) -> LockInfo {
        let lockClass = withID(classID)
        guard let lockClass else { return LockInfo(name: "class \(classID)", site: nil, instance: instance) }
        return LockInfo(of: lockClass, instance: instance)
    }

    /// The number of classes created so far, subclasses included.
    package static var count: Int { registry.withLock { $0.all.count } }

    /// Every class created so far.
    static var all: [LockClass] { registry.withLock { $0.all } }

    /// Every class created so far, by id.
    static var byID: [UInt32: LockClass] { Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) }) }

    private struct Registry {
        var all: [LockClass] = []
        var byName = ClassNameIndex()
        var byCode: [CodeKey: LockClass] = [:]
        var overflowClass: LockClass?

        mutating func overflow() -> LockClass {
            if let overflowClass { return overflowClass }
            let made = LockClass(
                id: UInt32(all.count + 1), naming: .given("<lock classes past the cap>"), site: nil, isOverflow: true)
            all.append(made)
            overflowClass = made
            return made
        }

        /// - Parameter name: the name the class is found by; nil for none (yet).
        mutating func add(name: String?, _ make: (UInt32) -> LockClass) -> LockClass {
            let lockClass = make(UInt32(all.count + 1))
            all.append(lockClass)
            if let name { byName.set(lockClass, for: name) }
            return lockClass
        }
    }

    private static let registry = InternalLock(Registry())
}
