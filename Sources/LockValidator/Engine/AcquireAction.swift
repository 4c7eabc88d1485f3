/// What a front end does after ``LockTracking/acquire(_:trylock:read:nesting:queueNode:lockObject:on:at:)``.
@frozen @usableFromInline
package enum AcquireAction: Equatable {
    /// Take the lock; the acquire is on the held stack.
    case lock
    /// Take the lock; the acquire is not tracked (checks off, or the held stack full).
    case lockUntracked
    /// The thread holds the lock already (reported): do not take it, it would wait forever.
    case skip
}
