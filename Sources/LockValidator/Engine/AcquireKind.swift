/// How a lock was acquired.
public enum AcquireKind: UInt8, Sendable, Codable, CustomStringConvertible {
    /// `KeAcquireSpinLock` and its `AtDpcLevel` form.
    case ordinary = 1
    /// `KeAcquireInStackQueuedSpinLock` and its `AtDpcLevel` form.
    case queued = 2
    /// An interrupt spin lock (`KeSynchronizeExecution`, `KeAcquireInterruptSpinLock`, an ISR).
    case interrupt = 3
    /// A successful try-acquire.
    case tryAcquire = 4
    /// A lock of another kind reported through the annotation API.
    case annotated = 5

    public var description: String {
        switch self {
        case .ordinary: return "ordinary"
        case .queued: return "in-stack queued"
        case .interrupt: return "interrupt"
        case .tryAcquire: return "try"
        case .annotated: return "sleeping lock"
        }
    }
}
