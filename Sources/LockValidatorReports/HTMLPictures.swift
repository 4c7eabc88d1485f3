import LockValidator

#if canImport(Glibc)
    import Glibc
#endif

/// The SVG pictures of the HTML page: each reported cycle with its direct neighbours, or without a
/// cycle the most connected classes. A merged graph may hold a thousand classes; only a few are
/// drawn, so that every label stays legible.
extension ValidationReport {
    /// The most neighbours drawn around one cycle.
    static let drawnNeighbourLimit = 12
    /// The most classes drawn when there is no cycle.
    static let drawnClassLimit = 24
    /// The most cycle pictures on one page (each is a few kilobytes).
    static let drawnCycleLimit = 50
    /// The longest label drawn; a longer name is shortened to its end, its tooltip is whole.
    static let drawnLabelLimit = 40
    /// The longest line of a class named by where its locks were created: its kind on one line, the site
    /// on the next (`serial queue app.queue.a` / `created at Queues.swift:5:13 in Queues.init`).
    static let drawnLineLimit = 48

    /// Labels are monospace, so that their widths are known without measuring a font: 0.6 em per
    /// character for common monospace fonts, and a little more to be safe.
    private static let fontSize = 11.0
    private static let characterWidth = 6.8
    private static let boxHeight = 20.0
    /// The distance between edges that share a side of a box.
    private static let portStep = 6.5
    private static let red = "#c62828"
    private static let grey = "#9e9e9e"

    /// Edges per class, in and out, over the whole graph.
    var classDegrees: [String: Int] {
        var degree: [String: Int] = [:]
        for edge in graph.edges {
            degree[edge.from, default: 0] += 1
            degree[edge.to, default: 0] += 1
        }
        return degree
    }

