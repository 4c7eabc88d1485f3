import Foundation
import LockValidator
import LockValidatorReports
import TestSupport
import Testing

/// A violation's fingerprint (`identity`: merges, `lockval diff`, SARIF `partialFingerprints`) is its rule,
/// classes and functions, never a line number: a comment added at the top of a file changes nothing
/// (issue 28, point 5).
@Suite struct FingerprintTests {
    /// The pthread inversion of a `Cache` whose file starts `shift` lines lower.
    /// `inner` is the second class, made on `innerLine` of `Cache.init` (5: `stats`; 6: `extra`, at the same
    /// column).
    static func cacheInversion(
        shiftedBy shift: Int, reportFunction: String = "Cache.report", innerLine: Int = 5
    ) -> Violation {
        func site(_ line: Int, _ column: Int, in function: String) -> Site {
            .code(
                CodeSite(
                    module: "CachePackageTests.xctest", moduleAddress: UInt(0x27990 + line * 16),
                    location: .init(
                        function: function, functionOffset: 47, file: "/src/Sources/Cache/Cache.swift", line: line + shift,
                        column: column)))
        }
        let entries = LockInfo(name: "NSLock created at Cache.swift:\(4 + shift):19 in Cache.init", site: site(4, 19, in: "Cache.init"), instance: 4)
        let stats = LockInfo(
            name: "NSLock created at Cache.swift:\(innerLine + shift):17 in Cache.init",
            site: site(innerLine, 17, in: "Cache.init"), instance: UInt64(innerLine))
        let thread = ThreadInfo(serial: 1, osThreadID: 10, name: nil)
        let edge = DependencyEdge(
            from: entries, to: stats, fromAcquiredAt: site(12, 9, in: "Cache.get"), toAcquiredAt: site(14, 9, in: "Cache.get"),
            irql: .passive, thread: thread, stack: StackTrace(addresses: []))
        let closing = DependencyEdge(
            from: stats, to: entries, fromAcquiredAt: site(21, 9, in: reportFunction),
            toAcquiredAt: site(23, 9, in: reportFunction), irql: .passive, thread: thread, stack: StackTrace(addresses: []))
        return Violation(
            rule: .lockOrderInversion, summary: "inversion", severity: .error, locks: [entries, stats],
            site: site(23, 9, in: reportFunction), thread: thread, irql: .passive, heldLocks: [],
            stack: StackTrace(addresses: []), occurrences: 1, edges: [closing, edge])
    }

    /// A spin-lock violation at a source site, its caller named by the stack.
    static func spinLockRecursion(line: UInt, caller: String = "Driver.Queue.start() -> ()") -> Violation {
        let lock = LockInfo(name: "Driver/Queue.swift:\(line - 5)", site: .source(fileID: "Driver/Queue.swift", line: line - 5), instance: 1)
        return Violation(
            rule: .recursiveAcquire, summary: "recursion", severity: .error, locks: [lock],
            site: .source(fileID: "Driver/Queue.swift", line: line), thread: ThreadInfo(serial: 1, osThreadID: 10, name: nil),
            irql: .dispatch, heldLocks: [],
            stack: StackTrace(frames: [.init(address: 0x10, symbol: caller, offset: 4, file: "/src/Queue.swift", line: Int(line))]),
            occurrences: 1)
    }

    @Test func aLineAddedAboveTheCodeKeepsTheFingerprint() {
        #expect(Self.cacheInversion(shiftedBy: 0).identity == Self.cacheInversion(shiftedBy: 1).identity)
        #expect(Self.spinLockRecursion(line: 20).identity == Self.spinLockRecursion(line: 21).identity)
        // The classes are keyed by file and function, the site by its function: no digit of a line is left.
        let identity = Self.cacheInversion(shiftedBy: 0).identity
        #expect(identity == "lock-order-inversion|NSLock created at Cache.swift in Cache.init,NSLock created at Cache.swift in Cache.init|Cache.swift in Cache.report")
        #expect(Self.spinLockRecursion(line: 20).identity == "recursive-acquire|Driver/Queue.swift|Driver/Queue.swift in Driver.Queue.start")
    }

