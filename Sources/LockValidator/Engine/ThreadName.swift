import _LockValidatorShims

/// Thread names as a person reads them. Linux keeps 15 bytes of a thread's name, and libdispatch names
/// its worker threads with the last 15 of their root queue's label, so a Swift Testing test or a
/// `DispatchQueue.global()` work item runs on `"oot.default-qos"`: such a name gets its whole label back.
/// A thread no one named has its creator's name, in the end the executable's (an XCTest process's main
/// thread and every thread it starts: `"LockValidatorPa"` for `LockValidatorPackageTests.xctest`): it gets
/// the executable's whole name back; and a ``ProcessorThread`` its whole given name.
package enum ThreadName {
    /// libdispatch's root queues, whose labels name its worker threads.
    static let rootQueueLabels: [String] = [
        "maintenance", "background", "utility", "default", "user-initiated", "user-interactive",
    ].flatMap { ["com.apple.root.\($0)-qos", "com.apple.root.\($0)-qos.overcommit"] }

    /// The longest name the kernel keeps, in bytes.
    static let kernelLimit = 15

    /// The executable's file name, which the kernel names the main thread by, when longer than it keeps.
    static let executable: String? = {
        guard let path = CommandLine.arguments.first,
            let name = path.split(separator: "/").last.map(String.init), name.utf8.count > kernelLimit
        else { return nil }
        return name
    }()

    /// The whole names given to threads that are running (``ProcessorThread``), by pthread handle, when
    /// longer than the kernel keeps.
    private static let given = InternalLock([UInt: String]())

    /// Keeps `name` as the calling thread's whole name while it runs (until ``forgetGivenName()``).
    static func keepGivenName(_ name: String) {
        guard name.utf8.count > kernelLimit else { return }
        let handle = lv_thread_handle()
        given.withLock { $0[handle] = name }
    }

    static func forgetGivenName() {
        let handle = lv_thread_handle()
        given.withLock { _ = $0.removeValue(forKey: handle) }
    }

    /// `name` (of the thread whose pthread handle is `handle`), or the whole name it is the kernel's cut
    /// of: the name given to that thread, the root queue label it is the end of (when only one label ends
    /// so: the overcommit queues' names, `-qos.overcommit`, are left as they are), or the executable's.
    package static func readable(_ name: String, handle: UInt? = nil) -> String {
        // Only a name the kernel cut can be longer: looked at first, since a thread's description is made
        // on the validator's new-edge path.
        guard name.utf8.count == kernelLimit else { return name }
        if let handle, let whole = given.withLock({ $0[handle] }), whole.utf8.starts(with: name.utf8) {
            return whole
        }
        if name.utf8.last == UInt8(ascii: "s") {
            let labels = rootQueueLabels.filter { $0.hasSuffix(name) && $0 != name }
            if labels.count == 1 { return labels[0] }
        }
        if let executable, executable.utf8.starts(with: name.utf8) { return executable }
        return name
    }
}
