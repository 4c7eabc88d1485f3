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
    }

    struct Location: Encodable {
        let physicalLocation: PhysicalLocation
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

    struct Region: Encodable { let startLine: Int }
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
        func location(_ site: SourceSite?, stack: StackTrace?, message: String? = nil) -> Sarif.Location? {
            guard let site else { return nil }
            var uri = site.fileID
            var base: String? = nil
            // The frame that made the call names the real file.
            let basename = site.fileID.split(separator: "/").last.map(String.init) ?? site.fileID
            if let file = stack?.symbolicated().first(where: { $0.file?.hasSuffix("/" + basename) == true })?.file {
                if let root, file.hasPrefix(root) {
                    uri = String(file.dropFirst(root.count))
                    base = "SRCROOT"
                } else {
                    uri = file.hasPrefix("/") ? "file://" + file : file
                }
            }
            return Sarif.Location(
                physicalLocation: .init(
                    artifactLocation: .init(uri: uri, uriBaseId: base), region: .init(startLine: Int(site.line))),
                message: message.map { .init(text: $0) })
        }
        let results = violations.map { violation -> Sarif.Result in
            let related = violation.edges.compactMap { edge in
                location(
                    edge.toAcquiredAt, stack: edge.stack,
                    message: "\"\(edge.to.name)\" acquired while holding \"\(edge.from.name)\"")
            }
            return Sarif.Result(
                ruleId: violation.rule.rawValue, ruleIndex: rules.firstIndex(of: violation.rule)!,
                level: violation.severity == .error ? "error" : "warning", message: .init(text: violation.summary),
                locations: location(violation.site, stack: violation.stack).map { [$0] } ?? [],
                relatedLocations: related.isEmpty ? nil : related, occurrenceCount: violation.occurrences,
                partialFingerprints: ["lockValidatorIdentity/v1": violation.identity])
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
                originalUriBaseIds: root.map { ["SRCROOT": .init(uri: "file://" + $0, uriBaseId: nil)] })
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(log), as: UTF8.self)).map { $0 + "\n" } ?? "{}\n"
    }
}
