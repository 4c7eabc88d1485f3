/// Where a lock routine was called, as the caller's `#fileID` and `#line`: carried through the engine as
/// one value, and turned into a ``SourceSite`` (a `String`) only when a report needs it.
///
/// A call the validator sees from outside Swift (an interposed pthread call) has no `#fileID`: its
/// site is the call's return address, named from the symbol table only when a report needs it.
@frozen @usableFromInline
package struct CallSite: Sendable {
    /// The caller's `#fileID`; empty when `line` is a return address.
    @usableFromInline package let fileID: StaticString
    /// The caller's `#line`, or a return address.
    @usableFromInline package let line: UInt

    @inlinable
    package init(_ fileID: StaticString, _ line: UInt) {
        self.fileID = fileID
        self.line = line
    }

    /// The site of a call that returns to `returnAddress`.
    @inlinable
    package init(returnAddress: UInt) {
        self.fileID = ""
        self.line = returnAddress
    }

    /// Whether `line` is a return address.
    @inlinable
    package var isCodeAddress: Bool { fileID.utf8CodeUnitCount == 0 }

    /// The site as reports show it.
    package var sourceSite: SourceSite { isCodeAddress ? SourceSite(codeAddress: line) : SourceSite(fileID, line) }
}
