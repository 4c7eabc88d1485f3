/// A lock the validator can release for a thread that exited holding it.
package protocol AbandonableLock: AnyObject {
    /// Unlocks as acquired (`kind`, with `queueNode` for a queued acquire), on the exiting thread.
    func releaseAbandoned(_ kind: AcquireKind, queueNode: UnsafeMutableRawPointer?)
}
