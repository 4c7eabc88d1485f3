import LockValidator
import Testing

/// `irql-inconsistent-usage` found only when reports are merged: one process held a class at a device
/// IRQL, another held it where device interrupts arrive.
@Suite struct CrossProcessIRQLConflictTests {
    static func report(pid: Int32, _ classes: [(String, [IRQL])], violations: [Violation] = []) -> ValidationReport {
        ValidationReport(
            process: .init(pid: pid, executable: "/tests/process-\(pid)", arguments: []),
            config: .init(settings: Configuration(), errors: []), violations: violations, suppressed: [],
            graph: .init(
                classes: classes.map {
                    .init(name: $0.0, site: .source(fileID: "Driver/Queue.swift", line: 7), irqls: $0.1)
                },
                edges: []),
            chains: 0)
    }

    @Test func aClassHeldAtADeviceIRQLInOneProcessAndAtDispatchInAnotherIsAConflict() {
        let merged = ValidationReport.merged([
            Self.report(pid: 1, [("Queue.lock", [.device(5)])]), Self.report(pid: 2, [("Queue.lock", [.dispatch])]),
        ])
        let conflicts = merged.violations.filter { $0.rule == .irqlInconsistentUsage }
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.locks.map(\.name) == ["Queue.lock"])
        #expect(
            conflicts.first?.summary.contains("pid 1") == true && conflicts.first?.summary.contains("pid 2") == true)
    }

    @Test func consistentLevelsOrADeviceLockAtTwoDeviceLevelsAreNoConflict() {
        let merged = ValidationReport.merged([
            Self.report(pid: 1, [("Queue.lock", [.device(5)]), ("State.lock", [.passive])]),
            Self.report(pid: 2, [("Queue.lock", [.device(7)]), ("State.lock", [.dispatch])]),
        ])
        #expect(merged.violations.isEmpty)
    }

    @Test func aConflictOneProcessSawItselfIsNotReportedAgain() {
        // Process 1 held the class both ways: it checked it (and reported or suppressed it) itself.
        let merged = ValidationReport.merged([
            Self.report(pid: 1, [("Queue.lock", [.dispatch, .device(5)])]),
            Self.report(pid: 2, [("Queue.lock", [.passive])]),
        ])
        #expect(merged.violations.isEmpty)
    }
}
