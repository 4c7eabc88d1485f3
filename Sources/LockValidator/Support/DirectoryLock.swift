#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An exclusive `flock` on a directory, held while a process reads, merges and replaces a file in it, so
/// that processes ending at once add to a shared report or store one after another and none loses what
/// another wrote. No lock file is left behind; a directory that cannot be locked (a file system without
/// `flock`) runs `body` unlocked rather than not at all.
package enum DirectoryLock {
    package static func withLock<Result>(containing path: String, _ body: () -> Result) -> Result {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let descriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return body() }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 && errno == EINTR {}
        defer { flock(descriptor, LOCK_UN) }
        return body()
    }
}