    /// The cycle of a `lock-order-inversion` in a column, in cycle order, its chain edges straight down
    /// and its closing edge dashed on the right; the neighbours mostly held before a cycle class on the
    /// left, the others on the right.
    func cyclePicture(_ violation: Violation, id: String, degrees: [String: Int]) -> String {
        let cycle = violation.cycle
        guard !cycle.isEmpty else { return "" }
        let members = Set(cycle)
        var into: [String: Int] = [:]
        var outOf: [String: Int] = [:]
        for edge in graph.edges where members.contains(edge.from) != members.contains(edge.to) {
            if members.contains(edge.from) { outOf[edge.to, default: 0] += 1 } else { into[edge.from, default: 0] += 1 }
        }
        let candidates = Set(into.keys).union(outOf.keys)
        func withCycle(_ name: String) -> Int { into[name, default: 0] + outOf[name, default: 0] }
        let chosen = candidates.sorted {
            (withCycle($0), degrees[$0, default: 0], $1) > (withCycle($1), degrees[$1, default: 0], $0)
        }.prefix(Self.drawnNeighbourLimit)
        // A report read from a file may name a class twice in a cycle: its first place counts.
        let row = Dictionary(cycle.enumerated().map { ($1, Double($0)) }) { first, _ in first }
        // A neighbour sits level with the cycle classes it touches: shorter edges, fewer crossings.
        var rowSums: [String: (sum: Double, count: Double)] = [:]
        for edge in graph.edges {
            let (name, other) = row[edge.from] == nil ? (edge.from, edge.to) : (edge.to, edge.from)
            guard row[name] == nil, let r = row[other] else { continue }
            let sums = rowSums[name, default: (0, 0)]
            rowSums[name] = (sums.sum + r, sums.count + 1)
        }
        func barycentre(_ name: String) -> Double { rowSums[name].map { $0.sum / $0.count } ?? 0 }
        let sides = Dictionary(grouping: chosen) { into[$0, default: 0] >= outOf[$0, default: 0] }
        let order: (String, String) -> Bool = { (barycentre($0), $0) < (barycentre($1), $1) }
        let left = (sides[true] ?? []).sorted(by: order)
        let right = (sides[false] ?? []).sorted(by: order)

        // Every edge drawn, with the sides of the boxes it leaves and enters.
        let columnOf = Dictionary(left.map { ($0, 0) } + cycle.map { ($0, 1) } + right.map { ($0, 2) }) { first, _ in
            first
        }
        var edges: [PictureEdge] = []
        let closing = violation.edges.first.map { "\($0.from.name)\u{1}\($0.to.name)" }
        var drawnPairs: Set<String> = []
        for edge in violation.edges {
            let key = "\(edge.from.name)\u{1}\(edge.to.name)"
            guard let a = row[edge.from.name], let b = row[edge.to.name], drawnPairs.insert(key).inserted else {
                continue
            }
            let down = b == a + 1 && key != closing
            edges.append(
                PictureEdge(
                    from: edge.from.name, to: edge.to.name, fromSide: down ? .bottom : .right,
                    toSide: down ? .top : .right, red: true, dashed: key == closing))
        }
        for edge in graph.edges {
            let key = "\(edge.from)\u{1}\(edge.to)"
            guard let a = columnOf[edge.from], let b = columnOf[edge.to], a == 1 || b == 1,
                drawnPairs.insert(key).inserted
            else { continue }
            // Other edges between cycle classes bow out on the left; edges to neighbours face them.
            let fromSide: Side = a == b ? .left : a < b ? .right : .left
            let toSide: Side = a == b ? .left : a < b ? .left : .right
            edges.append(
                PictureEdge(from: edge.from, to: edge.to, fromSide: fromSide, toSide: toSide, red: false, dashed: false)
            )
        }
        let labelLines = Self.labelLines(left + cycle + right)
        // A box is as tall as the edges along its busiest side need, so that arrowheads do not pile up.
        var ports: [String: [Side: Int]] = [:]
        for edge in edges {
            ports[edge.from, default: [:]][edge.fromSide, default: 0] += 1
            ports[edge.to, default: [:]][edge.toSide, default: 0] += 1
        }
        func boxHeight(_ name: String) -> Double {
            let busiest = max(ports[name]?[.left] ?? 0, ports[name]?[.right] ?? 0)
            let text = Double((labelLines[name]?.count ?? 1) - 1) * Self.lineHeight
            return max(Self.boxHeight + text, Double(busiest - 1) * Self.portStep + 10)
        }

        let margin = 8.0
        let (sideGap, cycleGap) = (8.0, 30.0)
        func columnHeight(_ names: [String], gap: Double) -> Double {
            names.map(boxHeight).reduce(0, +) + Double(max(names.count - 1, 0)) * gap
        }
        let contentHeight = max(
            columnHeight(left, gap: sideGap), columnHeight(cycle, gap: cycleGap), columnHeight(right, gap: sideGap))
        let height = contentHeight + 2 * margin
        let labels = labelLines
        func boxWidth(_ name: String) -> Double { Self.boxWidth(labels[name]!) }
        let leftWidth = left.map(boxWidth).max() ?? 0
        let cycleWidth = cycle.map(boxWidth).max() ?? 0
        let rightWidth = right.map(boxWidth).max() ?? 0
        // Room for the edges between the columns, and for the closing edge right of the cycle.
        let leftEdge = margin + leftWidth
        let cycleCentre = leftEdge + (left.isEmpty ? 60 : 120) + cycleWidth / 2
        let rightEdge = cycleCentre + cycleWidth / 2 + (right.isEmpty ? 60 : 140)
        let width = rightEdge + rightWidth + margin

        var boxes: [String: Box] = [:]
        func column(_ names: [String], gap: Double, place: (String) -> Double) {
            var top = margin + (contentHeight - columnHeight(names, gap: gap)) / 2
            for name in names {
                let height = boxHeight(name)
                boxes[name] = Box(
                    x: place(name), y: top + height / 2, width: boxWidth(name), height: height, label: labels[name]!)
                top += height + gap
            }
        }
        column(left, gap: sideGap) { leftEdge - boxWidth($0) }
        column(cycle, gap: cycleGap) { cycleCentre - boxWidth($0) / 2 }
        column(right, gap: sideGap) { _ in rightEdge }

        var svg = Self.svgStart(id: id, width: width, height: height, label: "lock-order cycle and its neighbours")
        svg += Self.draw(edges, id: id, boxes: boxes, bow: cycleWidth / 2 + 40, cycleCentre: cycleCentre)
        for name in left + right { svg += Self.node(name, box: boxes[name]!, red: false) }
        for name in cycle { svg += Self.node(name, box: boxes[name]!, red: true) }
        svg += "</svg>\n"
        let neighbours = candidates.count
        svg += "<p class=\"muted\">Cycle in red, its closing edge dashed. "
        svg += neighbours == 0 ? "No other class has an edge to or from it." : "Grey: "
        if neighbours > chosen.count {
            svg += "the \(chosen.count) of \(neighbours) classes with the most edges to or from the cycle"
        } else if neighbours > 0 {
            svg += "every class with an edge to or from the cycle"
        }
        if neighbours > 0 { svg += "; those mostly held before a cycle class on the left, the rest on the right." }
        return svg + Self.clickHint + "</p>\n"
    }

