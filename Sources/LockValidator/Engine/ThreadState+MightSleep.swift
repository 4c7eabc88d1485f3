import _LockValidatorShims

// Linux's might_sleep(): a call that may block, made where the thread must not (a spin lock held, or
// above APC_LEVEL). `mightSleep()` declares one in Swift; LockValidatorPthreads's interposer reports the
// C library's blocking calls (usleep, poll, a blocking read, …) through the same report.

extension ThreadState {
    /// `blocking-while-held`: a call that may block made where this thread must not block. `call` is the
    /// C function's name for an interposed call, nil for ``mightSleep(fileID:line:)``; `stack` the stack
    /// to show, nil for the caller's.
    @inline(never)
    package func printMightSleepBug(call: String?, at site: Site, stack: StackTrace? = nil) {
        let spinLocks = (0..<depth).map { held($0).pointee }.filter { $0.kind != AcquireKind.annotated.rawValue }
        let reason =
            spinLocks.last.map { "with the spin lock \($0.lockInfo) held (acquired at \($0.acquiredAt))" }
            ?? "at \(irql)"
        let what = call.map { "\(info) called \($0)(), which may block," } ?? "a call that may block was made"
        LockValidator.record(
            .blockingWhileHeld, summary: "\(what) \(reason)", locks: spinLocks.reversed().map(\.lockInfo), site: site,
            stack: stack)
    }
}
