import LockValidatorReports
import SpinLocks
import TestSupport
import Testing

/// A class named by where its locks are created (`NSLock created at Cache.swift:5:21 in Cache.init`, as
/// the pthread interposer names them) is not followed by ", created at" the same place again.
@Suite struct SiteNamedClassTests {
    static func inversion(_ first: String, _ second: String) throws -> String {
        let (a, b) = (SpinLock(first), SpinLock(second))
        let found = LockValidator.violations(during: {
            ProcessorThread { ReportTests.takeInOrder(a, b) }.join()
            ProcessorThread { ReportTests.takeInOrder(b, a) }.join()
        })
        let violation = try #require(found.first { $0.rule == .lockOrderInversion })
        let text = violation.rendered(.text)
        let involved = try #require(text.firstRange(of: "locks involved:\n"))
        return String(text[involved.upperBound...].prefix { $0 != "\n" })
    }

    @Test func aNameThatSaysItsSiteIsNotFollowedByItAgain() throws {
        let prefix = uniqueClassPrefix("site-named")
        let line = try Self.inversion(
            "\(prefix)A created at Cache.swift:5:21 in Cache.init",
            "\(prefix)B created at Cache.swift:6:21 in Cache.init")
        #expect(line.hasPrefix("  \"\(prefix)A created at Cache.swift:5:21 in Cache.init\" #"), "\(line)")
        #expect(!line.contains(", created at"), "\(line)")
    }

    @Test func aGivenNameIsFollowedByItsSite() throws {
        let prefix = uniqueClassPrefix("given-name")
        let line = try Self.inversion("\(prefix).A", "\(prefix).B")
        #expect(line.contains(", created at ") && line.contains("SiteNamedClassTests.swift:"), "\(line)")
    }
}