    /// Without a cycle: the classes of other violations, then the most connected, around a circle
    /// with their labels pointing outwards, so that no two labels overlap.
    func hubPicture(degrees: [String: Int]) -> String {
        var chosen: [String] = []
        var seen: Set<String> = []
        for name in violations.flatMap({ $0.usages.map(\.lock.name) }) where seen.insert(name).inserted {
            chosen.append(name)
        }
        let connected = graph.classes.map(\.name).filter { !seen.contains($0) }.sorted {
            (degrees[$0, default: 0], $1) > (degrees[$1, default: 0], $0)
        }
        chosen = Array((chosen + connected).prefix(Self.drawnClassLimit))
        guard !chosen.isEmpty else { return "<p>No lock classes.</p>\n" }
        let radius = max(150, Double(chosen.count) * 16 / (2 * Double.pi))
        let labels = Self.labels(chosen)
        let labelRoom = Double(labels.values.map(\.count).max() ?? 0) * Self.characterWidth + 16
        let size = 2 * (radius + labelRoom + 8)
        let centre = size / 2
        var position: [String: (x: Double, y: Double, angle: Double)] = [:]
        for (index, name) in chosen.enumerated() {
            let angle = 2 * Double.pi * Double(index) / Double(chosen.count) - Double.pi / 2
            position[name] = (centre + radius * cos(angle), centre + radius * sin(angle), angle)
        }
        var svg = Self.svgStart(id: "lv-graph", width: size, height: size, label: "most connected lock classes")
        for edge in graph.edges {
            guard let a = position[edge.from], let b = position[edge.to], edge.from != edge.to else { continue }
            // Bowed towards the centre, stopping short of the node for the arrowhead.
            let control = (centre + ((a.x + b.x) / 2 - centre) * 0.3, centre + ((a.y + b.y) / 2 - centre) * 0.3)
            let (dx, dy) = (b.x - control.0, b.y - control.1)
            let reach = max((dx * dx + dy * dy).squareRoot(), 1)
            let end = (b.x - dx / reach * 7, b.y - dy / reach * 7)
            let path = "M\(Self.number(a.x)),\(Self.number(a.y)) Q\(Self.number(control.0)),\(Self.number(control.1))"
            svg += Self.edgePath(path + " \(Self.number(end.0)),\(Self.number(end.1))", id: "lv-graph", red: false)
        }
        for name in chosen {
            let p = position[name]!
            let angle = p.angle * 180 / Double.pi
            let outwards = cos(p.angle) >= -1e-9
            let (x, y) = (p.x + 10 * cos(p.angle), p.y + 10 * sin(p.angle))
            svg += "<g class=\"node\" data-class=\"\(Self.escape(name))\"><title>\(Self.escape(name))</title>"
            svg += "<circle cx=\"\(Self.number(p.x))\" cy=\"\(Self.number(p.y))\" r=\"5\" fill=\"#546e7a\"/>"
            let (textX, textY) = (Self.number(x), Self.number(y))
            svg += "<text x=\"\(textX)\" y=\"\(textY)\" dy=\"0.35em\" text-anchor=\"\(outwards ? "start" : "end")\""
            svg += " transform=\"rotate(\(Self.number(outwards ? angle : angle + 180)) \(textX) \(textY))\">"
            svg += "\(Self.escape(labels[name]!))</text></g>\n"
        }
        svg += "</svg>\n"
        if graph.classes.count > chosen.count {
            svg += "<p class=\"muted\">The \(chosen.count) most connected of \(graph.classes.count) classes."
            svg += Self.clickHint + "</p>\n"
        }
        return svg
    }

    // MARK: Drawing

    private enum Side { case left, right, top, bottom }

    private struct Box {
        /// The left side and the vertical centre.
        var x: Double
        var y: Double
        var width: Double
        var height: Double
        var label: [String]
        var centre: Double { x + width / 2 }
    }

    private struct PictureEdge {
        var from: String
        var to: String
        var fromSide: Side
        var toSide: Side
        var red: Bool
        var dashed: Bool
    }

    /// Said only where the page's script runs, which shows it.
    private static let clickHint = "<span class=\"needs-script\" hidden> Click a class to filter the edge table.</span>"

    private static let lineHeight = 13.0

    private static func boxWidth(_ label: [String]) -> Double {
        max(Double(label.map(\.count).max() ?? 0) * characterWidth + 12, 32)
    }

