extension IRQL {
    /// The calling thread's current IRQL (`KeGetCurrentIrql`).
    @inlinable
    public static var current: IRQL { ThreadState.current.irql }

    /// Raises the calling thread's IRQL to `level` and returns the previous level (`KeRaiseIrql`).
    ///
    /// - Warning: raising to a level below the current one is an `irql-raise-invalid` violation; the
    ///   IRQL is then left unchanged and the current level returned.
    @discardableResult
    public static func raise(to level: IRQL, fileID: StaticString = #fileID, line: UInt = #line) -> IRQL {
        let thread = ThreadState.current
        let old = thread.irql
        guard level >= old else {
            #if Validation
                LockValidator.record(
                    .irqlRaiseInvalid, summary: "IRQL.raise(to: \(level)) called at \(old), a higher level",
                    site: .source(SourceSite(fileID, line)))
            #endif
            return old
        }
        thread.irql = level
        return old
    }

    /// Lowers the calling thread's IRQL to `level` (`KeLowerIrql`), then runs any interrupts and DPCs
    /// pended on this processor above the new level.
    ///
    /// - Warning: lowering to a level above the current one is an `irql-lower-invalid` violation; the
    ///   IRQL is then left unchanged.
    public static func lower(to level: IRQL, fileID: StaticString = #fileID, line: UInt = #line) {
        lower(to: level, at: CallSite(fileID, line))
    }

    /// ``lower(to:fileID:line:)`` for a lock routine, which has its caller's site as a ``CallSite``.
    @usableFromInline
    package static func lower(to level: IRQL, at site: CallSite) {
        let thread = ThreadState.current
        let old = thread.irql
        guard level <= old else {
            #if Validation
                LockValidator.record(
                    .irqlLowerInvalid, summary: "IRQL.lower(to: \(level)) called at \(old), a lower level",
                    site: site.site)
            #endif
            return
        }
        thread.lowerIRQL(to: level)
    }
}

/// Declares that the calling code is pageable (`PAGED_CODE()`): it may touch paged memory and so must
/// run at or below APC_LEVEL.
///
/// Above APC_LEVEL this is a `pageable-at-raised-irql` violation (bug checks 0xA and 0xD1 on Windows).
public func pageableCode(fileID: StaticString = #fileID, line: UInt = #line) {
    #if Validation
        let irql = IRQL.current
        if irql > .apc {
            LockValidator.record(
                .pageableAtRaisedIRQL, summary: "pageable code called at \(irql); it must run at or below APC_LEVEL",
                site: .source(SourceSite(fileID, line)))
        }
    #endif
}

/// Declares that the calling code may block (wait, sleep, take a sleeping lock), as Linux's
/// `might_sleep()`.
///
/// At DISPATCH_LEVEL or above, or with a spin lock held, this is a `blocking-while-held` violation.
/// With LockValidatorPthreads linked, the C library's calls that block (`usleep`, `poll`, a blocking
/// `read`, …) are checked the same way without this call.
public func mightSleep(fileID: StaticString = #fileID, line: UInt = #line) {
    #if Validation
        let thread = ThreadState.current
        if _slowPath(thread.mustNotBlock) {
            thread.printMightSleepBug(call: nil, at: .source(SourceSite(fileID, line)))
        }
    #endif
}
