import LockValidator
import Testing

/// Stack frames are named as well as what reads them can: a libc function that libunwind names after
/// the exported symbol before it (glibc's static `start_thread`) is named from debug information
/// when llvm-symbolizer finds it.
@Suite struct StackTraceTests {
    @Test func aThreadsFirstFrameIsNamedAfterItsFunction() {
        let captured = Captured()
        ProcessorThread { captured.stack = StackTrace.capture() }.join()
        let frames = captured.stack?.symbolicated() ?? []
        #expect(!frames.isEmpty)
        // Only where debug information for libc is installed (libc6-dbg) does the symbolizer know it.
        guard let frame = frames.first(where: { $0.file?.hasSuffix("pthread_create.c") == true }) else { return }
        #expect(frame.symbol == "start_thread", "\(frame)")
    }

    final class Captured: @unchecked Sendable {
        var stack: StackTrace?
    }
}
