/// Where a lock routine was called, as the caller's `#fileID` and `#line`: carried through the engine as
/// one value, and turned into a ``SourceSite`` (a `String`) only when a report needs it.
@frozen @usableFromInline
package struct CallSite: Sendable {
    @usableFromInline package let fileID: StaticString
    @usableFromInline package let line: UInt

    @inlinable
    package init(_ fileID: StaticString, _ line: UInt) {
        self.fileID = fileID
        self.line = line
    }

    /// The site as reports show it.
    package var sourceSite: SourceSite { SourceSite(fileID, line) }
}
