/// Lock-wrapper code: a pthread lock's Swift wrapper (`NIOLock`'s `LockOperations.lock`, a C library's
/// `my_lock`). An interposed acquire's site is the code that called `pthread_mutex_lock`; in a wrapper,
/// that says less than the wrapper's caller, so where a stack shows the caller, reports show the caller.
/// LockValidatorPthreads, which knows wrapper code, installs the test.
package enum LockWrapperCode {
    /// Whether a return address is wrapper code, and whether it is glue (passed over as wrapper code is).
    private struct Tests {
        let isWrapper: @Sendable (UInt) -> Bool
        let isGlue: @Sendable (UInt) -> Bool

        func passesOver(_ address: UInt) -> Bool { isWrapper(address) || isGlue(address) }
    }

    private static let test = InternalLock<Tests?>(nil)

    /// Return addresses for which `isWrapper` is true are wrapper code from now on; those for which `isGlue`
    /// is true are passed over as wrapper code is: a library's code no symbol names, such as Foundation's
    /// witness thunk between the program's `NSLocking.withLock` and `NSLock.lock` (which tail-calls
    /// `pthread_mutex_lock`, so the thunk is the interposed call's caller).
    package static func recognize(
        with isWrapper: @escaping @Sendable (UInt) -> Bool,
        glue isGlue: @escaping @Sendable (UInt) -> Bool = { _ in false }
    ) {
        test.withLock { $0 = Tests(isWrapper: isWrapper, isGlue: isGlue) }
    }

    /// The first caller outside wrapper code of the code site at return address `address`, along `stack`
    /// (return addresses, innermost first); nil when `address` is not wrapper code or not on the stack.
    static func callerOutside(_ address: UInt, along stack: UnsafeBufferPointer<UInt>) -> UInt? {
        guard let tests = test.withLock({ $0 }), tests.passesOver(address),
            let start = stack.firstIndex(of: address)
        else { return nil }
        return stack[(start + 1)...].first { !tests.passesOver($0) }
    }

    /// Held locks as reports show them: each acquired in wrapper code at its first caller outside it on
    /// `stack`, the thread's (innermost first). The oldest hold is matched to the outermost frame: two
    /// nested `DispatchQueue.sync`s acquire at one return address, and each has its own frame.
    static func sitesOutside(_ held: [HeldLockInfo], along stack: [UInt]) -> [HeldLockInfo] {
        guard let tests = test.withLock({ $0 }) else { return held }
        var end = stack.endIndex  // holds newer than the last one matched are inside its frame
        return held.map { hold in
            guard case .code(let code) = hold.acquiredAt, let address = code.address, tests.passesOver(address),
                let frame = stack[..<end].lastIndex(of: address),
                let caller = stack[(frame + 1)...].first(where: { !tests.passesOver($0) })
            else { return hold }
            end = frame
            return HeldLockInfo(
                lock: hold.lock, acquiredAt: .code(CodeSite(returnAddress: caller)), irql: hold.irql, kind: hold.kind)
        }
    }

    /// `site` as reports show it: for a code site in wrapper code on `stack`, its first caller outside it.
    static func siteOutside(_ site: Site?, along stack: [UInt]) -> Site? {
        guard case .code(let code)? = site, let address = code.address else { return site }
        let lifted = stack.withUnsafeBufferPointer { callerOutside(address, along: $0) }
        return lifted.map { .code(CodeSite(returnAddress: $0)) } ?? site
    }

    /// An edge's held site (`site`) as reports show it, along the stack of the acquire of `acquired`. When
    /// both were acquired at one return address (two nested `DispatchQueue.sync`s) the innermost frame with
    /// it is the newer acquire's, so the held lock's is looked for outward of it; where the stack has no
    /// second such frame (a wrapper that returned once it had the lock), as `siteOutside`.
    static func heldSiteOutside(_ site: Site?, acquiring acquired: Site?, along stack: [UInt]) -> Site? {
        guard case .code(let code)? = site, let address = code.address, case .code(let newer)? = acquired,
            newer.address == address, let inner = stack.firstIndex(of: address),
            stack[(inner + 1)...].contains(address)
        else { return siteOutside(site, along: stack) }
        let lifted = stack[(inner + 1)...].withUnsafeBufferPointer { callerOutside(address, along: $0) }
        return lifted.map { .code(CodeSite(returnAddress: $0)) } ?? site
    }
}
