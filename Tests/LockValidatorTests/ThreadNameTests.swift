import Dispatch
import Foundation
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

    /// What the README says of Foundation threads, kept true: a `Thread`'s `name` set before `start()` is
    /// dropped by swift-corelibs-foundation (no copy is kept, so reports cannot show it); one set from the
    /// thread's body, once `start()` has recorded the thread, is the kernel's and so the report's. If the
    /// first expectation fails, Foundation now applies the name: the README's paragraph goes.
    @Test func aFoundationThreadsNameReachesReportsOnlyWhenSetFromItsBody() {
        let names = Guarded<[String?]>([])
        for setInside in [false, true] {
            let recorded = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                recorded.wait()  // after `start()` has returned: Foundation has recorded the thread
                if setInside { Thread.current.name = "inside" }
                names.value.append(ThreadState.current.info.name)
                done.signal()
            }
            thread.name = "before-start"
            thread.start()
            recorded.signal()
            done.wait()
        }
        #expect(names.value.count == 2)
        #expect(names.value.first != "before-start", "Foundation drops a name set before start()")
        #expect(names.value.last == "inside")
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
