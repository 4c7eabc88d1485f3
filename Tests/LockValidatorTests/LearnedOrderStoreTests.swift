import LockValidator
import Testing

/// The learned-order store's file format and bookkeeping, in one process (`CrossProcessTests` runs it
/// between processes).
@Suite struct LearnedOrderStoreTests {
    static let process = ValidationReport.ProcessDescription(
        pid: 41, executable: "/build/Tests\twith a tab.xctest", arguments: ["--filter", "A\\B"], run: "7@99")

    static func edge(
        _ from: String, _ to: String, line: UInt = 3, stack: StackTrace? = nil,
        process: ValidationReport.ProcessDescription? = Self.process
    ) -> ValidationReport.Edge {
        ValidationReport.Edge(
            from: from, to: to, fromAcquiredAt: .source(fileID: "App/A.swift", line: 1),
            toAcquiredAt: .source(fileID: "App/B.swift", line: line), irql: .dispatch,
            thread: ThreadInfo(serial: 2, osThreadID: 4242, name: "worker, one"), stack: stack, process: process)
    }

    static let frames = [
        StackTrace.Frame(
            address: 0x5555_0000_1000, symbol: "App.Cache.fill()", offset: 12, file: "/src/A.swift", line: 7),
        StackTrace.Frame(address: 0x5555_0000_2000, symbol: nil, offset: nil, file: nil, line: nil),
    ]

    @Test func aStoreReadsBackAsWritten() throws {
        var store = LearnedOrderStore()
        store.addRun(
            [
                Self.edge("Cache.lock", "Index\tlock\nwith \\ escapes", stack: StackTrace(frames: Self.frames)),
                Self.edge("Index\tlock\nwith \\ escapes", "Log.lock", line: 9, process: nil),
                Self.edge("Log.lock", "Disk.lock", stack: StackTrace(addresses: [])),  // a stack past the cap
            ], seen: [])
        let read = try LearnedOrderStore(parsing: store.text(), from: "test.graph")
        #expect(read.runs == 1)
        #expect(read.orders.map(\.edge) == store.orders.map(\.edge))
        let first = try #require(read.orders.first)
        #expect(first.edge.to == "Index\tlock\nwith \\ escapes")
        #expect(first.edge.process == Self.process)
        #expect(first.edge.thread?.name == "worker, one")
        #expect(first.edge.stack?.symbolicated() == Self.frames)
        #expect(read.orders[1].edge.process == nil && read.orders[1].edge.stack == nil)
        #expect(read.orders[2].edge.stack?.addresses == [])
        #expect(read.text() == store.text(), "written again, byte for byte")
    }

    @Test func aKnownOrderKeepsItsFirstStackAndGetsTheLaterRun() throws {
        var store = LearnedOrderStore()
        store.addRun([Self.edge("A", "B", stack: StackTrace(frames: Self.frames))], seen: [])
        store.addRun([Self.edge("A", "B", line: 5), Self.edge("B", "C")], seen: [])
        store.addRun([], seen: [(from: "B", to: "C"), (from: "X", to: "Y")])
        let orders = try LearnedOrderStore(parsing: store.text(), from: "test.graph").orders
        #expect(
            orders.map { "\($0.edge.from)>\($0.edge.to) \($0.firstRun)...\($0.lastRun)" } == ["A>B 1...2", "B>C 2...3"])
        #expect(orders[0].edge.toAcquiredAt.source?.line == 3 && orders[0].edge.stack != nil)
    }

    @Test func pruningDropsOldOrdersAndWhatOnlyTheyNamed() throws {
        var store = LearnedOrderStore()
        store.addRun([Self.edge("Old.A", "Old.B", line: 77, stack: StackTrace(frames: Self.frames))], seen: [])
        store.addRun([Self.edge("New.A", "New.B", process: nil)], seen: [])
        store.addRun([], seen: [(from: "New.A", to: "New.B")])
        #expect(store.prune(notSeenFor: 2) == 1)
        let text = store.text()
        #expect(!text.contains("Old.") && !text.contains("B.swift:77") && !text.contains("Cache.fill"))
        let read = try LearnedOrderStore(parsing: text, from: "test.graph")
        #expect(read.runs == 3 && read.orders.map(\.edge.from) == ["New.A"])
        #expect(read.asReport(path: "test.graph").graph.classes.map(\.name) == ["New.A", "New.B"])
    }

    @Test(arguments: [
        ("E\t0\t9\t0\t0\t2\t-\t-\t1\t1\t-", "line 5: malformed edge"),  // a class number past the table
        ("E\t0\t1\t0\t0\t2\t5\t-\t1\t1\t-", "line 5: malformed edge"),  // a stack number past the table
        (
            "E\t0\t1\t0\t0\t2\t-\t-\t1\t1\t-\nE\t0\t1\t0\t0\t2\t-\t-\t1\t1\t-",
            "the order \"A\" -> \"B\" is listed twice"
        ),
        ("E\t0\tone\t0\t0\t2\t-\t-\t1\t1\t-", "line 5: malformed edge"),  // not a number
        ("E\t0\t1\t0\t0\t2\t-\t-\t1\t1", "line 5: malformed edge"),  // nine numbers
        ("X\tsomething", "line 5: unknown or malformed record \"X\""),
    ])
    func aMalformedLineIsOneErrorNamingItsLine(edgeLines: String, problem: String) {
        let text =
            "lockvalidator-graph/1\truns\t1\nC\tA\tApp/A.swift:1\nC\tB\tApp/A.swift:2\nT\tApp/A.swift:1\n"
            + edgeLines + "\nend\t\(edgeLines.split(separator: "\n").count)\n"
        let error = #expect(throws: ReportFileError.self) { try LearnedOrderStore(parsing: text, from: "bad.graph") }
        #expect(error?.description == "bad.graph: \(problem)")
    }
}
