/// Where a lock routine was called, as the caller's `#fileID` and `#line`: carried through the engine as
/// one value of two words, and turned into a ``Site`` only when a report needs it.
///
/// A call the validator sees from outside Swift (an interposed pthread call) has no `#fileID`: its
/// site is the call's return address (a ``CodeSite``), named only when a report shows it.
///
/// Sendable: `file` points at a string literal, immutable for the life of the program.
@frozen @usableFromInline
package struct CallSite: @unchecked Sendable {
    /// The caller's `#fileID` as a C string (a string literal's storage, which lives as long as the
    /// program); empty when `line` is a return address.
    @usableFromInline package let file: UnsafePointer<CChar>
    /// The caller's `#line`, or a return address.
    @usableFromInline package let line: UInt

    /// - Parameter fileID: a `#fileID` literal (a literal always has a pointer representation, so in
    ///   inlined code the check `utf8Start` makes folds away).
    @inlinable
    package init(_ fileID: StaticString, _ line: UInt) {
        self.file = UnsafeRawPointer(fileID.utf8Start).assumingMemoryBound(to: CChar.self)
        self.line = line
    }

    /// The site a held entry or a wait recorded: its `file` and `line` fields.
    init(file: UnsafePointer<CChar>, line: UInt) {
        self.file = file
        self.line = line
    }

    /// The site of a call that returns to `returnAddress`.
    @inlinable
    package init(returnAddress: UInt) {
        self.init("", returnAddress)
    }

    /// Whether `line` is a return address.
    @inlinable
    package var isCodeAddress: Bool { file.pointee == 0 }

    /// The caller's `#fileID`.
    package var fileID: String { String(cString: file) }

    /// ``site``, its file name shared with every other site of its file (``InternedFileIDs``): what a lock
    /// keeps for its whole life.
    package var keptSite: Site {
        isCodeAddress
            ? .code(CodeSite(returnAddress: line))
            : .source(SourceSite(literalFileID: InternedFileIDs.string(at: file), line: line))
    }

    /// The site as reports show it.
    package var site: Site {
        isCodeAddress ? .code(CodeSite(returnAddress: line)) : .source(SourceSite(literalFileID: fileID, line: line))
    }
}
