import FoundationEssentials
import LockValidator

/// SARIF 2.1.0, the format CI code scanning reads: one result per violation, located at the call that
/// broke the rule, with the other sites of a cycle as related locations.
public enum Sarif {
    public static let version = "2.1.0"
    public static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"

    struct Log: Encodable {
        let schema = Sarif.schemaURI
        let version = Sarif.version
        let runs: [Run]
        enum CodingKeys: String, CodingKey { case schema = "$schema", version, runs }
    }

    struct Run: Encodable {
        let tool: Tool
        let results: [Result]
        let originalUriBaseIds: [String: ArtifactLocation]?
    }

    struct Tool: Encodable { let driver: Driver }

    struct Driver: Encodable {
        let name = "LockValidator"
        let informationUri = "https://github.com/lockvalidator/lockvalidator"
        let rules: [ReportingDescriptor]
    }

    struct ReportingDescriptor: Encodable {
        let id: String
        let shortDescription: Message
        let fullDescription: Message
        let defaultConfiguration: Configuration
        struct Configuration: Encodable { let level: String }
    }

    struct Message: Encodable { let text: String }

    struct Result: Encodable {
        let ruleId: String
        let ruleIndex: Int
        let level: String
        let message: Message
        let locations: [Location]
        let relatedLocations: [Location]?
        let occurrenceCount: Int
        let partialFingerprints: [String: String]
        /// What is not SARIF's own: a `lock-order-inversion`'s verdict, and confirmation mode's finding on a cycle.
        let properties: Properties?
    }

    struct Properties: Encodable {
        /// Nil when the violation has neither.
        init?(_ violation: Violation) {
            guard violation.verdict != nil || violation.confirmation != nil else { return nil }
            verdict = violation.verdict
            confirmation = violation.confirmation?.status.rawValue
            interleaving = violation.confirmation.flatMap { $0.interleaving.isEmpty ? nil : $0.interleaving }
        }

        /// For a `lock-order-inversion`: its verdict.
        let verdict: CycleVerdict?
        /// `confirmed` or `predicted`.
        let confirmation: String?
        let interleaving: [String]?
    }

    struct Location: Encodable {
        let physicalLocation: PhysicalLocation?
        let logicalLocations: [LogicalLocation]?
        let message: Message?
    }

    struct PhysicalLocation: Encodable {
        let artifactLocation: ArtifactLocation
        let region: Region
    }

    struct ArtifactLocation: Encodable {
        let uri: String
        let uriBaseId: String?
    }

    struct Region: Encodable {
        let startLine: Int
        let startColumn: Int?
    }

    /// Code without a source line (a stripped library's function): named, not placed.
    struct LogicalLocation: Encodable {
        let name: String
        let fullyQualifiedName: String?
        let kind: String
    }

    /// `path` as a URI reference: each segment percent-encoded (RFC 3986), an absolute path as a `file:` URI.
    static func uri(path: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/".utf8)
        var encoded = ""
        for byte in path.utf8 {
            if unreserved.contains(byte) {
                encoded.append(Character(UnicodeScalar(byte)))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension ValidationReport {
    /// The report as a SARIF 2.1.0 log.
    ///
    /// - Parameter sourceRoot: the directory file paths are made relative to (the repository root);
    ///   source files are found through the stacks' debug information where llvm-symbolizer named
    ///   them, else the `#fileID` is used as written.
    public func sarif(sourceRoot: String?) -> String {
        let rules = Rule.allCases
        let root = sourceRoot.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        func artifact(_ path: String) -> Sarif.ArtifactLocation {
            if let root, path.hasPrefix(root) {
                return .init(uri: Sarif.uri(path: String(path.dropFirst(root.count))), uriBaseId: "SRCROOT")
            }
            return .init(uri: Sarif.uri(path: path), uriBaseId: nil)
        }
        func location(_ site: Site?, stack: StackTrace?, message: String? = nil) -> Sarif.Location? {
            let message = message.map { Sarif.Message(text: $0) }
            switch site {
            case .source(let source)?:
                // The frame that made the call names the real file.
                let file = stack?.symbolicated().first { $0.file?.hasSuffix("/" + source.fileName) == true }?.file
                return Sarif.Location(
                    physicalLocation: .init(
                        artifactLocation: file.map(artifact) ?? .init(uri: Sarif.uri(path: source.fileID), uriBaseId: nil),
                        region: .init(startLine: Int(source.line), startColumn: nil)),
                    logicalLocations: nil, message: message)
            case .code(let code)?:
                let place = code.location
                if let file = place.file, let line = place.line {
                    return Sarif.Location(
                        physicalLocation: .init(
                            artifactLocation: artifact(file), region: .init(startLine: line, startColumn: place.column)),
                        logicalLocations: place.function.map { [.init(name: $0, fullyQualifiedName: nil, kind: "function")] },
                        message: message)
                }
                return Sarif.Location(
                    physicalLocation: nil,
                    logicalLocations: [.init(name: code.description, fullyQualifiedName: nil, kind: "function")],
                    message: message)
            case nil:
                return nil
            }
        }
        let fingerprints = Violation.fingerprints(violations)
        let results = zip(violations, fingerprints).map { violation, fingerprint -> Sarif.Result in
            let related = violation.edges.compactMap { edge in
                location(
                    edge.toAcquiredAt, stack: edge.stack,
                    message: "\"\(edge.to.name)\" acquired while holding \"\(edge.from.name)\"")
            }
            return Sarif.Result(
                ruleId: violation.rule.rawValue, ruleIndex: rules.firstIndex(of: violation.rule)!,
                level: violation.severity == .error ? "error" : "warning",
                message: .init(text: violation.summary + (violation.verdict.map { " (verdict: \($0))" } ?? "")),
                locations: location(violation.site, stack: violation.stack).map { [$0] } ?? [],
                relatedLocations: related.isEmpty ? nil : related, occurrenceCount: violation.occurrences,
                partialFingerprints: ["lockValidatorIdentity/v2": fingerprint],
                properties: Sarif.Properties(violation))
        }
        let descriptors = rules.map {
            Sarif.ReportingDescriptor(
                id: $0.rawValue, shortDescription: .init(text: $0.headline),
                fullDescription: .init(text: "\($0.explanation) (\($0.anchor))"),
                defaultConfiguration: .init(level: $0.severity.rawValue))
        }
        let log = Sarif.Log(runs: [
            Sarif.Run(
                tool: .init(driver: .init(rules: descriptors)), results: results,
                originalUriBaseIds: root.map { ["SRCROOT": .init(uri: Sarif.uri(path: $0), uriBaseId: nil)] })
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(log), as: UTF8.self)).map { $0 + "\n" } ?? "{}\n"
    }
}
