import Dispatch
import LockValidator
import TestSupport
import Testing

@Suite struct ThreadNameTests {
    @Test func aDispatchWorkerIsNamedByItsWholeRootQueueLabel() {
        #expect(ThreadName.readable("oot.default-qos") == "com.apple.root.default-qos")
        #expect(ThreadName.readable("er-initiated-qos") == "er-initiated-qos", "16 bytes: not a kernel-cut name")
        #expect(ThreadName.readable("-qos.overcommit") == "-qos.overcommit", "six labels end so: left as it is")
        #expect(ThreadName.readable("nc-appPackageTe") == "nc-appPackageTe")
        #expect(ThreadName.readable("worker") == "worker")
    }

    /// A thread no one named bears the executable's name, which the kernel cuts at 15 bytes (an XCTest
    /// process's threads: `"LockValidatorPa"`): reports show it whole.
    @Test func aThreadNamedByTheKernelAfterTheExecutableReadsAsItsWholeName() throws {
        let executable = try #require(CommandLine.arguments.first?.split(separator: "/").last.map(String.init))
        try #require(executable.utf8.count > 15, "this test binary's name is longer than the kernel keeps")
        let cut = String(decoding: executable.utf8.prefix(15), as: UTF8.self)
        #expect(ThreadName.readable(cut) == executable)
        #expect(ThreadName.readable("nc-appPackageTe") == "nc-appPackageTe", "another executable's: left as it is")
    }

    /// A `ProcessorThread`'s name longer than the kernel keeps is shown whole; a thread of the same cut name
    /// it did not give keeps the cut.
    @Test func aProcessorThreadsLongNameReadsWhole() {
        let long = "processor-with-a-long-name"
        let name = Guarded<String?>(nil)
        ProcessorThread(name: long) { name.value = ThreadState.current.info.name }.join()
        #expect(name.value == long)
        #expect(ThreadName.readable(String(long.prefix(15))) == String(long.prefix(15)))
    }

    @Test func aThreadOfTheGlobalQueueReadsAsItsLabel() {
        let name = Guarded<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            name.value = ThreadState.current.info.name
            done.signal()
        }
        done.wait()
        #expect(name.value == "com.apple.root.default-qos")
    }
}
