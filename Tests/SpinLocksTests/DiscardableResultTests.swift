import Foundation
import TestSupport
import Testing

/// The critical-section runners return their closure's result, which a caller taking a lock for its side
/// effects ignores: `lock.withLock { usleep(10) }` once warned "result of call to 'withLock' is unused".
/// Typechecks such callers against the built modules with warnings as errors.
@Suite struct DiscardableResultTests {
    @Test func ignoringTheClosuresResultIsNoWarning() throws {
        let modules = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("Modules")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        try #require(
            FileManager.default.fileExists(atPath: modules.appendingPathComponent("SpinLocks.swiftmodule").path))
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("discardable-\(getpid()).swift")
        defer { try? FileManager.default.removeItem(at: source) }
        try """
        import Glibc
        import SpinLocks
        let lock = SpinLock("Discardable.lock")
        lock.withLock { usleep(1) }
        lock.withQueuedLock { usleep(1) }
        let interrupt = InterruptObject("Discardable.interrupt", irql: .device(5)) { _ in true }
        interrupt.synchronizeExecution { usleep(1) }
        let mutex = ValidatedMutex("Discardable.mutex", 0)
        mutex.withLock { value in
            value += 1
            return value
        }
        """.write(to: source, atomically: true, encoding: .utf8)
        let typecheck = try ToolRun([
            "swiftc", "-typecheck", "-warnings-as-errors", "-I", modules.path,
            "-I", root.appendingPathComponent("Sources/_LockValidatorShims/include").path, source.path,
        ])
        #expect(typecheck.status == 0, "\(typecheck.standardError)")
    }
}
