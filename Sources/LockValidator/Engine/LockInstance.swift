import Synchronization

/// Serial numbers for lock instances: never reused, so a freed lock's address reused by a new lock
/// is a new instance.
package enum LockInstance {
    package static func next() -> UInt64 { nextInstance.wrappingAdd(1, ordering: .relaxed).oldValue }
}

private let nextInstance = Atomic<UInt64>(1)
