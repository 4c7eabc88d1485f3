/// What confirmation mode (`LOCKVALIDATOR_CONFIRM`, <doc:ConfirmingDeadlocks>) found of one cycle: on a
/// `lock-order-inversion`, whether the cycle formed for real in this process (*confirmed*) or not
/// (*predicted*: it did not form while the schedule was steered, which does not make it impossible); on
/// a `deadlock` found in that mode, *confirmed*. Apart from the verdict (can or cannot deadlock): this says
/// what the steered run saw, not what the orders allow.
public struct CycleConfirmation: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// The threads blocked on each other's locks: the watchdog saw the deadlock.
        case confirmed
        /// Steered for, within the pause budget, but it did not form.
        case predicted
    }

    public let status: Status
    /// How it formed, one step a line, in time order: the pauses that led to it (which thread was held
    /// back, holding what, before taking what, and which thread took that lock meanwhile), then the waits
    /// of the deadlock. Empty for a cycle that stayed predicted.
    public let interleaving: [String]

    public init(status: Status, interleaving: [String] = []) {
        self.status = status
        self.interleaving = interleaving
    }
}
