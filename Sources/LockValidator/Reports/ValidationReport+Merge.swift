extension ValidationReport {
    /// Several processes' reports as one: equal violations (same rule, lock classes and site) become
    /// one entry with their occurrences added; the graphs are united by class name, each edge naming the
    /// process that learned it; and the lock-order inversions and IRQL conflicts that only the union
    /// shows are added as violations (`CrossProcessCycles`, `CrossProcessIRQLConflicts`).
    ///
    /// - Precondition: `reports` is not empty.
    public static func merged(_ reports: [ValidationReport]) -> ValidationReport {
        precondition(!reports.isEmpty, "nothing to merge")
        func unite(_ lists: [[Violation]]) -> [Violation] {
            var order: [String] = []
            var byIdentity: [String: Violation] = [:]
            for violation in lists.joined() {
                // Lines tell apart findings of one identity (classes made in one function): the processes
                // merged ran one build.
                let identity = violation.identityWithLines
                if let existing = byIdentity[identity] {
                    var united = existing.counted(existing.occurrences + violation.occurrences)
                    // Each test it happened in is credited, not only the first process's.
                    if let scope = violation.scope {
                        let scopes = existing.scope.map { $0.components(separatedBy: ", ") } ?? []
                        if !scopes.contains(scope) { united.scope = (scopes + [scope]).joined(separator: ", ") }
                    }
                    byIdentity[identity] = united
                } else {
                    order.append(identity)
                    byIdentity[identity] = violation
                }
            }
            return order.map { byIdentity[$0]! }
        }
        var classOrder: [String] = []
        var classes: [String: ClassDescription] = [:]
        var edgeOrder: [String] = []
        var edges: [String: Edge] = [:]
        for report in reports {
            for description in report.graph.classes {
                if var existing = classes[description.name] {
                    existing.irqls = Array(Set(existing.irqls + description.irqls)).sorted()
                    classes[description.name] = existing
                } else {
                    classOrder.append(description.name)
                    classes[description.name] = description
                }
            }
            for var edge in report.graph.edges where edges["\(edge.from)\u{1}\(edge.to)"] == nil {
                edge.process = edge.process ?? report.process
                edgeOrder.append("\(edge.from)\u{1}\(edge.to)")
                edges["\(edge.from)\u{1}\(edge.to)"] = edge
            }
        }
        var violations = unite(reports.map(\.violations))
        let suppressed = unite(reports.map(\.suppressed))
        let united = edgeOrder.map { edges[$0]! }
        let unitedClasses = classOrder.map { classes[$0]! }
        // A learned-order store read as a report (`LearnedOrderStore.asReport`) has process id 0: its
        // processes' reports are not among these.
        let checked = Set(reports.filter { $0.process.pid != 0 }.flatMap { $0.mergedFrom ?? [$0.process] })
        violations += CrossProcessCycles.find(
            in: united, classes: unitedClasses, known: violations + suppressed, checked: checked)
        violations += CrossProcessIRQLConflicts.find(in: reports, known: violations + suppressed)
        let processes = reports.flatMap { $0.mergedFrom ?? [$0.process] }
        return ValidationReport(
            process: reports[0].process, mergedFrom: processes, config: reports[0].config, violations: violations,
            suppressed: suppressed,
            graph: Graph(classes: unitedClasses, edges: united),
            chains: reports.reduce(0) { $0 + $1.chains },
            lockStatistics: mergedStatistics(reports.map(\.lockStatistics)))
    }

    /// lock_stat rows of several processes, added up per class name (the 99th percentile is the largest
    /// of theirs, an upper bound).
    static func mergedStatistics(_ lists: [[LockClassStatistics]]) -> [LockClassStatistics] {
        var order: [String] = []
        var byName: [String: LockClassStatistics] = [:]
        for row in lists.joined() {
            guard var merged = byName[row.name] else {
                order.append(row.name)
                byName[row.name] = row
                continue
            }
            let holds = merged.holds + row.holds
            merged.holdMeanNanoseconds =
                holds == 0
                ? 0
                : (merged.holdMeanNanoseconds * Double(merged.holds) + row.holdMeanNanoseconds * Double(row.holds))
                    / Double(holds)
            merged.holds = holds
            merged.acquisitions += row.acquisitions
            merged.contentions += row.contentions
            merged.waitTotalNanoseconds += row.waitTotalNanoseconds
            merged.waitMaxNanoseconds = max(merged.waitMaxNanoseconds, row.waitMaxNanoseconds)
            merged.holdMaxNanoseconds = max(merged.holdMaxNanoseconds, row.holdMaxNanoseconds)
            merged.holdP99Nanoseconds = max(merged.holdP99Nanoseconds, row.holdP99Nanoseconds)
            byName[row.name] = merged
        }
        return order.map { byName[$0]! }
    }
}
