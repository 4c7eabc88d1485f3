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
