import Foundation
import LockValidator
import LockValidatorReports
import Testing

/// The HTML page of a large merged graph: each cycle drawn with a few neighbours, every edge listed
/// with a filter by class name, every name escaped.
@Suite struct HTMLRenderingTests {
    typealias Graph = ValidationReport.Graph

    static func name(_ index: Int) -> String { "Net.Driver\(index % 17).QueueLock\(index)" }

    static func edge(_ from: String, _ to: String) -> ValidationReport.Edge {
        ValidationReport.Edge(
            from: from, to: to, fromAcquiredAt: .source(fileID: "Driver/Queue.swift", line: 10),
            toAcquiredAt: .source(fileID: "Driver/Queue.swift", line: 20), irql: .dispatch)
    }

    /// `count` classes with about three edges each, always from a lower number to a higher one (so
    /// without a cycle), and `extra` edges at the end.
    static func graph(classes count: Int, extra: [ValidationReport.Edge] = []) -> Graph {
        var pairs: Set<[Int]> = []
        var edges: [ValidationReport.Edge] = []
        var seed: UInt64 = 42
        for from in 0..<count - 1 {
            for _ in 0..<3 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let to = from + 1 + Int((seed >> 33) % UInt64(min(count - from - 1, 60)))
                if pairs.insert([from, to]).inserted { edges.append(edge(name(from), name(to))) }
            }
        }
        let extraPairs = Set(extra.map { [$0.from, $0.to] })
        edges.removeAll { extraPairs.contains([$0.from, $0.to]) }
        let classes = (0..<count).map {
            ValidationReport.ClassDescription(
                name: name($0), site: .source(fileID: "Driver/Locks.swift", line: UInt($0 + 1)), irqls: [.dispatch])
        }
        return Graph(classes: classes, edges: edges + extra)
    }

    /// A `lock-order-inversion` around `cycle`, decoded as a report file holds it: the closing edge
    /// (last to first) first, then the chain back to it.
    static func inversion(_ cycle: [String]) throws -> Violation {
        func lock(_ name: String) -> [String: Any] { ["name": name, "site": "Driver/Locks.swift:3", "instance": 1] }
        let thread: [String: Any] = ["serial": 1, "osThreadID": 4242]
        let pairs = [(cycle[cycle.count - 1], cycle[0])] + zip(cycle, cycle.dropFirst()).map { ($0, $1) }
        let edges = pairs.map { from, to -> [String: Any] in
            [
                "from": lock(from), "to": lock(to), "fromAcquiredAt": "Driver/Queue.swift:10",
                "toAcquiredAt": "Driver/Queue.swift:20", "irql": "DISPATCH_LEVEL", "thread": thread, "stack": [],
            ]
        }
        let object: [String: Any] = [
            "rule": "lock-order-inversion", "summary": "possible circular locking dependency detected",
            "severity": "error", "occurrences": 1, "thread": thread, "irql": "DISPATCH_LEVEL",
            "locks": [lock(cycle[0]), lock(cycle[cycle.count - 1])], "site": "Driver/Queue.swift:20", "edges": edges,
            "heldLocks": [], "stack": [],
        ]
        let violation = try JSONDecoder().decode(Violation.self, from: JSONSerialization.data(withJSONObject: object))
        try #require(violation.cycle == cycle)
        return violation
    }

    static func report(_ graph: Graph, violations: [Violation] = []) -> ValidationReport {
        ValidationReport(
            process: .init(pid: 7, executable: "merged", arguments: []),
            config: .init(settings: Configuration(), errors: []), violations: violations, suppressed: [],
            graph: graph, chains: 0)
    }

    /// A report of one inversion whose graph holds just the cycle.
    static func cycleOnly(_ cycle: [String]) throws -> ValidationReport {
        report(Graph(classes: [], edges: cycleEdges(cycle)), violations: [try inversion(cycle)])
    }

    /// The cycle's edges, as the graph of the process that found it has them.
    static func cycleEdges(_ cycle: [String]) -> [ValidationReport.Edge] {
        zip(cycle, cycle.dropFirst() + [cycle[0]]).map { edge($0, $1) }
    }

    /// One SVG of the page, by its id.
    static func svg(_ id: String, in html: String) throws -> Substring {
        let start = try #require(html.range(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\""))
        let end = try #require(html[start.upperBound...].range(of: "</svg>"))
        return html[start.lowerBound..<end.upperBound]
    }

    /// The rows of the edge table.
    static func listedRows(_ html: String) throws -> Int {
        let body = try #require(html.range(of: "<tbody>")?.upperBound)
        let end = try #require(html[body...].range(of: "</tbody>")?.lowerBound)
        return html[body..<end].ranges(of: "<tr").count
    }

    @Test func aThousandClassesDrawTheCycleWithAFewNeighboursAndListEveryEdge() throws {
        let cycle = [Self.name(100), Self.name(200), Self.name(300)]
        let report = Self.report(
            Self.graph(classes: 1_000, extra: Self.cycleEdges(cycle)), violations: [try Self.inversion(cycle)])
        let html = report.html()
        let picture = try Self.svg("lv-cycle0", in: html)
        for name in cycle { #expect(picture.contains("data-class=\"\(name)\"")) }
        // The cycle classes and at most 12 neighbours, of the many that have an edge to or from them.
        let drawn = picture.ranges(of: "class=\"node\"").count
        #expect(drawn > cycle.count && drawn <= cycle.count + 12)
        #expect(html.contains("of \(Self.neighbours(of: cycle, in: report.graph).count) classes with the most edges"))
        #expect(picture.contains("stroke-dasharray"))
        #expect(picture.ranges(of: "stroke=\"#c62828\" stroke-width=\"2\"").count == 3)
        // No overview of the whole graph beside the cycle.
        #expect(!html.contains("id=\"lv-graph\""))

        #expect(html.contains("<input id=\"edge-filter\""))
        #expect(html.contains("<script>") && !html.contains("<script src"))
        #expect(try Self.listedRows(html) == report.graph.edges.count)
        #expect(html.hasSuffix("</html>\n"))
        #expect(html.utf8.count < 1_000_000, "\(html.utf8.count) bytes")
    }

    static func neighbours(of cycle: [String], in graph: Graph) -> Set<String> {
        let members = Set(cycle)
        return Set(
            graph.edges.filter { members.contains($0.from) != members.contains($0.to) }.map {
                members.contains($0.from) ? $0.to : $0.from
            })
    }

    @Test func theNeighboursWithTheMostEdgesToTheCycleAreDrawnBesideIt() throws {
        let cycle = ["A", "B", "C"]
        // Five classes taken before A and after C; fifteen only before A.
        let strong = (0..<5).flatMap { [Self.edge("Strong\($0)", "A"), Self.edge("C", "Strong\($0)")] }
        let weak = (0..<15).map { Self.edge("Weak\($0)", "A") }
        let graph = Graph(classes: [], edges: Self.cycleEdges(cycle) + weak + strong)
        let html = Self.report(graph, violations: [try Self.inversion(cycle)]).html()
        let picture = try Self.svg("lv-cycle0", in: html)
        #expect(picture.ranges(of: "class=\"node\"").count == 15)
        for index in 0..<5 { #expect(picture.contains("data-class=\"Strong\(index)\"")) }
        #expect(picture.ranges(of: "data-class=\"Weak").count == 7)
        #expect(html.contains("the 12 of 20 classes with the most edges"))
    }

    @Test func beyondTheCapTheTableSaysHowManyEdgesAreLeftOutAndKeepsTheCycle() throws {
        let cycle = [Self.name(10), Self.name(20), Self.name(30)]
        var edges: [ValidationReport.Edge] = []
        outer: for from in 0..<1_000 {
            for to in from + 1..<1_000 where ![[10, 20], [20, 30]].contains([from, to]) {
                edges.append(Self.edge(Self.name(from), Self.name(to)))
                if edges.count == 20_002 { break outer }
            }
        }
        // The cycle's edges come last in the graph, and first in the table.
        let graph = Graph(classes: [], edges: edges + Self.cycleEdges(cycle))
        let html = Self.report(graph, violations: [try Self.inversion(cycle)]).html()
        #expect(try Self.listedRows(html) == 20_000)
        #expect(html.contains("20005 edges; the first 20000 are listed, 5 more are left out."))
        #expect(html.ranges(of: "<tr class=\"cycle\">").count == 3)
    }

    @Test func withoutACycleTheMostConnectedClassesAreDrawnAndThePageWorksWithoutScript() throws {
        let graph = Self.graph(classes: 1_000)
        let html = Self.report(graph).html()
        let picture = try Self.svg("lv-graph", in: html)
        #expect(picture.ranges(of: "class=\"node\"").count == 24)
        let degree = Dictionary(graph.edges.flatMap { [($0.from, 1), ($0.to, 1)] }, uniquingKeysWith: +)
        let hub = try #require(degree.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key)
        #expect(picture.contains("data-class=\"\(hub)\""))
        #expect(!html.contains("lv-cycle") && !html.contains("stroke-dasharray"))
        #expect(html.contains("<p>None.</p>"))
        // Without script the filter stays hidden and the table is open.
        #expect(html.contains("id=\"edge-filter-box\" hidden"))
        let beforeTable = try #require(html.range(of: "<table id=\"edges\"")).lowerBound
        #expect(
            html[..<beforeTable].ranges(of: "<details").count == html[..<beforeTable].ranges(of: "</details>").count)
        #expect(try Self.listedRows(html) == graph.edges.count)

        let empty = Self.report(Graph(classes: [], edges: [])).html()
        #expect(empty.contains("No lock-order edges.") && empty.hasSuffix("</html>\n"))
    }

    @Test func longNamesAreShortenedToTheirEndsUnlessTheEndsReadTheSame() throws {
        let tail = ".Storage.BlockDeviceQueue.RequestCompletionLock"
        let (first, second, third) = ("com.example.first" + tail, "com.example.other" + tail, "Short.Lock")
        let cycle = [first, second, third]
        let html = try Self.cycleOnly(cycle).html()
        let picture = try Self.svg("lv-cycle0", in: html)
        #expect(picture.contains(">\(first)</text>") && picture.contains(">\(second)</text>"))
        #expect(picture.contains(">\(third)</text>"))

        let distinct = (0..<3).map { "com.example.storage.BlockDeviceQueue\($0).RequestCompletionLock" }
        let shortened = try Self.svg("lv-cycle0", in: try Self.cycleOnly(distinct).html())
        for index in 0..<3 { #expect(shortened.contains(">…BlockDeviceQueue\(index).RequestCompletionLock</text>")) }
    }

    @Test func namesAreEscapedEverywhere() throws {
        let odd = "Q<&\"x'>"
        let cycle = [odd, "Plain"]
        let graph = Graph(classes: [], edges: Self.cycleEdges(cycle) + [Self.edge("Before", odd)])
        let html = Self.report(graph, violations: [try Self.inversion(cycle)]).html()
        #expect(!html.contains(odd) && !html.contains("<&"))
        let escaped = "Q&lt;&amp;&quot;x&#39;&gt;"
        #expect(try Self.svg("lv-cycle0", in: html).contains("data-class=\"\(escaped)\""))
        #expect(html.contains("<td>\(escaped)</td>"))
        #expect(html.contains("<title>\(escaped)</title>"))
    }

    /// A class named by where its locks were created is drawn on two lines, what then where, rather
    /// than cut from the left (`…ted at Queues.swift:5:13 in Queues.init` lost the queue's label).
    @Test func siteNamedClassesKeepWhatTheyAreAndWhere() throws {
        let (a, b) = (
            "serial queue app.queue.a created at Queues.swift:5:13 in Queues.init",
            "NSLock created at Cache.swift:5:21 in Cache.init"
        )
        let picture = try Self.svg("lv-cycle0", in: try Self.cycleOnly([a, b]).html())
        #expect(!picture.contains("…"), "\(picture)")
        for (kind, site) in [
            ("serial queue app.queue.a", "created at Queues.swift:5:13 in Queues.init"),
            ("NSLock", "created at Cache.swift:5:21 in Cache.init"),
        ] {
            #expect(picture.contains(">\(kind)</tspan><tspan x=\""), "\(picture)")
            #expect(picture.contains(">\(site)</tspan></text>"), "\(picture)")
        }
        #expect(picture.contains("<title>\(a)</title>"))
        // A long function goes on a third line, the site kept whole; a kind still too long is cut in its
        // middle, its start and its end kept.
        let long =
            "serial queue com.example.storage.block-device.requests created at Queues.swift:5:13 in "
            + "Queues.init(configuration:)"
        let cut = try Self.svg("lv-cycle0", in: try Self.cycleOnly([long, b]).html())
        #expect(cut.contains(">serial queue com.exampl…ge.block-device.requests</tspan>"), "\(cut)")
        #expect(cut.contains(">created at Queues.swift:5:13</tspan>"), "\(cut)")
        #expect(cut.contains(">in Queues.init(configuration:)</tspan></text>"), "\(cut)")
    }

    /// Without a cycle, names are drawn on one line around a circle: the kind and the site stay.
    @Test func siteNamedClassesAroundTheCircleKeepTheKindAndTheSite() throws {
        let (a, b) = (
            "serial queue app.queue.a created at Queues.swift:5:13 in Queues.init",
            "NSLock created at Cache.swift:5:21 in Cache.init"
        )
        let classes = [a, b].map { ValidationReport.ClassDescription(name: $0, site: nil, irqls: [.passive]) }
        let html = Self.report(Graph(classes: classes, edges: [Self.edge(a, b)])).html()
        let picture = try Self.svg("lv-graph", in: html)
        #expect(picture.contains(">serial queue app.queue.a at Queues.swift:5:13</text>"), "\(picture)")
        #expect(picture.contains(">NSLock created at Cache.swift:5:21</text>"), "\(picture)")
    }

    /// The edge table fits its box: fixed columns whose cells wrap, rather than a table wider than the page.
    @Test func theEdgeTableWrapsItsCellsToFitThePage() throws {
        let html = try Self.cycleOnly(["A", "B"]).html()
        #expect(html.contains(".edges table { width: 100%; table-layout: fixed; }"))
        #expect(html.contains(".edges td { overflow-wrap: anywhere;"))
        #expect(html.contains("<table id=\"edges\"><colgroup>"))
        #expect(!html.contains("display: inline-block"))
        // An IRQL is one word: its cell never breaks "DISPATCH_LEVEL" in two.
        #expect(html.contains("<td class=\"irql\">DISPATCH_LEVEL</td>"))
        #expect(html.contains(".edges td.irql { overflow-wrap: normal; white-space: nowrap; }"))
    }

    /// A violation found in two test processes credits both tests in the merged report and its page.
    @Test func aMergedViolationNamesEveryScopeItCameFrom() throws {
        func report(scope: String, pid: Int32) throws -> ValidationReport {
            let thread: [String: Any] = ["serial": 1, "osThreadID": Int(pid)]
            let lock: [String: Any] = ["name": "NSLock created at Cache.swift:5:21 in Cache.init", "instance": 3]
            let object: [String: Any] = [
                "rule": "recursive-acquire", "summary": "is trying to acquire a lock it holds", "severity": "error",
                "occurrences": 1, "thread": thread, "irql": "PASSIVE_LEVEL", "locks": [lock],
                "site": "AppCore/Cache.swift:41", "heldLocks": [], "stack": [], "scope": scope,
            ]
            let violation = try JSONDecoder().decode(
                Violation.self, from: JSONSerialization.data(withJSONObject: object))
            var report = Self.report(Graph(classes: [], edges: []), violations: [violation])
            report.process = .init(pid: pid, executable: "AppPackageTests.xctest", arguments: [])
            return report
        }
        let xctest = try report(scope: "AppXCTests.testRecursiveNSLock", pid: 10)
        let testing = try report(scope: "AppTests/recursiveNSLock()", pid: 11)
        let merged = ValidationReport.merged([xctest, testing, xctest])
        #expect(merged.violations.count == 1)
        #expect(merged.violations.first?.occurrences == 3)
        #expect(merged.violations.first?.scope == "AppXCTests.testRecursiveNSLock, AppTests/recursiveNSLock()")
        let both = "<p class=\"muted\">in AppXCTests.testRecursiveNSLock, AppTests/recursiveNSLock()</p>"
        #expect(merged.html().contains(both))
        // One scope stays one.
        #expect(ValidationReport.merged([xctest, xctest]).violations.first?.scope == "AppXCTests.testRecursiveNSLock")
    }
}
