import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The live threads the validator has seen, so that the spin watchdog can follow a wait-for chain
/// through other threads' state.
///
/// A thread leaves the registry in its exit handler, while its `__thread` state is still valid, and
/// under the registry's lock: so another thread's state may be read inside ``withState(_:_:)`` only.
enum ThreadRegistry {
    struct Entry {
        let state: UnsafeMutablePointer<lv_thread_state>
        let osThreadID: Int64
        let handle: UInt
    }

    private static let threads = InternalLock([UInt32: Entry]())

    static func add(_ state: UnsafeMutablePointer<lv_thread_state>) {
        let entry = Entry(state: state, osThreadID: lv_os_thread_id(), handle: lv_thread_handle())
        threads.withLock { $0[state.pointee.serial] = entry }
    }

    static func remove(_ serial: UInt32) { threads.withLock { $0[serial] = nil } }

    /// Runs `body` with the state of thread `serial` while it cannot exit; nil when it has exited.
    static func withState<Result>(_ serial: UInt32, _ body: (Entry) -> Result) -> Result? {
        threads.withLock { threads in threads[serial].map(body) }
    }

    /// Thread `serial` as reports name threads (`thread 3 "audit" (tid 8762)`), or `thread 3` once it has
    /// exited.
    static func described(_ serial: UInt32) -> String {
        let info = info(serial)
        return info.osThreadID == 0 ? "thread \(serial)" : info.description
    }

    /// A thread's description, read from another thread.
    static func info(_ serial: UInt32) -> ThreadInfo {
        withState(serial) { entry in
            var buffer = [CChar](repeating: 0, count: 32)
            let name =
                lv_thread_name_of(entry.handle, &buffer, buffer.count) == 0
                ? ThreadName.readable(
                    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    handle: entry.handle) : nil
            return ThreadInfo(serial: serial, osThreadID: entry.osThreadID, name: name)
        } ?? ThreadInfo(serial: serial, osThreadID: 0, name: nil)
    }
}
