extension Violation {
    /// Whether this violation fails a test or process when `failOn` decides which cycles do: all do but a
    /// `lock-order-inversion` whose verdict is cannot-deadlock under ``Configuration/FailOn/canDeadlock``.
    public func fails(under failOn: Configuration.FailOn) -> Bool {
        guard rule == .lockOrderInversion, failOn == .canDeadlock, let verdict else { return true }
        return verdict.canDeadlock
    }
}