    @Test func anotherFunctionOrRuleIsAnotherFingerprint() {
        #expect(Self.cacheInversion(shiftedBy: 0).identity != Self.cacheInversion(shiftedBy: 0, reportFunction: "Cache.audit").identity)
        #expect(Self.spinLockRecursion(line: 20).identity != Self.spinLockRecursion(line: 20, caller: "Driver.Queue.stop() -> ()").identity)
    }

    @Test func diffAndSarifSeeTheSameViolationAfterTheEdit() throws {
        var before = LockValidator.currentReport
        before.violations = [Self.cacheInversion(shiftedBy: 0), Self.spinLockRecursion(line: 20)]
        var after = before
        after.violations = [Self.cacheInversion(shiftedBy: 1), Self.spinLockRecursion(line: 21)]
        let diff = ReportDiff(baseline: before, current: after)
        #expect(diff.new.isEmpty && diff.fixed.isEmpty, "\(diff.text)")
        let baseline = try LockValCommandTests.temporaryFile("fingerprint-before.json", before.jsonText())
        let current = try LockValCommandTests.temporaryFile("fingerprint-after.json", after.jsonText())
        let run = try LockValCommandTests.lockval(["diff", "--baseline", baseline, current])
        #expect(run.status == 0 && run.output.contains("0 new, 0 fixed"), "\(run.output)\(run.error)")
        func fingerprints(_ report: ValidationReport) throws -> [String] {
            let log = try #require(try JSONSerialization.jsonObject(with: Data(report.sarif(sourceRoot: nil).utf8)) as? [String: Any])
            let results = try #require((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])
            return results.compactMap { ($0["partialFingerprints"] as? [String: String])?["lockValidatorIdentity/v2"] }
        }
        #expect(try fingerprints(before) == fingerprints(after))
        #expect(try fingerprints(before).count == 2)
    }

    /// Two inversions in one function between classes made in one `init` differ only in lines: they stay two
    /// findings (a diff names the new one, a merge keeps both, SARIF gives each its own fingerprint), and an
    /// edit above them still changes nothing.
    @Test func twoInversionsThatDifferOnlyInLinesStayTwoFindings() throws {
        let stats = Self.cacheInversion(shiftedBy: 0)
        let extra = Self.cacheInversion(shiftedBy: 0, innerLine: 6)
        #expect(stats.identity == extra.identity, "the classes differ only in their lines")
        var before = LockValidator.currentReport
        before.violations = [stats]
        var after = before
        after.violations = [stats, extra]
        let diff = ReportDiff(baseline: before, current: after)
        #expect(diff.new.map(\.locks.last?.name) == ["NSLock created at Cache.swift:6:17 in Cache.init"], "\(diff.text)")
        #expect(diff.fixed.isEmpty)
        // The same after a line added above: still one new, the same one.
        var shifted = before
        shifted.violations = [Self.cacheInversion(shiftedBy: 1), Self.cacheInversion(shiftedBy: 1, innerLine: 6)]
        let shiftedDiff = ReportDiff(baseline: before, current: shifted)
        #expect(shiftedDiff.new.map(\.locks.last?.name) == ["NSLock created at Cache.swift:7:17 in Cache.init"], "\(shiftedDiff.text)")
        #expect(shiftedDiff.fixed.isEmpty)
        // Found in either order, against the other alone: the other is new.
        var reversed = before
        reversed.violations = [extra, stats]
        var extraAlone = before
        extraAlone.violations = [extra]
        #expect(ReportDiff(baseline: extraAlone, current: reversed).new.map(\.locks.last?.name) == [stats.locks.last?.name])
        // A merge of two processes that each found both keeps both.
        #expect(ValidationReport.merged([after, after]).violations.map(\.occurrences) == [2, 2])
        // SARIF: a fingerprint each, the same after the edit.
        func fingerprints(_ report: ValidationReport) throws -> [String] {
            let log = try #require(try JSONSerialization.jsonObject(with: Data(report.sarif(sourceRoot: nil).utf8)) as? [String: Any])
            let results = try #require((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])
            return results.compactMap { ($0["partialFingerprints"] as? [String: String])?["lockValidatorIdentity/v2"] }
        }
        #expect(Set(try fingerprints(after)).count == 2)
        #expect(try fingerprints(after) == fingerprints(shifted))
        #expect(try fingerprints(after).first == stats.identity, "a lone finding's fingerprint is its identity")
    }
}
