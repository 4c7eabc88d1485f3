/// `#fileID` strings by their literal's address, each made once and then shared: every lock keeps its
/// init site, and a program that makes a lock per connection kept a copy of its file's name per lock
/// (80 bytes of a 40-character name).
enum InternedFileIDs {
    private static let strings = InternalLock([UnsafePointer<CChar>: String]())

    /// The `#fileID` at `file`, a string literal's storage.
    static func string(at file: UnsafePointer<CChar>) -> String {
        strings.withLock { strings in
            if let known = strings[file] { return known }
            let made = String(cString: file)
            strings[file] = made
            return made
        }
    }
}
