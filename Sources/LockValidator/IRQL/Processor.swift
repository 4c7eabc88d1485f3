import _LockValidatorShims

/// Work that runs when a processor's IRQL falls below the level it was pended at: a device
/// interrupt that fired while its DIRQL was masked, or a DPC queued at DISPATCH_LEVEL or above.
package protocol PendedWork: AnyObject {
    /// Runs the work on the calling thread; it raises and restores the IRQL itself.
    func deliver()
}

/// The pended work of one thread ("processor"); reached only from its own thread.
final class Processor {
    /// Work pended per IRQL, in the order it was pended.
    var queues: [[PendedWork]] = Array(repeating: [], count: 16)
    /// Acquire stacks of held locks of traced classes, by instance.
    var acquireStacks: [UInt64: StackTrace] = [:]

    static func of(_ thread: ThreadState) -> Processor {
        if let existing = thread.pointer.pointee.processor {
            return Unmanaged<Processor>.fromOpaque(existing).takeUnretainedValue()
        }
        let processor = Processor()
        thread.pointer.pointee.processor = Unmanaged.passRetained(processor).toOpaque()
        return processor
    }
}

extension ThreadState {
    /// Pends `work` until this thread's IRQL falls below `level`.
    package func pend(_ work: PendedWork, at level: IRQL) {
        Processor.of(self).queues[Int(level.rawValue)].append(work)
        pointer.pointee.pending |= 1 << UInt32(level.rawValue)
    }

    /// Sets the IRQL to a lower or equal level and delivers whatever was pended above it.
    @inlinable
    package func lowerIRQL(to level: IRQL) {
        irql = level
        if _slowPath(pointer.pointee.pending >> (UInt32(level.rawValue) + 1) != 0) { deliverPending() }
    }

    /// Delivers pended work above the current IRQL, highest level first, oldest first within a level.
    @usableFromInline
    @inline(never)
    func deliverPending() {
        let processor = Processor.of(self)
        while true {
            let above = pointer.pointee.pending >> (UInt32(irql.rawValue) + 1)
            guard above != 0 else { return }
            let level = Int(irql.rawValue) + 1 + (31 - above.leadingZeroBitCount)
            let work = processor.queues[level].removeFirst()
            if processor.queues[level].isEmpty { pointer.pointee.pending &= ~(1 << UInt32(level)) }
            work.deliver()
        }
    }
}
