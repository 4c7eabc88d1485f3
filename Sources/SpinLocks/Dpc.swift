import LockValidator
import Synchronization

/// A deferred procedure call (`KDPC`): a routine that an ISR or code at raised IRQL queues to run at
/// DISPATCH_LEVEL once the processor's IRQL falls below DISPATCH_LEVEL.
///
/// A DPC object is queued at most once at a time: ``queue()`` returns false while it waits to run,
/// and it may be queued again from its own routine.
public final class Dpc: @unchecked Sendable {
    /// The DPC's name, for reports.
    public let name: String

    @usableFromInline let routine: @Sendable (Dpc) -> Void
    let isQueued = Atomic<Bool>(false)

    /// Creates a DPC that runs `routine` (`KeInitializeDpc`).
    public init(_ name: String, routine: @escaping @Sendable (Dpc) -> Void) {
        self.name = name
        self.routine = routine
    }

    /// Queues the DPC on the calling thread's processor (`KeInsertQueueDpc`); returns false when it
    /// was already queued.
    ///
    /// Below DISPATCH_LEVEL the routine runs at once (the DISPATCH software interrupt is not masked);
    /// otherwise it runs when this processor's IRQL falls below DISPATCH_LEVEL.
    @discardableResult
    public func queue() -> Bool {
        guard !isQueued.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        let thread = ThreadState.current
        if thread.irql < .dispatch {
            deliver()
        } else {
            thread.pend(self, at: .dispatch)
        }
        return true
    }
}

extension Dpc: PendedWork {
    /// Runs the routine at DISPATCH_LEVEL in a context of its own (it takes no lock order from the
    /// code it interrupted), then restores the IRQL.
    package func deliver() {
        let thread = ThreadState.current
        let oldIRQL = thread.irql
        thread.irql = .dispatch
        isQueued.store(false, ordering: .releasing)
        thread.runInNewContext { routine(self) }
        thread.lowerIRQL(to: oldIRQL)
    }
}