    /// A class name that says where its locks were created, in its parts: what they are (`NSLock`,
    /// `serial queue app.queue.a`), how (`created`, `first seen`), where, and in what function.
    static func siteParts(_ name: String) -> (kind: String, verb: String, site: String, function: String?)? {
        for verb in ["created", "first seen", "first locked"] {
            guard let marker = name.firstRange(of: " \(verb) at "), marker.lowerBound > name.startIndex else {
                continue
            }
            let rest = name[marker.upperBound...]
            let function = rest.firstRange(of: " in ")
            return (
                String(name[..<marker.lowerBound]), verb, String(rest[..<(function?.lowerBound ?? rest.endIndex)]),
                function.map { String(rest[$0.upperBound...]) }
            )
        }
        return nil
    }

    /// `text` cut in its middle to `limit` characters, keeping its start and its end.
    static func middleCut(_ text: String, _ limit: Int) -> String {
        guard text.count > limit else { return text }
        let head = (limit - 1) / 2
        return text.prefix(head) + "…" + text.suffix(limit - 1 - head)
    }

    /// The names as drawn on one line (the circle of the most connected classes): whole up to the limit;
    /// a name that says where its locks were created keeps what they are and where, the function dropped
    /// first; any other its (more telling) end. Whole again where two would read the same.
    static func labels(_ names: [String]) -> [String: String] {
        let shortened = names.map { name -> String in
            guard name.count > drawnLabelLimit else { return name }
            guard let parts = siteParts(name) else { return "…" + name.suffix(drawnLabelLimit - 1) }
            let withVerb = "\(parts.kind) \(parts.verb) at \(parts.site)"
            if withVerb.count <= drawnLineLimit { return withVerb }
            let room = max(drawnLineLimit - parts.site.count - 4, 8)
            return middleCut(parts.kind, room) + " at " + parts.site
        }
        let counts = Dictionary(shortened.map { ($0, 1) }, uniquingKeysWith: +)
        return Dictionary(
            zip(names, zip(names, shortened).map { counts[$1]! > 1 ? $0 : $1 }), uniquingKeysWith: { a, _ in a })
    }

    /// The names as drawn in a box, in lines: whole up to the limit; a name that says where its locks were
    /// created on two lines, what they are then where (the function on a third when the line is too long),
    /// each cut in its middle past ``drawnLineLimit``; any other name its (more telling) end. Whole again
    /// where two would read the same.
    static func labelLines(_ names: [String]) -> [String: [String]] {
        let drawn = names.map { name -> [String] in
            guard name.count > drawnLabelLimit else { return [name] }
            guard let parts = siteParts(name) else { return ["…" + name.suffix(drawnLabelLimit - 1)] }
            let site = "\(parts.verb) at \(parts.site)"
            let whole = site + (parts.function.map { " in \($0)" } ?? "")
            // The function on a third line rather than the site cut.
            let lines = whole.count <= drawnLineLimit ? [whole] : [site] + (parts.function.map { ["in \($0)"] } ?? [])
            return ([parts.kind] + lines).map { middleCut($0, drawnLineLimit) }
        }
        let counts = Dictionary(drawn.map { ($0, 1) }, uniquingKeysWith: +)
        return Dictionary(
            zip(names, zip(names, drawn).map { counts[$1]! > 1 ? [$0] : $1 }), uniquingKeysWith: { a, _ in a })
    }

    private static func svgStart(id: String, width: Double, height: Double, label: String) -> String {
        let (w, h) = (Int(width.rounded(.up)), Int(height.rounded(.up)))
        // Scaled down on a narrow window rather than cut off.
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\" width=\"\(w)\" height=\"\(h)\""
        svg += " viewBox=\"0 0 \(w) \(h)\" style=\"max-width:100%;height:auto\" role=\"img\" aria-label=\"\(label)\""
        svg += " font-family=\"ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace\""
        svg += " font-size=\"\(Int(fontSize))\">\n<defs>"
        // Grey arrowheads fit between the edges that share a side of a box.
        for (suffix, color, size) in [("a", grey, 5), ("r", red, 6)] {
            svg += "<marker id=\"\(id)-\(suffix)\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"\(size)\""
            svg +=
                " markerHeight=\"\(size)\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"\(color)\"/></marker>"
        }
        return svg + "</defs>\n"
    }

