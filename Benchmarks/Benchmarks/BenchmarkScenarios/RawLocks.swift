import Synchronization

/// A raw test-and-test-and-set spin lock: the validated lock's ordinary path without the validator.
// Inlinable, so that the benchmarks measure the lock and not a call into this module.
public final class RawTTASLock: @unchecked Sendable {
    @usableFromInline let word = Atomic<UInt>(0)

    public init() {}

    /// One compare-and-swap, and the spin out of line, as `SpinLock` takes its word: a loop of either
    /// lock is then the same shape.
    @inlinable @inline(__always)
    public func lock() {
        if _fastPath(word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged) { return }
        lockContended()
    }

    @usableFromInline @inline(never)
    func lockContended() {
        repeat {
            while word.load(ordering: .relaxed) != 0 {}
        } while !word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged
    }

    @inlinable @inline(__always)
    public func unlock() { word.store(0, ordering: .releasing) }
}

/// A raw MCS queue lock with the node on the caller's stack.
public final class RawMCSLock: @unchecked Sendable {
    @usableFromInline struct Node: ~Copyable {
        @usableFromInline let next = Atomic<UInt>(0)
        @usableFromInline let locked = Atomic<UInt>(0)

        @inlinable init() {}
    }

    @usableFromInline let tail = Atomic<UInt>(0)

    public init() {}

    @inlinable @inline(__always)
    public func withLock(_ body: () -> Void) {
        withUnsafeTemporaryAllocation(of: Node.self, capacity: 1) { buffer in
            let node = buffer.baseAddress!
            node.initialize(to: Node())
            node.pointee.locked.store(1, ordering: .relaxed)
            let me = UInt(bitPattern: node)
            let previous = tail.exchange(me, ordering: .acquiringAndReleasing)
            if previous != 0 {
                UnsafeMutablePointer<Node>(bitPattern: previous)!.pointee.next.store(me, ordering: .releasing)
                while node.pointee.locked.load(ordering: .acquiring) != 0 {}
            }
            body()
            var next = node.pointee.next.load(ordering: .acquiring)
            if next == 0 {
                if tail.compareExchange(expected: me, desired: 0, ordering: .releasing).exchanged {
                    node.deinitialize(count: 1)
                    return
                }
                repeat { next = node.pointee.next.load(ordering: .acquiring) } while next == 0
            }
            UnsafeMutablePointer<Node>(bitPattern: next)!.pointee.locked.store(0, ordering: .releasing)
            node.deinitialize(count: 1)
        }
    }
}
