import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A thread that plays one processor: it starts at PASSIVE_LEVEL with nothing held, carries the
/// `ViolationScope` of the code that started it, and can be joined.
public final class ProcessorThread: @unchecked Sendable {
    private var thread: pthread_t
    private var joined = false

    /// Starts a thread running `body`.
    ///
    /// - Parameter name: the thread name shown in reports, whole (the kernel keeps 15 bytes of it).
    /// - Parameter body: the thread's work.
    public init(name: String? = nil, _ body: @escaping @Sendable () -> Void) {
        let scope = ViolationScope.effective
        // Thread start orders what this thread did before it against the new thread (the verdicts on cycles).
        let clock = HappensBefore.forking()
        let start = Start(name: name) {
            if let clock { HappensBefore.started(after: clock) }
            defer { HappensBefore.exiting() }
            ViolationScope.$current.withValue(scope) {
                body()
                // Inside the scope, so that a thread ending with a lock held fails the code that started it.
                ThreadState.current.checkExit()
            }
        }
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
                if let name = start.name {
                    _ = lv_set_thread_name(name)
                    // The kernel keeps 15 bytes; reports show the whole name.
                    ThreadName.keepGivenName(name)
                }
                start.body()
                if start.name != nil { ThreadName.forgetGivenName() }
                return nil
            }, Unmanaged.passRetained(start).toOpaque())
        precondition(result == 0, "pthread_create failed with error \(result)")
        self.thread = thread
    }

    /// Waits for the thread to finish.
    public func join() {
        guard !joined else { return }
        let result = pthread_join(thread, nil)
        precondition(result == 0, "pthread_join failed with error \(result)")
        HappensBefore.joined(handle: UInt(bitPattern: Int(bitPattern: thread)))
        joined = true
    }

    deinit {
        if !joined { pthread_detach(thread) }
    }

    private final class Start {
        let name: String?
        let body: () -> Void
        init(name: String?, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
