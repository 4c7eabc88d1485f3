import Synchronization

/// A lock class, as lockdep keys them: every lock created with one name, or at one init site when
/// unnamed, belongs to one class, and the lock-order rules are about classes, not instances.
public final class LockClass: Sendable, CustomStringConvertible {
    /// The class id, dense from 1.
    public let id: UInt32
    /// The class name: the name given at init, else `Module/File.swift:line` of the init site.
    public let name: String
    /// The first init site seen for the class.
    public let site: SourceSite

    init(id: UInt32, name: String, site: SourceSite) {
        self.id = id
        self.name = name
        self.site = site
    }

    public var description: String { name }

    /// The class for `name`, or for the init site when `name` is nil; created on first use.
    public static func named(_ name: String?, site: SourceSite) -> LockClass {
        let key = name ?? site.description
        return registry.withLock { registry in
            if let existing = registry.byName[key] { return existing }
            let lockClass = LockClass(id: UInt32(registry.all.count + 1), name: key, site: site)
            registry.all.append(lockClass)
            registry.byName[key] = lockClass
            return lockClass
        }
    }

    /// The class with id `id`, if one was created.
    public static func withID(_ id: UInt32) -> LockClass? {
        registry.withLock { registry in
            id >= 1 && Int(id) <= registry.all.count ? registry.all[Int(id) - 1] : nil
        }
    }

    /// The number of classes created so far.
    public static var count: Int { registry.withLock { $0.all.count } }

    private struct Registry {
        var all: [LockClass] = []
        var byName: [String: LockClass] = [:]
    }

    private static let registry = InternalLock(Registry())
}

/// Serial numbers for lock instances: never reused, so a freed lock's address reused by a new lock
/// is a new instance.
package enum LockInstance {
    package static func next() -> UInt64 { nextInstance.wrappingAdd(1, ordering: .relaxed).oldValue }
}

private let nextInstance = Atomic<UInt64>(1)
