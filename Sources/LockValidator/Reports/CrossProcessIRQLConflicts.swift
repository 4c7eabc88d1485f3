/// `irql-inconsistent-usage` that only the union of several processes shows: one process held a class at
/// a device IRQL (irq-safe), another held it where device interrupts arrive (irq-unsafe). A process that
/// did both checked it itself, so only classes no one process used both ways are reported.
enum CrossProcessIRQLConflicts {
    /// Levels at or above this one are device levels (interrupts below them are masked).
    private static let firstDeviceLevel: UInt8 = 3

    /// The conflicts among `reports`' classes that `known` does not already report.
    static func find(in reports: [ValidationReport], known: [Violation]) -> [Violation] {
        struct Use {
            var device: (IRQL, ValidationReport.ProcessDescription)?
            var interruptible: (IRQL, ValidationReport.ProcessDescription)?
            var site: Site?
            var checkedByOneProcess = false
        }
        var order: [String] = []
        var uses: [String: Use] = [:]
        for report in reports {
            for lockClass in report.graph.classes {
                var use = uses[lockClass.name] ?? Use(site: lockClass.site)
                if uses[lockClass.name] == nil { order.append(lockClass.name) }
                let device = lockClass.irqls.first { $0.rawValue >= firstDeviceLevel }
                let interruptible = lockClass.irqls.first { $0.rawValue < firstDeviceLevel }
                if device != nil && interruptible != nil { use.checkedByOneProcess = true }
                if use.device == nil, let device { use.device = (device, report.process) }
                if use.interruptible == nil, let interruptible { use.interruptible = (interruptible, report.process) }
                uses[lockClass.name] = use
            }
        }
        let reported = Set(known.filter { $0.rule == .irqlInconsistentUsage }.flatMap { $0.locks.map(\.name) })
        return order.compactMap { name -> Violation? in
            guard let use = uses[name], !use.checkedByOneProcess, !reported.contains(name),
                let (high, highProcess) = use.device, let (low, lowProcess) = use.interruptible
            else { return nil }
            return Violation(
                rule: .irqlInconsistentUsage,
                summary: "\"\(name)\" was held at \(high) by \(highProcess.executable) (pid \(highProcess.pid)) and at"
                    + " \(low) by \(lowProcess.executable) (pid \(lowProcess.pid)): a program that does both deadlocks"
                    + " when the interrupt arrives on a processor holding it at \(low)",
                severity: Rule.irqlInconsistentUsage.severity,
                locks: [LockInfo(name: name, site: use.site, instance: 0)], site: use.site,
                thread: ThreadInfo(serial: 0, osThreadID: 0, name: nil), irql: high, heldLocks: [],
                stack: StackTrace(addresses: []), occurrences: 1)
        }
    }
}
