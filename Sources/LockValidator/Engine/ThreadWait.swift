/// One thread of a `spin-timeout` wait-for chain or a `deadlock` cycle.
public struct ThreadWait: Hashable, Sendable, Codable {
    public let thread: ThreadInfo
    /// The lock it waits for, if it waits.
    public let waitingFor: LockInfo?
    /// Where it asked for that lock.
    public let waitingAt: Site?
    /// The serial of the thread holding that lock, 0 if none.
    public let holder: UInt32
    /// How long it had been waiting.
    public let waitedNanoseconds: Double
    /// The locks it holds.
    public let heldLocks: [HeldLockInfo]
    /// Its stack while waiting, when it was captured.
    public let stack: StackTrace
    /// true when it sleeps in a blocking wait (a pthread mutex or reader–writer lock); nil or false when it
    /// spins.
    public let isBlocking: Bool?
    /// For a reader–writer lock: true when it waits to read, false to write.
    public let forReading: Bool?

    /// A thread's wait as a report shows it.
    public init(
        thread: ThreadInfo, waitingFor: LockInfo?, waitingAt: Site?, holder: UInt32, waitedNanoseconds: Double,
        heldLocks: [HeldLockInfo], stack: StackTrace, isBlocking: Bool? = nil, forReading: Bool? = nil
    ) {
        self.thread = thread
        self.waitingFor = waitingFor
        self.waitingAt = waitingAt
        self.holder = holder
        self.waitedNanoseconds = waitedNanoseconds
        self.heldLocks = heldLocks
        self.stack = stack
        self.isBlocking = isBlocking
        self.forReading = forReading
    }
}
