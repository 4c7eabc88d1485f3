import Synchronization

/// A lock class, as lockdep keys them: every lock created with one name, or at one init site when
/// unnamed, belongs to one class, and the lock-order rules are about classes, not instances.
///
/// A class also has up to seven nesting subclasses (lockdep's `spin_lock_nested`): acquiring with
/// `nesting: n` puts the lock in subclass `n`, a separate node of the lock-order graph, so that an
/// intended parent-then-child order between two instances of one class is legal.
public final class LockClass: @unchecked Sendable, CustomStringConvertible {
    /// The class id, dense from 1.
    public let id: UInt32
    /// The class name: the name given at init, else `Module/File.swift:line` of the init site; a
    /// subclass adds `/n`.
    public let name: String
    /// The first init site seen for the class.
    public let site: SourceSite
    /// The nesting level: 0 for a class, 1...7 for its subclasses.
    public let nesting: Int
    /// The class a subclass nests under; nil for a class itself.
    public let base: LockClass?
    /// The one class that every lock created past the class cap shares: held, but outside lock-order
    /// and IRQL-usage checks (one class for unrelated locks would invent cycles).
    public let isOverflow: Bool

    /// Bit n: the class has been held at IRQL n.
    @usableFromInline let levelsUsed = Atomic<UInt16>(0)
    /// Set after a hold of this class passed its budget: every acquire then takes an exact CPU-time
    /// snapshot and keeps its stack, so later reports are exact and show both stacks.
    @usableFromInline let isTraced = Atomic<Bool>(false)
    /// The statistics blocks of live instances, and the totals of freed ones.
    let statistics = InternalLock(ClassStatistics())

    struct ClassStatistics {
        var live: [UInt: LockStatisticsBlock] = [:]
        var retired = LockStatisticsBlock.Counts()
    }

    func register(_ block: LockStatisticsBlock) {
        statistics.withLock { $0.live[UInt(bitPattern: block.slots)] = block }
    }

    /// Folds a freed instance's counters into the class totals and frees its block.
    func retire(_ block: LockStatisticsBlock) {
        statistics.withLock { statistics in
            statistics.retired.add(block.snapshot)
            statistics.live[UInt(bitPattern: block.slots)] = nil
        }
        block.deallocate()
    }

    /// The class's counters over all its instances, or nil when it was never acquired.
    var statisticsReport: LockClassStatistics? {
        let counts = statistics.withLock { statistics in
            statistics.live.values.reduce(into: statistics.retired) { $0.add($1.snapshot) }
        }
        return counts.acquisitions == 0 ? nil : LockClassStatistics(name: name, counts: counts)
    }
    /// Subclass 1...7 as `Unmanaged` bits, 0 until created.
    @usableFromInline let subclasses: UnsafeMutablePointer<Atomic<UInt>>

    /// The deepest nesting level.
    public static let maximumNesting = 7

    init(id: UInt32, name: String, site: SourceSite, nesting: Int = 0, base: LockClass? = nil, isOverflow: Bool = false)
    {
        self.isOverflow = isOverflow
        self.id = id
        self.name = name
        self.site = site
        self.nesting = nesting
        self.base = base
        subclasses = .allocate(capacity: Self.maximumNesting + 1)
        for slot in 0...Self.maximumNesting { (subclasses + slot).initialize(to: Atomic(0)) }
    }

    public var description: String { name }

    /// The class for `name`, or for the init site when `name` is nil; created on first use.
    public static func named(_ name: String?, site: SourceSite) -> LockClass {
        let key = name ?? site.description
        let cap = ConfigurationStore.loaded.configuration.capacity.classes
        var overflowed = false
        let lockClass = registry.withLock { registry -> LockClass in
            if let existing = registry.byName[key] { return existing }
            guard registry.all.count < cap else {
                overflowed = true
                return registry.overflow()
            }
            return registry.add { LockClass(id: $0, name: key, site: site) }
        }
        if overflowed {
            Capacity.exhausted(
                .classes, cap: cap, detail: "lock class \"\(key)\" and later ones share one untracked class")
        }
        return lockClass
    }

    /// The subclass for nesting level `level` (self for 0).
    ///
    /// - Precondition: `level` is in 0...7.
    @inlinable
    public func nested(_ level: Int) -> LockClass {
        if level == 0 || isOverflow { return self }
        precondition((1...Self.maximumNesting).contains(level), "nesting level \(level) is outside 0...7")
        let bits = (subclasses + level).pointee.load(ordering: .acquiring)
        if _fastPath(bits != 0) {
            return Unmanaged<LockClass>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
        }
        return makeSubclass(level)
    }

    @usableFromInline
    func makeSubclass(_ level: Int) -> LockClass {
        LockClass.registry.withLock { registry in
            let bits = (subclasses + level).pointee.load(ordering: .acquiring)
            if bits != 0 {
                return Unmanaged<LockClass>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
            }
            let subclass = registry.add {
                LockClass(id: $0, name: "\(name)/\(level)", site: site, nesting: level, base: self)
            }
            // Classes live as long as the process; the registry keeps the reference.
            let opaque = Unmanaged.passUnretained(subclass).toOpaque()
            (subclasses + level).pointee.store(UInt(bitPattern: opaque), ordering: .releasing)
            return subclass
        }
    }

    /// The class with id `id`, if one was created.
    public static func withID(_ id: UInt32) -> LockClass? {
        registry.withLock { registry in
            id >= 1 && Int(id) <= registry.all.count ? registry.all[Int(id) - 1] : nil
        }
    }

    /// The number of classes created so far, subclasses included.
    public static var count: Int { registry.withLock { $0.all.count } }

    /// Every class created so far.
    static var all: [LockClass] { registry.withLock { $0.all } }

    private struct Registry {
        var all: [LockClass] = []
        var byName: [String: LockClass] = [:]
        var overflowClass: LockClass?

        mutating func overflow() -> LockClass {
            if let overflowClass { return overflowClass }
            let made = LockClass(
                id: UInt32(all.count + 1), name: "<lock classes past the cap>", site: SourceSite(fileID: "?", line: 0),
                isOverflow: true)
            all.append(made)
            overflowClass = made
            return made
        }

        mutating func add(_ make: (UInt32) -> LockClass) -> LockClass {
            let lockClass = make(UInt32(all.count + 1))
            all.append(lockClass)
            byName[lockClass.name] = lockClass
            return lockClass
        }
    }

    private static let registry = InternalLock(Registry())
}

/// Serial numbers for lock instances: never reused, so a freed lock's address reused by a new lock
/// is a new instance.
package enum LockInstance {
    package static func next() -> UInt64 { nextInstance.wrappingAdd(1, ordering: .relaxed).oldValue }
}

private let nextInstance = Atomic<UInt64>(1)
