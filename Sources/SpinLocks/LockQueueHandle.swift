import _LockValidatorShims

/// The caller's record of one in-stack queued acquisition (`KLOCK_QUEUE_HANDLE`): the queue node and
/// the IRQL to return to.
///
/// A Swift `inout` argument has no address that stays put between two calls, and an MCS node must,
/// so the node itself is lent from the acquiring thread's node pool (in `__thread` storage, as Windows
/// keeps numbered queued-lock nodes in each processor's PRCB) and returned at release.
/// ``SpinLock/withQueuedLock(nesting:fileID:line:_:)`` keeps the node on the caller's stack instead.
///
/// - Warning: release on the thread that acquired, once per acquire.
public struct LockQueueHandle: Sendable {
    /// The IRQL before the acquire, restored by the release (`OldIrql`).
    public var oldIRQL: IRQL = .passive
    @usableFromInline var node: UInt = 0
    @usableFromInline var poolSlot: Int = -1

    /// An empty handle, ready for an acquire.
    public init() {}

    @usableFromInline var nodePointer: UnsafeMutablePointer<QueueNode>? { UnsafeMutablePointer(bitPattern: node) }

    /// Lends the calling thread a node: a pool slot, or a heap node when all 64 are out.
    @usableFromInline mutating func borrowNode() -> UnsafeMutablePointer<QueueNode> {
        let state = lv_thread()!
        let used = state.pointee.queue_nodes_in_use
        let pointer: UnsafeMutablePointer<QueueNode>
        if ~used != 0 {
            let slot = (~used).trailingZeroBitCount
            state.pointee.queue_nodes_in_use = used | (1 << UInt64(slot))
            let raw = withUnsafeMutablePointer(to: &state.pointee.queue_nodes) {
                UnsafeMutableRawPointer($0) + slot * MemoryLayout<lv_queue_node>.stride
            }
            pointer = raw.bindMemory(to: QueueNode.self, capacity: 1)
            poolSlot = slot
        } else {
            pointer = .allocate(capacity: 1)
            poolSlot = -1
        }
        pointer.initialize(to: QueueNode())
        node = UInt(bitPattern: pointer)
        return pointer
    }

    /// Gives the node back if `finished` (what a release finished with) is this handle's node: only
    /// then is it sure that no lock references it. After a misuse (a release through another handle,
    /// one that was ignored) the node stays lent: a pool slot is lost, never reused while in a queue.
    @usableFromInline mutating func returnNode(ifFinished finished: UnsafeMutableRawPointer?) {
        guard let finished, finished == nodePointer.map({ UnsafeMutableRawPointer($0) }) else { return }
        returnNode()
    }

    /// Gives the node back once the lock no longer references it.
    @usableFromInline mutating func returnNode() {
        guard let pointer = nodePointer else { return }
        if poolSlot >= 0 {
            let state = lv_thread()!
            state.pointee.queue_nodes_in_use &= ~(1 << UInt64(poolSlot))
        } else {
            pointer.deinitialize(count: 1)
            pointer.deallocate()
        }
        node = 0
        poolSlot = -1
    }
}
