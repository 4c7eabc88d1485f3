import FoundationEssentials

/// Why a report file could not be used: one line for the person at the terminal.
public struct ReportFileError: Error, CustomStringConvertible, Equatable {
    public let description: String

    package init(description: String) { self.description = description }
}

extension ValidationReport {
    /// Reads a report, checking that it is one, and looks up what its processes left to be looked up
    /// (``resolvingDeferredLookUps()``) unless told not to.
    ///
    /// - Throws: ``ReportFileError`` for a missing or unreadable file, text that is not JSON, or a
    ///   schema other than `lockvalidator-report/1`.
    public static func load(
        from path: String, resolvingDeferredLookUps: Bool = true
    ) throws(ReportFileError) -> ValidationReport {
        if let problem = TextFile.whyUnreadable(path) { throw ReportFileError(description: "\(path): \(problem)") }
        guard let bytes = TextFile.bytes(path) else {
            throw ReportFileError(description: "\(path): cannot read the file")
        }
        let report = try decode(Data(bytes), from: path)
        return resolvingDeferredLookUps ? report.resolvingDeferredLookUps() : report
    }

    /// Decodes a report from JSON text read from `path` (used only in messages).
    public static func decode(_ data: Data, from path: String) throws(ReportFileError) -> ValidationReport {
        struct SchemaOnly: Decodable { let schema: String? }
        let decoder = JSONDecoder()
        let schema: String?
        do {
            schema = try decoder.decode(SchemaOnly.self, from: data).schema
        } catch {
            // The decoder does not say where; the syntax check does.
            if let problem = JSONSyntax.firstProblem(in: Array(data)) {
                throw ReportFileError(description: "\(path): \(problem)")
            }
            throw ReportFileError(description: "\(path): not a JSON object (a report is one)")
        }
        guard schema == schemaName else {
            let found = schema.map { "its schema is \"\($0)\"" } ?? "no \"schema\" field"
            throw ReportFileError(
                description: "\(path): not a LockValidator report: \(found) (expected \"\(schemaName)\")")
        }
        do {
            return try decoder.decode(ValidationReport.self, from: data)
        } catch let error as DecodingError {
            throw ReportFileError(description: "\(path): malformed \(schemaName) report (\(error.shortDescription))")
        } catch {
            throw ReportFileError(description: "\(path): malformed \(schemaName) report")
        }
    }
}

extension DecodingError {
    /// Where and what, in a few words; a place is spelled one way in every error, as a path into the JSON
    /// is written in code: `violations[0].thread`, no leading dot.
    var shortDescription: String {
        func path(_ context: Context) -> String {
            let place = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return String(place.dropFirst(place.hasPrefix(".") ? 1 : 0))
        }
        switch self {
        case .keyNotFound(let key, let context):
            let place = path(context)
            return "missing field \"\(key.stringValue)\"" + (place.isEmpty ? "" : " in \(place)")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let place = path(context)
            return (place.isEmpty ? "" : "\(place): ") + context.debugDescription
        @unknown default: return "\(self)"
        }
    }
}
