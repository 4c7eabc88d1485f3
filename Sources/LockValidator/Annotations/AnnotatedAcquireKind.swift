/// How an annotated lock is taken.
public enum AnnotatedAcquireKind: Sendable {
    /// Waited for, exclusively (a mutex's lock, a reader–writer lock's write side): it orders against
    /// the locks held.
    case blocking
    /// A successful exclusive try-lock: held, but it never waited, so no lock-order edge leads into it.
    case trylock
    /// Waited for as a reader of a reader–writer lock, shared with other readers: it orders against
    /// the locks held by lockdep's read rules.
    case shared
    /// A successful read try-lock.
    case sharedTrylock

    // Switches rather than `==`: an unoptimised build (`swift test`) calls a function for each `==`.
    var isTry: Bool {
        switch self {
        case .trylock, .sharedTrylock: return true
        case .blocking, .shared: return false
        }
    }
    var isShared: Bool {
        switch self {
        case .shared, .sharedTrylock: return true
        case .blocking, .trylock: return false
        }
    }
}
