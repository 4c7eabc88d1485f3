import LockValidator

#if canImport(Glibc)
    import Glibc
#endif

/// File helpers for the report tools.
public enum LockValidatorFiles {
    /// Writes `text` to `path` atomically; returns a one-line error, or nil.
    public static func write(_ text: String, to path: String) -> String? {
        ReportFileWriting.writeAtomically(text, to: path)
    }

    /// Writes `text` to standard error, unbuffered.
    public static func writeToStandardError(_ text: String) { printToStandardError(text) }

    /// The current directory.
    public static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        return getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "."
    }
}
