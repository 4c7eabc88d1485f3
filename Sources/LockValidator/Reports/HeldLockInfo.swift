/// A lock on a thread's held-lock stack when a violation was found.
public struct HeldLockInfo: Hashable, Sendable, Codable {
    public let lock: LockInfo
    /// Where it was acquired.
    public let acquiredAt: Site
    /// The IRQL it runs at.
    public let irql: IRQL
    /// How it was acquired.
    public let kind: AcquireKind
}
