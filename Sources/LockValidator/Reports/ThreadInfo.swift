/// The thread a violation happened on.
public struct ThreadInfo: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The validator's number for the thread (1, 2, ...), stable for the thread's life.
    public let serial: UInt32
    /// The kernel thread id.
    public let osThreadID: Int64
    /// The thread name, if it has one.
    public let name: String?

    public init(serial: UInt32, osThreadID: Int64, name: String?) {
        self.serial = serial
        self.osThreadID = osThreadID
        self.name = name
    }

    public var description: String {
        if let name, !name.isEmpty { return "thread \(serial) \"\(name)\" (tid \(osThreadID))" }
        return "thread \(serial) (tid \(osThreadID))"
    }
}
