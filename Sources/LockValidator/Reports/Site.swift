/// Where something happened: a line of Swift source (a lock routine's `#fileID` and `#line`), or a
/// place in machine code (a call the validator intercepted, such as an interposed `pthread_mutex_lock`).
///
/// In JSON a source site is the string `"Module/File.swift:42"`; a code site is an object with its
/// image, address and whatever was looked up about it (`function`, `file`, `line`, `column`).
public enum Site: Hashable, Sendable, CustomStringConvertible {
    case source(SourceSite)
    /// Boxed: a code site is larger than a source site, and every lock keeps its init site.
    indirect case code(CodeSite)

    /// The source site `fileID:line`.
    ///
    /// - Precondition: as ``SourceSite/init(fileID:line:)``'s.
    public static func source(fileID: String, line: UInt) -> Site { .source(SourceSite(fileID: fileID, line: line)) }

    /// The source site, if it is one.
    public var source: SourceSite? {
        if case .source(let site) = self { return site }
        return nil
    }

    /// The code site, if it is one.
    public var code: CodeSite? {
        if case .code(let site) = self { return site }
        return nil
    }

    /// "File.swift:42", or a code site as ``CodeSite/description`` shows it (its file and line, when known).
    public var description: String {
        switch self {
        case .source(let site): return site.description
        case .code(let site): return site.description
        }
    }

    /// The source file's name (`File.swift`) and line, when known.
    public var fileNameAndLine: (fileName: String, line: Int)? {
        switch self {
        case .source(let site): return (site.fileName, Int(site.line))
        case .code(let site):
            let location = site.location
            guard let fileName = location.fileName, let line = location.line else { return nil }
            return (fileName, line)
        }
    }

    /// What stays when lines move: the file and the function, without the line (`Cache.swift in Cache.init`,
    /// `Driver/Queue.swift`), for fingerprints that survive an edit above the site.
    public var lineIndependentKey: String {
        switch self {
        case .source(let site): return site.fileID
        case .code(let site):
            let location = site.location
            if let fileName = location.fileName {
                return fileName + (location.function.map { " in \($0)" } ?? "")
            }
            return location.function ?? "\(site.module)+0x\(String(site.moduleAddress, radix: 16))"
        }
    }
}

extension Site: Codable {
    private enum CodeSiteKeys: String, CodingKey { case module, address, function, offset, file, line, column }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            guard let site = Site(text: text) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "\"\(text)\" is not a site (\"Module/File.swift:42\")"))
            }
            self = site
            return
        }
        let container = try decoder.container(keyedBy: CodeSiteKeys.self)
        let hex = try container.decode(String.self, forKey: .address)
        guard hex.hasPrefix("0x"), let address = UInt(hex.dropFirst(2), radix: 16) else {
            throw DecodingError.dataCorruptedError(
                forKey: .address, in: container, debugDescription: "address \"\(hex)\" is not 0x-prefixed hex")
        }
        self = .code(
            CodeSite(
                module: try container.decode(String.self, forKey: .module), moduleAddress: address,
                location: .init(
                    function: try container.decodeIfPresent(String.self, forKey: .function),
                    functionOffset: try container.decodeIfPresent(UInt.self, forKey: .offset),
                    file: try container.decodeIfPresent(String.self, forKey: .file),
                    line: try container.decodeIfPresent(Int.self, forKey: .line),
                    column: try container.decodeIfPresent(Int.self, forKey: .column))))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .source(let site):
            var container = encoder.singleValueContainer()
            try container.encode(site.text)
        case .code(let site):
            var container = encoder.container(keyedBy: CodeSiteKeys.self)
            let location = site.location
            try container.encode(site.module, forKey: .module)
            try container.encode("0x" + String(site.moduleAddress, radix: 16), forKey: .address)
            try container.encodeIfPresent(location.function, forKey: .function)
            try container.encodeIfPresent(location.functionOffset, forKey: .offset)
            try container.encodeIfPresent(location.file, forKey: .file)
            try container.encodeIfPresent(location.line, forKey: .line)
            try container.encodeIfPresent(location.column, forKey: .column)
        }
    }

    /// A site written as text: "Module/File.swift:42"; or, as reports before sites had two kinds wrote a
    /// code site, `function+0x2f` (kept as a code site that knows its function only).
    init?(text: String) {
        if let source = SourceSite(text) {
            self = .source(source)
            return
        }
        let parts = text.split(separator: "+0x", omittingEmptySubsequences: false)
        guard parts.count >= 2, let offset = UInt(parts.last!, radix: 16), !parts[0].isEmpty else { return nil }
        let function = parts.dropLast().joined(separator: "+0x")
        self = .code(
            CodeSite(module: text, moduleAddress: 0, location: .init(function: function, functionOffset: offset)))
    }
}
