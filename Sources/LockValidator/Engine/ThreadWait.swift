/// One thread of a `spin-timeout` wait-for chain or a `deadlock` cycle.
public struct ThreadWait: Hashable, Sendable, Codable {
    public let thread: ThreadInfo
    /// The lock it waits for, if it waits.
    public let waitingFor: LockInfo?
    /// Where it asked for that lock.
    public let waitingAt: Site?
    /// The serial of the thread holding that lock, 0 if none.
    public let holder: UInt32
    /// The thread holding that lock, as reports name it (nil in reports written before it was kept, and
    /// when no thread holds it).
    public let holderThread: ThreadInfo?
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
        heldLocks: [HeldLockInfo], stack: StackTrace, isBlocking: Bool? = nil, forReading: Bool? = nil,
        holderThread: ThreadInfo? = nil
    ) {
        self.thread = thread
        self.waitingFor = waitingFor
        self.waitingAt = waitingAt
        self.holder = holder
        self.holderThread = holderThread
        self.waitedNanoseconds = waitedNanoseconds
        self.heldLocks = heldLocks
        self.stack = stack
        self.isBlocking = isBlocking
        self.forReading = forReading
    }
}

extension ThreadWait {
    /// The holder as reports name threads (`thread 3 "audit" (tid 8762)`): from `holderThread`, else from the
    /// member of `waits` it is (a report written before `holderThread` was kept), else its number alone.
    package func holderDescription(among waits: [ThreadWait]) -> String {
        if let holderThread { return holderThread.description }
        if let member = waits.first(where: { $0.thread.serial == holder }) { return member.thread.description }
        return "thread \(holder)"
    }
}
