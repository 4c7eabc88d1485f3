/// A report format.
public enum ReportFormat: Sendable {
    /// Plain text modelled on lockdep's reports.
    case text
    /// JSON, schema `lockvalidator-report/1`.
    case json
}
