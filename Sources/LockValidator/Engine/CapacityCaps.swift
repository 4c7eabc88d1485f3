import Synchronization

/// The table caps, readable on the new-edge path without taking the configuration lock.
final class CapacityCaps: Sendable {
    private let classes = Atomic(Configuration.Capacity().classes)
    private let edges = Atomic(Configuration.Capacity().edges)
    private let chains = Atomic(Configuration.Capacity().chains)
    private let stacks = Atomic(Configuration.Capacity().stacks)

    func apply(_ capacity: Configuration.Capacity) {
        classes.store(capacity.classes, ordering: .relaxed)
        edges.store(capacity.edges, ordering: .relaxed)
        chains.store(capacity.chains, ordering: .relaxed)
        stacks.store(capacity.stacks, ordering: .relaxed)
    }

    var capacity: Configuration.Capacity {
        ConfigurationStore.ensureLoaded()  // the environment is read first
        var capacity = Configuration.Capacity()
        capacity.classes = classes.load(ordering: .relaxed)
        capacity.edges = edges.load(ordering: .relaxed)
        capacity.chains = chains.load(ordering: .relaxed)
        capacity.stacks = stacks.load(ordering: .relaxed)
        return capacity
    }
}

let currentCapacity = CapacityCaps()
