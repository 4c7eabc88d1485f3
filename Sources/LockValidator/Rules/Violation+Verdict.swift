extension Violation {
    /// Whether this violation fails a test or process when `failOn` decides which cycles do: all do but a
    /// `lock-order-inversion` whose verdict is cannot-deadlock under ``Configuration/FailOn/canDeadlock``.
    public func fails(under failOn: Configuration.FailOn) -> Bool {
        guard rule == .lockOrderInversion, failOn == .canDeadlock, let verdict else { return true }
        return verdict.canDeadlock
    }

    /// Whether this violation fails its test and the process: under its test's own setting (``failOn``)
    /// when it had one, else under `configured` (`LOCKVALIDATOR_FAIL_ON`).
    package func fails(underItsSettingOr configured: Configuration.FailOn) -> Bool {
        fails(under: failOn ?? configured)
    }

    /// The same violation decided under a test's own `failOn`: its severity (a warning in every output
    /// when it does not fail), kept for the exit status and the report files.
    package func decided(underTestSetting failOn: Configuration.FailOn) -> Violation {
        var copy = self
        copy.failOn = failOn
        copy.severity = copy.fails(under: failOn) ? rule.severity : .warning
        return copy
    }
}