    private static func edgePath(_ path: String, id: String, red: Bool, dashed: Bool = false) -> String {
        var svg = "<path d=\"\(path)\" fill=\"none\" stroke=\"\(red ? Self.red : grey)\""
        svg += " stroke-width=\"\(red ? "2" : "1.2")\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")"
        return svg + " marker-end=\"url(#\(id)-\(red ? "r" : "a"))\"/>\n"
    }

    private static func node(_ name: String, box: Box, red: Bool) -> String {
        var svg = "<g class=\"node\" data-class=\"\(escape(name))\"><title>\(escape(name))</title>"
        svg += "<rect x=\"\(number(box.x))\" y=\"\(number(box.y - box.height / 2))\" width=\"\(number(box.width))\""
        svg += " height=\"\(number(box.height))\" rx=\"4\" fill=\"\(red ? "#ffebee" : "#eceff1")\""
        svg += " stroke=\"\(red ? Self.red : "#90a4ae")\"\(red ? " stroke-width=\"1.5\"" : "")/>"
        // Lines centred on the box's middle, each its own tspan.
        let top = box.y - Double(box.label.count - 1) * lineHeight / 2
        svg += "<text x=\"\(number(box.x + 6))\" y=\"\(number(top))\"\(box.label.count == 1 ? " dy=\"0.35em\"" : "")"
        svg += "\(red ? " fill=\"#b71c1c\"" : " fill=\"#263238\"")>"
        if box.label.count == 1 {
            svg += escape(box.label[0])
        } else {
            for (index, line) in box.label.enumerated() {
                svg += "<tspan x=\"\(number(box.x + 6))\" dy=\"\(index == 0 ? "0.35em" : "\(Int(lineHeight))")\">"
                svg += "\(escape(line))</tspan>"
            }
        }
        svg += "</text></g>\n"
        return svg
    }

    /// The edges of a cycle picture. Edges sharing a side of a box spread along it, ordered by where
    /// their other ends are, so that arrowheads do not pile up and edges in both directions stay apart.
    private static func draw(
        _ edges: [PictureEdge], id: String, boxes: [String: Box], bow: Double, cycleCentre: Double
    ) -> String {
        struct Port: Hashable {
            var name: String
            var side: Side
        }
        var users: [Port: [(edge: Int, other: Double)]] = [:]
        for (index, edge) in edges.enumerated() {
            let (a, b) = (boxes[edge.from]!, boxes[edge.to]!)
            users[Port(name: edge.from, side: edge.fromSide), default: []].append((index * 2, b.y))
            users[Port(name: edge.to, side: edge.toSide), default: []].append((index * 2 + 1, a.y))
        }
        var offset: [Int: Double] = [:]
        for (_, list) in users {
            let sorted = list.sorted { ($0.other, $0.edge) < ($1.other, $1.edge) }
            for (position, user) in sorted.enumerated() {
                offset[user.edge] = (Double(position) - Double(sorted.count - 1) / 2) * portStep
            }
        }
        func point(_ box: Box, _ side: Side, _ shift: Double) -> (x: Double, y: Double) {
            switch side {
            case .left: return (box.x, box.y + shift)
            case .right: return (box.x + box.width, box.y + shift)
            case .top: return (box.centre, box.y - box.height / 2)
            case .bottom: return (box.centre, box.y + box.height / 2)
            }
        }
        var svg = ""
        for (index, edge) in edges.enumerated() {
            let (a, b) = (boxes[edge.from]!, boxes[edge.to]!)
            let start = point(a, edge.fromSide, offset[index * 2] ?? 0)
            let end = point(b, edge.toSide, offset[index * 2 + 1] ?? 0)
            let path: String
            switch (edge.fromSide, edge.toSide) {
            case (.bottom, .top):
                path = "M\(number(start.x)),\(number(start.y)) L\(number(end.x)),\(number(end.y))"
            case (.right, .right), (.left, .left):
                // Around the cycle column, further out the more rows it spans.
                let reach = bow + 8 * max(abs(start.y - end.y) / 50 - 1, 0)
                let x = edge.fromSide == .right ? cycleCentre + reach : cycleCentre - reach
                path =
                    "M\(number(start.x)),\(number(start.y)) C\(number(x)),\(number(start.y))"
                    + " \(number(x)),\(number(end.y)) \(number(end.x)),\(number(end.y))"
            default:
                let middle = (start.x + end.x) / 2
                path =
                    "M\(number(start.x)),\(number(start.y)) C\(number(middle)),\(number(start.y))"
                    + " \(number(middle)),\(number(end.y)) \(number(end.x)),\(number(end.y))"
            }
            svg += edgePath(path, id: id, red: edge.red, dashed: edge.dashed)
        }
        return svg
    }
}
