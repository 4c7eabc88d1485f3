/// What a front end does after ``LockTracking/release(_:restoring:queueNode:releasedAt:on:at:)``.
@frozen @usableFromInline
package enum ReleaseAction {
    /// Unlock as the lock was acquired (`kind`, with `queueNode` for a queued acquire), then lower the
    /// IRQL to `lowerTo` (nil: leave it).
    case unlock(AcquireKind, queueNode: UnsafeMutableRawPointer?, lowerTo: IRQL?)
    /// The release matched a reported recursive acquire (made with `queueNode`), which did not take the
    /// lock: do not unlock; lower the IRQL to `lowerTo`.
    case placeholder(queueNode: UnsafeMutableRawPointer?, lowerTo: IRQL?)
    /// The release was reported: a spin lock does not unlock and leaves the IRQL alone (an annotated
    /// lock's caller unlocks its own lock).
    case ignore
}
