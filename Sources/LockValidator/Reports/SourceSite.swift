/// A line of Swift source: the `#fileID` and `#line` of a call.
///
/// Its preconditions are swift-testing's `SourceLocation`'s, so that every source site converts to one.
public struct SourceSite: Hashable, Sendable, CustomStringConvertible {
    /// The module-qualified file, `Module/File.swift`.
    public let fileID: String
    /// The line, from 1.
    public let line: UInt

    /// - Precondition: `fileID` is `Module/File.swift` (not empty, with a slash) and `line` is at least 1.
    public init(fileID: String, line: UInt) {
        precondition(Self.isValid(fileID: fileID, line: line), "\"\(fileID):\(line)\" is not a #fileID and a #line")
        self.fileID = fileID
        self.line = line
    }

    public init(_ fileID: StaticString, _ line: UInt) {
        self.init(fileID: fileID.description, line: line)
    }

    /// A site whose parts came from a `#fileID` literal and its `#line`, which always have the shape the
    /// preconditions ask for: not checked again on the path that interns a new edge's sites.
    package init(literalFileID fileID: String, line: UInt) {
        self.fileID = fileID
        self.line = line
    }

    /// Parses "Module/File.swift:42"; nil for anything else.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let line = UInt(text[text.index(after: colon)...]) else {
            return nil
        }
        let fileID = String(text[..<colon])
        guard Self.isValid(fileID: fileID, line: line) else { return nil }
        self.fileID = fileID
        self.line = line
    }

    private static func isValid(fileID: String, line: UInt) -> Bool {
        line >= 1 && fileID.contains("/") && !fileID.hasPrefix("/") && !fileID.hasSuffix("/")
    }

    /// The file's name, `File.swift`.
    public var fileName: String { fileID.split(separator: "/").last.map(String.init) ?? fileID }

    /// The module, `Module`.
    public var moduleName: String { fileID.split(separator: "/").first.map(String.init) ?? fileID }

    /// "File.swift:42", as code sites and Swift Testing show a line: one way in a report.
    public var description: String { "\(fileName):\(line)" }

    /// "Module/File.swift:42": how report files and stores write it, which ``init(_:)`` reads.
    public var text: String { "\(fileID):\(line)" }
}
