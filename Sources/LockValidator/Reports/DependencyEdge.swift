/// An edge of the lock-order graph: `to` was acquired while `from` was held.
public struct DependencyEdge: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The lock held (its class, and the instance held the first time).
    public let from: LockInfo
    /// The lock acquired (its class, and the instance acquired the first time).
    public let to: LockInfo
    /// Where `from` had been acquired.
    public let fromAcquiredAt: Site
    /// Where `to` was acquired.
    public let toAcquiredAt: Site
    /// The IRQL when `to` was acquired.
    public let irql: IRQL
    /// The thread that first took this order.
    public let thread: ThreadInfo
    /// The stack when the edge was first taken.
    public let stack: StackTrace
    /// For an edge another process learned (a learned-order store, a merged report): that process.
    public let process: ValidationReport.ProcessDescription?
    /// True when `from` was held for reading every time this order was taken (nil: held for writing, or
    /// not known): a read hold waits for no other reader, which the read rules need across processes too.
    public let heldShared: Bool?

    package init(
        from: LockInfo, to: LockInfo, fromAcquiredAt: Site, toAcquiredAt: Site, irql: IRQL,
        thread: ThreadInfo, stack: StackTrace, process: ValidationReport.ProcessDescription? = nil,
        heldShared: Bool = false
    ) {
        self.from = from
        self.to = to
        self.fromAcquiredAt = fromAcquiredAt
        self.toAcquiredAt = toAcquiredAt
        self.irql = irql
        self.thread = thread
        self.stack = stack
        self.process = process
        self.heldShared = heldShared ? true : nil
    }

    /// `"A" -> "B"`.
    public var description: String { "\"\(from.name)\" -> \"\(to.name)\"" }
}
