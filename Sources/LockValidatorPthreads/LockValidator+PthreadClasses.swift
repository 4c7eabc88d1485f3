import LockValidator
import _LockValidatorInterpose
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension LockValidator {
    /// Runs `body`; every pthread lock it creates — an `NSLock()`, a `NIOLock()`, a mutex a C library
    /// initialises — belongs to lock class `name` instead of the class of its init site.
    ///
    /// ```swift
    /// let accounts = LockValidator.withLockClass("Bank.accounts") { NIOLockedValueBox([Account]()) }
    /// ```
    ///
    /// - Parameters:
    ///   - name: the class name reports use.
    ///   - nesting: the nesting subclass (1...7) every acquire of these locks uses, for a lock that is
    ///     taken inside another lock of the same class by design (a child under its parent), as lockdep's
    ///     `lockdep_set_subclass`; 0 for none.
    ///   - body: the code that creates the locks.
    public static func withLockClass<Result>(_ name: String, nesting: Int = 0, _ body: () throws -> Result) rethrows
        -> Result
    {
        precondition((0...7).contains(nesting), "nesting level \(nesting) is outside 0...7")
        return try PthreadLockClasses.$naming.withValue(PthreadLockClasses.Naming(name: name, nesting: nesting)) {
            try body()
        }
    }

    /// Puts the pthread mutex at `mutex` in lock class `name`; call it after `pthread_mutex_init`, before
    /// the mutex is first locked.
    ///
    /// - Parameters:
    ///   - name: the class name reports use.
    ///   - nesting: the nesting subclass (0...7) every acquire of the mutex uses.
    ///   - mutex: the mutex.
    public static func setClassName(_ name: String, nesting: Int = 0, for mutex: UnsafeMutablePointer<pthread_mutex_t>)
    {
        setClassName(name, nesting: nesting, of: UnsafeRawPointer(mutex), kind: .init(lv_pthreads_mutex_type(mutex)))
    }

    /// Puts the pthread reader–writer lock at `rwlock` in lock class `name`; call it after
    /// `pthread_rwlock_init`, before the lock is first taken.
    public static func setClassName(
        _ name: String, nesting: Int = 0, for rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    ) {
        setClassName(name, nesting: nesting, of: UnsafeRawPointer(rwlock), kind: .init(lv_pthreads_rwlock_type(rwlock)))
    }

    private static func setClassName(_ name: String, nesting: Int, of address: UnsafeRawPointer, kind: PthreadLock.Kind)
    {
        precondition((0...7).contains(nesting), "nesting level \(nesting) is outside 0...7")
        guard lv_pthreads_active() != 0 else { return }
        lv_enter_validator()
        defer { lv_leave_validator() }
        let existing = lv_pthreads_object(address)
        let site =
            existing.flatMap { PthreadLock.borrowing($0) { $0.tracking.initSite } }
            ?? .code(CodeSite(returnAddress: PthreadLockClasses.creatingCode().frame))
        let object = PthreadLock.make(
            kind: existing.map { PthreadLock.borrowing($0) { $0.kind } } ?? kind,
            of: LockClass.named(name, site: site, isInterposed: true), site: site, nesting: nesting, address: address)
        // The interposer's table keeps it, and destroys the one it replaces.
        lv_pthreads_set_object(address, object)
    }
}
