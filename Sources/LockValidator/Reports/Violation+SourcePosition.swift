/// A source position a test framework can point an issue at: always valid (a `#fileID`-shaped file id,
/// lines and columns from 1).
package struct SourcePosition: Hashable, Sendable {
    /// `Module/File.swift`.
    package let fileID: String
    /// The file's full path, when known.
    package let filePath: String?
    package let line: Int
    package let column: Int
}

extension Violation {
    /// The call that broke the rule, as a source position: a source site as written (with its file's path
    /// from a stack frame in it), a code site as debug information places it; nil when neither is known.
    package var sourcePosition: SourcePosition? {
        switch site {
        case .source(let source)?:
            let path = stack.symbolicated().compactMap(\.file).first { $0.hasSuffix("/" + source.fileName) }
            return SourcePosition(fileID: source.fileID, filePath: path, line: Int(source.line), column: 1)
        case .code(let code)?:
            let location = code.location
            guard let file = location.file, let fileName = location.fileName, let line = location.line else {
                return nil
            }
            let module = code.address.flatMap(Symbolizer.swiftModule(ofReturnAddress:))
                ?? String(code.module.prefix { $0 != "." })
            return SourcePosition(
                fileID: "\(module.isEmpty ? "?" : module)/\(fileName)", filePath: file, line: line,
                column: location.column ?? 1)
        case nil:
            return nil
        }
    }

    /// The innermost frame of the violation's stack that debug information places, as a source position:
    /// where to point when the violation has no site of its own.
    package var innermostPlacedFrame: SourcePosition? {
        for frame in stack.symbolicated() {
            guard let file = frame.file, let line = frame.line, line >= 1 else { continue }
            let fileName = file.split(separator: "/").last.map(String.init) ?? file
            let module = Symbolizer.swiftModule(ofReturnAddress: frame.address) ?? "?"
            return SourcePosition(fileID: "\(module)/\(fileName)", filePath: file, line: line, column: 1)
        }
        return nil
    }
}
