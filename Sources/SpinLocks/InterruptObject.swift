import LockValidator

/// A connected interrupt (what `IoConnectInterrupt` returns): a service routine that runs at the
/// interrupt's DIRQL holding the interrupt spin lock, and the means for other code to synchronize
/// with it.
///
/// Code that shares data with the ISR reaches it only through ``synchronizeExecution(fileID:line:_:)``
/// (`KeSynchronizeExecution`), which raises to the synchronize IRQL and takes the interrupt spin lock,
/// so the ISR cannot run on this processor meanwhile and waits for the lock on any other.
///
/// ```swift
/// let interrupt = InterruptObject("Floppy", irql: .device(5)) { interrupt in
///     device.status = readStatus()
///     dpcForIsr.queue()
///     return true
/// }
/// interrupt.synchronizeExecution { device.pendingCommand = command }
/// ```
public final class InterruptObject: @unchecked Sendable {
    /// The interrupt's name, also the name of its spin lock's class.
    public let name: String
    /// The DIRQL the interrupt arrives at.
    public let irql: IRQL
    /// The IRQL the ISR and synchronized code run at: the highest DIRQL of the interrupts that share
    /// the spin lock.
    public let synchronizeIRQL: IRQL
    /// The interrupt spin lock.
    public let spinLock: SpinLock

    @usableFromInline let serviceRoutine: @Sendable (InterruptObject) -> Bool
    let connectSite: CallSite

    /// Connects `serviceRoutine` as the ISR of an interrupt at `irql` (`IoConnectInterrupt`).
    ///
    /// - Parameters:
    ///   - name: the interrupt's name; its spin lock's class is named after it.
    ///   - irql: the DIRQL the interrupt arrives at.
    ///   - synchronizeIRQL: the IRQL the ISR and synchronized code run at; `irql` when nil.
    ///   - holdBudget: how long the interrupt spin lock may be held, by the ISR or by synchronized code;
    ///     nil for the configuration's budget.
    ///   - fileID: the caller's file, for reports; leave the default.
    ///   - line: the caller's line, for reports; leave the default.
    ///   - serviceRoutine: the ISR; it returns whether the interrupt was its device's.
    /// - Precondition: `irql` is a device level and `synchronizeIRQL` is no lower than it.
    public init(
        _ name: String, irql: IRQL, synchronizeIRQL: IRQL? = nil, holdBudget: Duration? = nil,
        fileID: StaticString = #fileID, line: UInt = #line,
        serviceRoutine: @escaping @Sendable (InterruptObject) -> Bool
    ) {
        precondition(
            irql > .dispatch, "InterruptObject \(name): irql \(irql) must be a device level (above DISPATCH_LEVEL)")
        let synchronizeIRQL = synchronizeIRQL ?? irql
        precondition(
            synchronizeIRQL >= irql, "InterruptObject \(name): synchronizeIRQL \(synchronizeIRQL) is below irql \(irql)"
        )
        self.name = name
        self.irql = irql
        self.synchronizeIRQL = synchronizeIRQL
        self.serviceRoutine = serviceRoutine
        self.spinLock = SpinLock("\(name) interrupt spin lock", holdBudget: holdBudget, fileID: fileID, line: line)
        self.connectSite = CallSite(fileID, line)
    }

    /// Runs `body` at the synchronize IRQL holding the interrupt spin lock (`KeSynchronizeExecution`).
    ///
    /// An error thrown by `body` is an `error-while-held` violation; the lock is released and the
    /// error rethrown.
    @inlinable
    @discardableResult  // the result is the closure's: `lock.withLock { usleep(10) }` is no warning
    public func synchronizeExecution<Result: ~Copyable, Failure: Error>(
        fileID: StaticString = #fileID, line: UInt = #line, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let oldIRQL = acquireInterruptSpinLock(fileID: fileID, line: line)
        return try spinLock.runHeld(body, at: CallSite(fileID, line)) {
            releaseInterruptSpinLock(oldIRQL, fileID: fileID, line: line)
        }
    }

    /// Raises to the synchronize IRQL, takes the interrupt spin lock, and returns the IRQL to restore
    /// (`KeAcquireInterruptSpinLock`).
    ///
    /// - Warning: call at or below the synchronize IRQL; above it, `irql-too-high` is reported and the
    ///   IRQL is left where it is.
    @inlinable
    public func acquireInterruptSpinLock(fileID: StaticString = #fileID, line: UInt = #line) -> IRQL {
        let site = CallSite(fileID, line)
        let thread = ThreadState.current
        let oldIRQL = spinLock.raiseIRQL(
            to: synchronizeIRQL, on: thread, for: "synchronizeExecution()/acquireInterruptSpinLock()", at: site)
        spinLock.lock(.interrupt, on: thread, at: site)
        return oldIRQL
    }

    /// Releases the interrupt spin lock and lowers the IRQL to `oldIRQL` (`KeReleaseInterruptSpinLock`).
    @inlinable
    public func releaseInterruptSpinLock(_ oldIRQL: IRQL, fileID: StaticString = #fileID, line: UInt = #line) {
        spinLock.unlock(.interrupt, restoring: oldIRQL, on: ThreadState.current, at: CallSite(fileID, line))
    }

    /// Raises the interrupt on the calling thread's processor.
    ///
    /// Below the interrupt's IRQL the ISR runs at once; at or above it the interrupt is pended and the
    /// ISR runs when this processor's IRQL falls below the interrupt's.
    public func trigger() {
        let thread = ThreadState.current
        if thread.irql < irql {
            deliver()
        } else {
            thread.pend(self, at: irql)
        }
    }
}

extension InterruptObject: PendedWork {
    /// Runs the ISR as the hardware would: at the synchronize IRQL holding the interrupt spin lock, in
    /// an interrupt context of its own (it takes no lock order from the code it interrupted).
    package func deliver() {
        let thread = ThreadState.current
        let oldIRQL = thread.irql
        thread.runInNewContext {
            thread.irql = synchronizeIRQL
            spinLock.lock(.interrupt, on: thread, at: connectSite)
            _ = serviceRoutine(self)
            spinLock.unlock(.interrupt, restoring: oldIRQL, on: thread, at: connectSite)
        }
    }
}
