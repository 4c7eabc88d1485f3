import FoundationEssentials

/// Why a report file could not be used: one line for the person at the terminal.
public struct ReportFileError: Error, CustomStringConvertible, Equatable {
    public let description: String

    package init(description: String) { self.description = description }
}

extension ValidationReport {
    /// Reads a report, checking that it is one.
    ///
    /// - Throws: ``ReportFileError`` for a missing or unreadable file, text that is not JSON, or a
    ///   schema other than `lockvalidator-report/1`.
    public static func load(from path: String) throws(ReportFileError) -> ValidationReport {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ReportFileError(description: "\(path): cannot read the file (missing or unreadable)")
        }
        return try decode(data, from: path)
    }

    /// Decodes a report from JSON text read from `path` (used only in messages).
    public static func decode(_ data: Data, from path: String) throws(ReportFileError) -> ValidationReport {
        struct SchemaOnly: Decodable { let schema: String? }
        let decoder = JSONDecoder()
        let schema: String?
        do {
            schema = try decoder.decode(SchemaOnly.self, from: data).schema
        } catch {
            throw ReportFileError(description: "\(path): not a JSON object")
        }
        guard schema == schemaName else {
            let found = schema.map { "\"\($0)\"" } ?? "no \"schema\" field"
            throw ReportFileError(description: "\(path): schema \(found) is not \"\(schemaName)\"")
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
    /// Where and what, in a few words.
    var shortDescription: String {
        func path(_ context: Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
