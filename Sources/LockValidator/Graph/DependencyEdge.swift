/// An edge of the lock-order graph: `to` was acquired while `from` was held.
public struct DependencyEdge: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lock held (its class, and the instance held the first time).
    public let from: LockInfo
    /// The lock acquired (its class, and the instance acquired the first time).
    public let to: LockInfo
    /// Where `from` had been acquired.
    public let fromAcquiredAt: SourceSite
    /// Where `to` was acquired.
    public let toAcquiredAt: SourceSite
    /// The IRQL when `to` was acquired.
    public let irql: IRQL
    /// The thread that first took this order.
    public let thread: ThreadInfo
    /// The stack when the edge was first taken.
    public let stack: StackTrace

    /// `"A" -> "B"`.
    public var description: String { "\"\(from.name)\" -> \"\(to.name)\"" }
}
