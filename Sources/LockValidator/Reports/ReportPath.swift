#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where a process writes its report, from the configured `LOCKVALIDATOR_REPORT`: as TSan's
/// `log_path` does, each process of a run can have its own file, so that none overwrites another's
/// (`swift test` runs XCTest and Swift Testing as two processes).
///
/// - `%p` in the path is this process's id: `reports/run-%p.json`.
/// - A path ending in `/`, or naming a directory, gets `lockvalidator-<pid>.json` inside it (missing
///   directories are created).
/// - Any other path is one file that the processes of one run share: each adds its report to it
///   (``ReportWriter/writeConfiguredReport()``).
enum ReportPath {
    /// Whether `configured` names one file for every process.
    static func isShared(_ configured: String) -> Bool {
        !configured.contains("%p") && !configured.hasSuffix("/") && !isDirectory(configured)
    }

    static func resolved(_ configured: String, processID: Int32 = getpid()) -> String {
        let path = configured.replacing("%p", with: String(processID))
        guard path.hasSuffix("/") || isDirectory(path) else { return path }
        let directory = path.hasSuffix("/") ? String(path.dropLast()) : path
        if !directory.isEmpty && !isDirectory(directory) { TextFile.makeDirectories(directory) }
        return "\(directory)/lockvalidator-\(processID).json"
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }
}
