import Dispatch
import LockValidator
import Testing

/// Work a scope started that outlives it: what it still finds goes to the enclosing scope, named for the
/// scope that ended, instead of into a log nobody reads any more.
@Suite struct LateViolationTests {
    @Test func aThreadThatOutlivesItsScopeReportsToTheEnclosingOneNamingIt() {
        let go = DispatchSemaphore(value: 0)
        var thread: ProcessorThread?
        var inner: [Violation] = []
        let outer = LockValidator.violations(during: {
            inner = LockValidator.violations(
                during: {
                    thread = ProcessorThread {
                        go.wait()
                        IRQL.lower(to: .high)
                    }
                }, scopeName: "inner")
            go.signal()
            thread?.join()
        })
        #expect(inner.isEmpty)
        #expect(outer.map(\.rule) == [.irqlLowerInvalid])
        #expect(outer.map(\.scope) == ["inner (after it ended)"])
    }
}
