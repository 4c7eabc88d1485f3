/// One thread of a `spin-timeout` wait-for chain.
public struct ThreadWait: Hashable, Sendable, Codable {
    public let thread: ThreadInfo
    /// The lock it spins on, if it spins.
    public let waitingFor: LockInfo?
    /// Where it asked for that lock.
    public let waitingAt: Site?
    /// The serial of the thread holding that lock, 0 if none.
    public let holder: UInt32
    /// How long it had been spinning.
    public let waitedNanoseconds: Double
    /// The locks it holds.
    public let heldLocks: [HeldLockInfo]
    /// Its stack while waiting, when it was captured.
    public let stack: StackTrace
}
