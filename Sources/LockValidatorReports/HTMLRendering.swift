import LockValidator

#if canImport(Glibc)
    import Glibc
#endif

extension ValidationReport {
    /// The most classes drawn in the page's graph; the rest are listed in the edge table.
    static let drawnClassLimit = 40
    /// The most edges listed in the page's table.
    static let listedEdgeLimit = 2_000

    /// One self-contained HTML page: the summary, every violation with its story and stacks, and the
    /// lock-order graph (an SVG drawing of the classes around the reported cycles, and the edge table).
    public func html() -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>LockValidator report</title>
            <style>
            body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
                   max-width: 1100px; color: #1d1d1f; padding: 0 1em; }
            h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
            .rule { font-family: ui-monospace, Menlo, monospace; padding: 1px 6px; border-radius: 4px; color: #fff; }
            .error { background: #c62828; } .warning { background: #ef6c00; } .suppressed { background: #757575; }
            .violation { border: 1px solid #ddd; border-radius: 6px; padding: 0.8em 1em; margin: 1em 0; }
            pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 12px; }
            table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 2px 6px; }
            .cycle { color: #c62828; font-weight: 600; } .muted { color: #666; }
            svg text { font: 11px Helvetica, Arial, sans-serif; }
            </style></head><body>
            <h1>LockValidator report</h1>

            """
        let counts = statistics
        page += "<p>\(Self.escape(process.executable)) (pid \(process.pid))"
        if let merged = mergedFrom { page += ", merged from \(merged.count) processes" }
        page += ": <b>\(counts.violations) violation\(counts.violations == 1 ? "" : "s")</b>"
        page += " (\(counts.occurrences) occurrences), \(counts.suppressed) suppressed; \(counts.classes) lock classes,"
        page += " \(counts.edges) lock-order edges, \(counts.chains) chains.</p>\n"
        for error in config.errors { page += "<p class=\"cycle\">configuration error: \(Self.escape(error))</p>\n" }

        page += "<h2>Violations</h2>\n"
        if violations.isEmpty { page += "<p>None.</p>\n" }
        for (index, violation) in violations.enumerated() { page += section(violation, id: index, suppressed: false) }
        if !suppressed.isEmpty {
            page += "<h2>Suppressed</h2>\n"
            for (index, violation) in suppressed.enumerated() {
                page += section(violation, id: index, suppressed: true)
            }
        }

        page += "<h2>Lock-order graph</h2>\n" + svgGraph() + edgeTable()
        page += "</body></html>\n"
        return page
    }

    private func section(_ violation: Violation, id: Int, suppressed: Bool) -> String {
        let style = suppressed ? "suppressed" : violation.severity.rawValue
        var html = "<div class=\"violation\" id=\"\(suppressed ? "s" : "v")\(id)\">"
        html +=
            "<p><span class=\"rule \(style)\">\(violation.rule.rawValue)</span> \(Self.escape(violation.rule.headline))"
        if violation.occurrences > 1 { html += " <span class=\"muted\">× \(violation.occurrences)</span>" }
        html += "</p>\n<p>\(Self.escape(violation.summary))</p>\n"
        if let site = violation.site { html += "<p class=\"muted\">at \(Self.escape(site.description))</p>\n" }
        if !violation.cycle.isEmpty {
            let chain = (violation.cycle + [violation.cycle[0]]).map(Self.escape).joined(separator: " → ")
            html += "<p class=\"cycle\">cycle: \(chain)</p>\n"
        }
        html +=
            "<details><summary>report and stacks</summary><pre>\(Self.escape(violation.rendered(.text)))</pre></details>"
        return html + "</div>\n"
    }

    /// Classes to draw: those of reported cycles and conflicting usages first, then their
    /// neighbours, then any others, up to the limit.
    private var drawnClasses: [String] {
        var chosen: [String] = []
        func add(_ name: String) {
            if chosen.count < Self.drawnClassLimit && !chosen.contains(name) { chosen.append(name) }
        }
        for violation in violations {
            violation.cycle.forEach(add)
            violation.usages.forEach { add($0.lock.name) }
        }
        let core = Set(chosen)
        for edge in graph.edges where core.contains(edge.from) || core.contains(edge.to) {
            add(edge.from)
            add(edge.to)
        }
        graph.classes.forEach { add($0.name) }
        return chosen
    }

    private func svgGraph() -> String {
        let names = drawnClasses
        guard !names.isEmpty else { return "<p>No lock-order edges.</p>\n" }
        let size = min(760.0, 260 + 40 * Double(names.count))
        let radius = size / 2 - 60
        // Labels sit beside their nodes: leave room for the longest one on either side.
        let margin = Double(min(names.map(\.count).max() ?? 0, 48)) * 6.5 + 20
        let center = (x: margin + size / 2, y: size / 2)
        var position: [String: (x: Double, y: Double)] = [:]
        for (index, name) in names.enumerated() {
            let angle = 2 * Double.pi * Double(index) / Double(names.count) - Double.pi / 2
            position[name] = (center.x + radius * cos(angle), center.y + radius * sin(angle))
        }
        let cycle = cycleEdges
        let width = Int(size + 2 * margin)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(Int(size))\""
        svg += " viewBox=\"0 0 \(width) \(Int(size))\" role=\"img\" aria-label=\"lock-order graph\">\n"
        svg += "<defs>"
        for (id, color) in [("arrow", "#888"), ("arrowRed", "#c62828")] {
            svg += "<marker id=\"\(id)\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\""
            svg +=
                " markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"\(color)\"/></marker>"
        }
        svg += "</defs>\n"
        // A closing edge is in the graph too: drawn once, dashed.
        var drawn = closingEdges.map { (from: $0.from.name, to: $0.to.name, closing: true) }
        let closing = Set(drawn.map { "\($0.from)\u{1}\($0.to)" })
        drawn += graph.edges.filter { !closing.contains("\($0.from)\u{1}\($0.to)") }.map {
            (from: $0.from, to: $0.to, closing: false)
        }
        for edge in drawn {
            guard let a = position[edge.from], let b = position[edge.to] else { continue }
            let red = edge.closing || cycle.contains("\(edge.from)\u{1}\(edge.to)")
            // A slight curve, so that edges in opposite directions stay apart; stop short of the node.
            let (dx, dy) = (b.x - a.x, b.y - a.y)
            let length = max((dx * dx + dy * dy).squareRoot(), 1)
            let control = ((a.x + b.x) / 2 - dy / length * 24, (a.y + b.y) / 2 + dx / length * 24)
            let (cx, cy) = (b.x - control.0, b.y - control.1)
            let reach = max((cx * cx + cy * cy).squareRoot(), 1)
            let end = (b.x - cx / reach * 9, b.y - cy / reach * 9)
            svg +=
                "<path d=\"M\(Self.number(a.x)),\(Self.number(a.y)) Q\(Self.number(control.0)),\(Self.number(control.1))"
            svg += " \(Self.number(end.0)),\(Self.number(end.1))\" fill=\"none\" stroke=\"\(red ? "#c62828" : "#bbb")\""
            svg += " stroke-width=\"\(red ? 2.5 : 1)\"\(edge.closing ? " stroke-dasharray=\"6 4\"" : "")"
            svg += " marker-end=\"url(#\(red ? "arrowRed" : "arrow"))\"/>\n"
        }
        let inCycle = Set(cycle.flatMap { $0.split(separator: "\u{1}").map(String.init) })
        for name in names {
            let p = position[name]!
            let red = inCycle.contains(name)
            svg += "<circle cx=\"\(Self.number(p.x))\" cy=\"\(Self.number(p.y))\" r=\"6\""
            svg += " fill=\"\(red ? "#c62828" : "#546e7a")\"/>\n"
            let anchor = p.x < center.x - 1 ? "end" : p.x > center.x + 1 ? "start" : "middle"
            let offset = anchor == "end" ? -10.0 : anchor == "start" ? 10.0 : 0
            svg += "<text x=\"\(Self.number(p.x + offset))\" y=\"\(Self.number(p.y - 9))\" text-anchor=\"\(anchor)\""
            svg += "\(red ? " fill=\"#c62828\"" : "")>\(Self.escape(name))</text>\n"
        }
        svg += "</svg>\n"
        if graph.classes.count > names.count {
            svg +=
                "<p class=\"muted\">\(names.count) of \(graph.classes.count) classes drawn; every edge is listed below.</p>\n"
        }
        return svg
    }

    private func edgeTable() -> String {
        guard !graph.edges.isEmpty else { return "" }
        let cycle = cycleEdges
        var html = "<details><summary>\(graph.edges.count) edges</summary><table>"
        html += "<tr><th>held</th><th>acquired</th><th>held since</th><th>acquired at</th><th>IRQL</th></tr>\n"
        for edge in graph.edges.prefix(Self.listedEdgeLimit) {
            let style = cycle.contains("\(edge.from)\u{1}\(edge.to)") ? " class=\"cycle\"" : ""
            html += "<tr\(style)><td>\(Self.escape(edge.from))</td><td>\(Self.escape(edge.to))</td>"
            html +=
                "<td>\(Self.escape(edge.fromAcquiredAt.description))</td><td>\(Self.escape(edge.toAcquiredAt.description))</td>"
            html += "<td>\(edge.irql)</td></tr>\n"
        }
        if graph.edges.count > Self.listedEdgeLimit {
            html += "<tr><td colspan=\"5\">… \(graph.edges.count - Self.listedEdgeLimit) more</td></tr>"
        }
        return html + "</table></details>\n"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A coordinate with one decimal.
    static func number(_ value: Double) -> String { "\((value * 10).rounded() / 10)" }
}
