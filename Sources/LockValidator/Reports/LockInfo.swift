/// A lock as reports name it: its class, its instance and where it was created.
public struct LockInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lock class name: the name given at init, else the init site.
    public let name: String
    /// Where the instance was created (for locks seen only on a held stack, the class's first init site).
    public let site: SourceSite
    /// The instance serial number, unique for the life of the process.
    public let instance: UInt64

    public init(name: String, site: SourceSite, instance: UInt64) {
        self.name = name
        self.site = site
        self.instance = instance
    }

    /// `"DeviceLock" #3`.
    public var description: String { "\"\(name)\" #\(instance)" }
}
