import Foundation

/// A command-line tool run to its end through `/usr/bin/env` (`swiftc`, `python3`): its exit status and
/// what it wrote to standard error; standard output is dropped.
public struct ToolRun {
    public let status: Int32
    public let standardError: String

    public init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        status = process.terminationStatus
    }
}
