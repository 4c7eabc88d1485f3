#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Whole text files: read at once, written atomically.
package enum TextFile {
    /// Why the file at `path` cannot be read as a file, in a few words (missing, a directory, not allowed);
    /// nil when it can.
    package static func whyUnreadable(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return "cannot read it: \(String(cString: strerror(errno)))" }
        if status.st_mode & S_IFMT == S_IFDIR { return "is a directory, not a file" }
        guard access(path, R_OK) == 0 else { return "cannot read it: \(String(cString: strerror(errno)))" }
        return nil
    }

    /// The contents of the file at `path`, or nil when it cannot be read.
    package static func read(_ path: String) -> String? {
        bytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of the file at `path`, or nil when it cannot be read: one buffer of the file's size
    /// (a store of 100,000 orders is megabytes), grown only if the file grows while it is read.
    package static func bytes(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var status = stat()
        let size = fstat(fileno(file), &status) == 0 ? Int(status.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: max(size, 0) + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes += [UInt8](repeating: 0, count: max(bytes.count, 65_536)) }
            let read = bytes.withUnsafeMutableBufferPointer { buffer in
                fread(buffer.baseAddress! + count, 1, buffer.count - count, file)
            }
            count += read
            if read == 0 { break }
        }
        guard ferror(file) == 0 else { return nil }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// Whether `path` may be written over by a file whose kind `marker` names (`lockvalidator-report/`,
    /// `lockvalidator-graph/`): nothing is there, it is empty, or it holds the marker. A file that is not
    /// one of ours is never overwritten.
    package static func mayReplace(_ path: String, holding marker: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return true }
        guard status.st_mode & S_IFMT == S_IFREG else { return false }
        guard status.st_size > 0, let text = read(path) else { return status.st_size == 0 }
        return text.contains(marker)
    }

    /// Writes `text` to `path` atomically: a temporary file beside it, flushed, then renamed over it,
    /// so a crash mid-write never leaves half a file.
    package static func writeAtomically(_ text: String, to path: String) throws(FileWriteError) {
        try writeAtomically(bytes: Array(text.utf8), to: path)
    }

    /// Writes `bytes` to `path` atomically, as ``writeAtomically(_:to:)``. Temporary files that writers
    /// killed mid-write left beside it are removed first.
    package static func writeAtomically(bytes: [UInt8], to path: String) throws(FileWriteError) {
        removeTemporariesOfDeadWriters(beside: path)
        let temporary = "\(path).tmp-\(getpid())"
        guard let file = fopen(temporary, "wb") else { throw FileWriteError(path: temporary, step: .create) }
        let written = fwrite(bytes, 1, bytes.count, file)
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == bytes.count, flushed else {
            let error = FileWriteError(path: temporary, step: .write)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = FileWriteError(path: temporary, step: .rename(to: path))
            unlink(temporary)
            throw error
        }
    }
}

extension TextFile {
    /// Removes `<path>.tmp-<pid>` files whose process no longer runs: a writer killed between creating its
    /// temporary file and renaming it (a store's is megabytes).
    static func removeTemporariesOfDeadWriters(beside path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + ".tmp-"
        guard let stream = opendir(directory.isEmpty ? "/" : directory) else { return }
        defer { closedir(stream) }
        // A name is read where the record holds it, up to its NUL: a record is only as long as its name, and
        // copying the struct's 256-byte d_name reads past the last record of glibc's buffer (a crash at a
        // page's end, with enough files in the directory).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let entry = readdir(stream) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(directory)/\(name)") }
        }
    }

    /// Makes directory `path` and any missing directory above it, as `mkdir -p`.
    package static func makeDirectories(_ path: String) {
        var made = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            made += "/" + component
            mkdir(made, 0o755)
        }
    }
}

/// A file that could not be written; its description is one line.
public struct FileWriteError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Step: Sendable, Equatable {
        case create
        case write
        case rename(to: String)
    }

    /// The file that failed (the temporary file beside the destination).
    public let path: String
    public let step: Step
    /// The system's reason (`strerror`).
    public let reason: String

    init(path: String, step: Step) {
        self.path = path
        self.step = step
        self.reason = String(cString: strerror(errno))
    }

    public var description: String {
        switch step {
        case .create: return "cannot create \(path): \(reason)"
        case .write: return "cannot write \(path): \(reason)"
        case .rename(let destination): return "cannot rename \(path) to \(destination): \(reason)"
        }
    }
}
