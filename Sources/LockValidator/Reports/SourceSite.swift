/// A place in the source: the `#fileID` and `#line` of a call.
public struct SourceSite: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The module-qualified file, `Module/File.swift`.
    public let fileID: String
    public let line: UInt

    public init(fileID: String, line: UInt) {
        self.fileID = fileID
        self.line = line
    }

    /// Parses "Module/File.swift:42".
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let line = UInt(text[text.index(after: colon)...]) else {
            return nil
        }
        self.init(fileID: String(text[..<colon]), line: line)
    }

    /// Written as "Module/File.swift:42".
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let site = SourceSite(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not File:line")
        }
        self = site
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("\(fileID):\(line)")
    }

    public init(_ fileID: StaticString, _ line: UInt) {
        self.fileID = fileID.description
        self.line = line
    }

    /// The code at a return address, as the symbol table names it: `function+0x1c` (line 0), for a
    /// call that has no `#fileID` (an interposed pthread call).
    package init(codeAddress: UInt) {
        let resolved = Symbolizer.resolve([codeAddress], locations: false)[codeAddress]
        if let name = resolved?.name {
            self.init(fileID: "\(Symbolizer.shortName(name))+0x\(String(resolved?.offset ?? 0, radix: 16))", line: 0)
        } else {
            self.init(fileID: "0x\(String(codeAddress, radix: 16))", line: 0)
        }
    }

    /// "Module/File.swift:42"; a code address's site (line 0) is its name alone.
    public var description: String { line == 0 && fileID.contains("+0x") ? fileID : "\(fileID):\(line)" }
}
