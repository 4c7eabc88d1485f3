import Foundation
import Testing

/// A crash stays a crash with LockValidatorPthreads linked: a program that crashes holding a SpinLock, an
/// NSLock or a pthread mutex (`crash-while-holding <lock> <crash>` in
/// Tests/PthreadScenarios/CrashWhileHolding.swift) ends by the crash's own signal, with the Swift runtime's
/// backtracer on (the default; its writes to a pipe and its memory server's reads are made inside the hold)
/// or off. Before the blocking-call hooks passed the crash handler's calls, a spin lock's crash hung in
/// the report's stack capture or ended by SIGABRT.
@Suite(.serialized) struct CrashWhileHoldingTests {
    static let locks = ["spin-lock", "nslock", "pthread-mutex"]
    /// Each crash and the signal it ends by: a Swift trap is SIGILL (`ud2`) on x86-64.
    static let crashes = [("force-unwrap", SIGILL), ("fatal-error", SIGILL), ("bad-pointer", SIGSEGV)]

    @Test(arguments: locks, ["", "enable=no"])
    func aCrashInsideAHoldEndsByItsSignal(lock: String, backtrace: String) throws {
        for (crash, signal) in Self.crashes {
            // Standard error is a pipe, as a terminal or a log collector makes it: a write to it can block.
            // An empty SWIFT_BACKTRACE is the default (the backtracer on, on Linux).
            let child = try ChildProcess.run(
                PthreadInterpositionTests.buildDirectory.appendingPathComponent("pthread-scenarios"),
                ["crash-while-holding", lock, crash], environment: ["SWIFT_BACKTRACE": backtrace],
                reportName: "crash-while-holding-\(lock)-\(crash)", limit: .seconds(30))
            let context = "\(lock) \(crash) SWIFT_BACKTRACE=\(backtrace):\n\(child.error)"
            #expect(!child.killed, "a hang: \(context)")
            #expect(child.reason == .uncaughtSignal, "\(context)")
            #expect(child.status == signal, "\(context)")
            // No report from inside the crash handler (its writes are not the program's blocking calls).
            #expect(!child.error.contains("blocking-while-held"), "\(context)")
            if backtrace.isEmpty { #expect(child.error.contains("Program crashed"), "\(context)") }
        }
    }
}
