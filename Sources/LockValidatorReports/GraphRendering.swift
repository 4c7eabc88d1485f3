import LockValidator

extension ValidationReport {
    /// The edges of every reported cycle, the closing edge included, as "from\u{1}to" keys.
    var cycleEdges: Set<String> {
        Set(
            violations.filter { $0.rule == .lockOrderInversion }.flatMap(\.edges).map {
                "\($0.from.name)\u{1}\($0.to.name)"
            })
    }

    /// Closing edges of reported cycles, drawn apart (dashed).
    var closingEdges: [DependencyEdge] {
        violations.filter { $0.rule == .lockOrderInversion }.compactMap(\.edges.first)
    }

    /// The lock-order graph in Graphviz DOT, each reported cycle drawn in red and its closing edge
    /// dashed.
    ///
    /// - Parameter cyclesOnly: draw only the classes and edges of reported cycles.
    public func dot(cyclesOnly: Bool = false) -> String {
        let cycle = cycleEdges
        let inCycle = Set(cycle.flatMap { $0.split(separator: "\u{1}").map(String.init) })
        var lines = [
            "digraph LockOrder {", "  rankdir=LR;", "  node [shape=box, style=rounded, fontname=\"Helvetica\"];",
            "  edge [fontname=\"Helvetica\", fontsize=10];",
        ]
        for lockClass in graph.classes where !cyclesOnly || inCycle.contains(lockClass.name) {
            let levels = lockClass.irqls.map(\.description).joined(separator: ", ")
            // A class named by its init site shows it once.
            let site = LockInfo.nameSaysWhereCreated(lockClass.name) ? nil : lockClass.site?.description
            let label = [lockClass.name, site, levels].compactMap { $0 }.joined(separator: "\n")
            var attributes = "label=\(Self.dotString(label))"
            if inCycle.contains(lockClass.name) { attributes += ", color=red, fontcolor=red" }
            lines.append("  \(Self.dotString(lockClass.name)) [\(attributes)];")
        }
        let closing = Set(closingEdges.map { "\($0.from.name)\u{1}\($0.to.name)" })
        for edge in graph.edges where !closing.contains("\(edge.from)\u{1}\(edge.to)") {
            let isCycle = cycle.contains("\(edge.from)\u{1}\(edge.to)")
            guard !cyclesOnly || isCycle else { continue }
            var attributes = "label=\(Self.dotString("\(edge.toAcquiredAt)"))"
            if isCycle { attributes += ", color=red, fontcolor=red, penwidth=2" }
            lines.append("  \(Self.dotString(edge.from)) -> \(Self.dotString(edge.to)) [\(attributes)];")
        }
        for edge in closingEdges {
            let label = "closes the cycle at \(edge.toAcquiredAt)"
            lines.append(
                "  \(Self.dotString(edge.from.name)) -> \(Self.dotString(edge.to.name))"
                    + " [label=\(Self.dotString(label)), color=red, fontcolor=red, style=dashed, penwidth=2];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func dotString(_ text: String) -> String {
        "\"" + text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n")
            + "\""
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation needed).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
