/// How bad a violation is.
public enum Severity: String, Sendable, Codable {
    /// A bug that deadlocks, corrupts or crashes on a real system.
    case error
    /// A risk or a budget overrun.
    case warning
}
