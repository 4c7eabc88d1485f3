/// Thread names as a person reads them. Linux keeps 15 bytes of a thread's name, and libdispatch names
/// its worker threads with the last 15 of their root queue's label, so a Swift Testing test or a
/// `DispatchQueue.global()` work item runs on `"oot.default-qos"`: such a name gets its whole label back.
package enum ThreadName {
    /// libdispatch's root queues, whose labels name its worker threads.
    static let rootQueueLabels: [String] = [
        "maintenance", "background", "utility", "default", "user-initiated", "user-interactive",
    ].flatMap { ["com.apple.root.\($0)-qos", "com.apple.root.\($0)-qos.overcommit"] }

    /// The longest name the kernel keeps, in bytes.
    static let kernelLimit = 15

    /// `name`, or the root queue label it is the truncated end of (when only one label ends so: the
    /// overcommit queues' names, `-qos.overcommit`, are left as they are).
    package static func readable(_ name: String) -> String {
        // Only a name ending in "-qos" can get a label back (the overcommit labels share their end): looked
        // at first, since a thread's description is made on the validator's new-edge path.
        guard name.utf8.count == kernelLimit, name.utf8.last == UInt8(ascii: "s") else { return name }
        let labels = rootQueueLabels.filter { $0.hasSuffix(name) && $0 != name }
        return labels.count == 1 ? labels[0] : name
    }
}
