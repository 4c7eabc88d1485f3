/// A lock as reports name it: its class, its instance and where it was created.
public struct LockInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lock class name: the name given at init, else the init site.
    public var name: String { lockClass?.name ?? recordedName }
    /// Where the instance was created (for locks seen only on a held stack, the class's first init site);
    /// nil for the class of locks past the class cap.
    public let site: Site?
    /// The instance serial number, unique for the life of the process.
    public let instance: UInt64
    /// In the process that made it: the class, whose name may be looked up only when shown.
    private let lockClass: LockClass?
    private let recordedName: String

    public init(name: String, site: Site?, instance: UInt64) {
        recordedName = name
        lockClass = nil
        self.site = site
        self.instance = instance
    }

    /// Lock `instance` of `lockClass`, created at `site` (the class's first init site when nil).
    package init(of lockClass: LockClass, instance: UInt64, site: Site? = nil) {
        recordedName = ""
        self.lockClass = lockClass
        self.site = site ?? lockClass.site
        self.instance = instance
    }

    /// Whether a class name already says where its locks were created (`NSLock created at Cache.swift:5:21
    /// in Cache.init`), or that this was not seen (`Mutex first seen at …`): reports then do not add a
    /// "created at" of their own.
    public static func nameSaysWhereCreated(_ name: String) -> Bool {
        name.contains(" created at ") || nameSaysCreationUnseen(name)
    }

    /// Whether a class is named by the first lock of it the validator saw, its creation unseen: a `Mutex`
    /// moved after it was made. (`first locked at`: reports written before it was named `first seen at`.)
    public static func nameSaysCreationUnseen(_ name: String) -> Bool {
        name.contains(" first seen at ") || name.contains(" first locked at ")
    }

    /// The class's graph node in the process that made it; nil in a report read back.
    package var classID: UInt32? { lockClass?.id }

    /// `"DeviceLock" #3`.
    /// Instance 0 is no one lock (a class as other processes' reports and stores know it): named alone.
    public var description: String { instance == 0 ? "\"\(name)\"" : "\"\(name)\" #\(instance)" }

    public static func == (lhs: LockInfo, rhs: LockInfo) -> Bool {
        lhs.instance == rhs.instance && lhs.site == rhs.site && lhs.name == rhs.name
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(site)
        hasher.combine(instance)
    }

    private enum CodingKeys: String, CodingKey { case name, site, instance }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            site: try container.decodeIfPresent(Site.self, forKey: .site),
            instance: try container.decode(UInt64.self, forKey: .instance))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(site, forKey: .site)
        try container.encode(instance, forKey: .instance)
    }
}
