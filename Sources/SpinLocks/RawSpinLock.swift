import Synchronization
import _LockValidatorShims

/// The lock word of a `KSPIN_LOCK`, serving both acquisition styles.
///
/// The word is 0 when free, 1 when held by an ordinary (test-and-test-and-set) acquire, and otherwise
/// the address of the tail node of an MCS queue whose head owns the lock. Ordinary acquires only take
/// a free word and queued acquires wait out an ordinary holder, so mixing the two styles (a reported
/// violation) still excludes correctly.
@usableFromInline
struct RawSpinLock: ~Copyable {
    @usableFromInline static let heldOrdinary: UInt = 1

    @usableFromInline let word = Atomic<UInt>(0)

    @inlinable init() {}

    /// Whether anyone holds the lock (or waits in its queue).
    @inlinable var isLocked: Bool { word.load(ordering: .relaxed) != 0 }

    // MARK: Ordinary (test-and-test-and-set)

    @inlinable
    func tryLock() -> Bool {
        word.load(ordering: .relaxed) == 0
            && word.compareExchange(expected: 0, desired: Self.heldOrdinary, ordering: .acquiring).exchanged
    }

    /// Takes the lock if it is free, with one compare-and-swap (the uncontended path).
    @inlinable
    func lockIfFree() -> Bool {
        word.compareExchange(expected: 0, desired: Self.heldOrdinary, ordering: .acquiring).exchanged
    }

    @usableFromInline
    @inline(never)
    func lockContended(_ backoff: inout SpinBackoff) -> UInt64 {
        let start = lv_rdtsc()
        repeat {
            while word.load(ordering: .relaxed) != 0 { backoff.wait() }
        } while !word.compareExchange(expected: 0, desired: Self.heldOrdinary, ordering: .acquiring).exchanged
        return max(1, lv_rdtsc() &- start)
    }

    @inlinable
    func unlock() { word.store(0, ordering: .releasing) }

    // MARK: Queued (MCS)

    /// Acquires in FIFO order, waiting on `node`, which must stay put until `unlockQueued(node)`;
    /// returns the TSC cycles spent waiting, 0 when the lock was free.
    @inlinable
    func lockQueued(_ node: UnsafeMutablePointer<QueueNode>, _ backoff: inout SpinBackoff) -> UInt64 {
        node.pointee.next.store(0, ordering: .relaxed)
        node.pointee.locked.store(1, ordering: .relaxed)
        let me = UInt(bitPattern: node)
        var start: UInt64 = 0
        while true {
            let tail = word.load(ordering: .relaxed)
            if tail == Self.heldOrdinary {
                if start == 0 { start = lv_rdtsc() }
                backoff.wait()
                continue
            }
            guard word.compareExchange(expected: tail, desired: me, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            if tail == 0 { return start == 0 ? 0 : max(1, lv_rdtsc() &- start) }
            // Link behind the previous tail and wait for it to hand the lock over.
            if start == 0 { start = lv_rdtsc() }
            UnsafeMutablePointer<QueueNode>(bitPattern: tail)!.pointee.next.store(me, ordering: .releasing)
            while node.pointee.locked.load(ordering: .acquiring) != 0 { backoff.wait() }
            return max(1, lv_rdtsc() &- start)
        }
    }

    /// Releases a queued acquire made with `node`, handing the lock to the next waiter in line.
    @inlinable
    func unlockQueued(_ node: UnsafeMutablePointer<QueueNode>) {
        var next = node.pointee.next.load(ordering: .acquiring)
        if next == 0 {
            let me = UInt(bitPattern: node)
            if word.compareExchange(expected: me, desired: 0, ordering: .releasing).exchanged { return }
            // A successor swapped itself in and is about to link; wait for it.
            var backoff = SpinBackoff()
            repeat {
                backoff.wait()
                next = node.pointee.next.load(ordering: .acquiring)
            } while next == 0
        }
        UnsafeMutablePointer<QueueNode>(bitPattern: next)!.pointee.locked.store(0, ordering: .releasing)
    }

    /// The tail of the MCS queue, or nil when the lock is free or held by an ordinary acquire.
    var queueTail: UnsafeMutableRawPointer? {
        let value = word.load(ordering: .relaxed)
        return value > Self.heldOrdinary ? UnsafeMutableRawPointer(bitPattern: value) : nil
    }
}

/// An MCS queue node; it lives on the waiter's stack (or in its thread's node pool).
@usableFromInline
struct QueueNode: ~Copyable {
    @usableFromInline let next = Atomic<UInt>(0)
    @usableFromInline let locked = Atomic<UInt>(0)

    @inlinable init() {}
}

/// Spin-wait pacing that stays live when more threads spin than there are cores: the pause hint,
/// then a yield every `spinsPerYield` iterations so that a preempted holder or next-in-line waiter
/// gets the processor back. At each yield a watched wait also reports to the spin watchdog.
@usableFromInline
struct SpinBackoff {
    @usableFromInline static let spinsPerYield = 128
    @usableFromInline var spins = 0
    /// The TSC at the first yield of a watched wait, 0 until then.
    @usableFromInline var start: UInt64 = 0
    /// The lock waited for, which the watchdog watches; nil for a wait nobody watches.
    @usableFromInline unowned(unsafe) let lock: SpinLock?
    @usableFromInline let site: CallSite

    /// A wait nobody watches (a release waiting for its successor to link).
    @inlinable init() {
        lock = nil
        site = CallSite("", 0)
    }

    /// A wait for `lock`, asked for at `site`, that the spin watchdog watches.
    @inlinable init(watching lock: SpinLock, at site: CallSite) {
        self.lock = lock
        self.site = site
    }

    @inlinable
    mutating func wait() {
        spins &+= 1
        if spins % Self.spinsPerYield == 0 {
            lv_yield()
            if let lock { lock.validation.yielded(waitingFor: lock, since: &start, at: site) }
        } else {
            lv_pause()
        }
    }

    /// Ends a watched wait once the lock is taken.
    @inlinable
    func finish(on thread: ThreadState) {
        if _slowPath(start != 0), let lock { lock.validation.waitEnded(on: thread) }
    }
}
