/// A lock class seen held at one IRQL: where first, and by whom.
public struct LockUsage: Hashable, Sendable, Codable {
    public let lock: LockInfo
    public let irql: IRQL
    /// The acquire that first held the class at this IRQL.
    public let site: Site
    public let thread: ThreadInfo
    public let stack: StackTrace
}
