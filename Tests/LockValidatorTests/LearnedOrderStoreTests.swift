import Foundation
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

    @Test func anOrderFromReadHoldsKeepsItsFlagUntilARunTakesItFromAWriteHold() throws {
        var read = Self.edge("RW.A", "B")
        read.heldShared = true
        var store = LearnedOrderStore()
        store.addRun([read, Self.edge("B", "C")], seen: [])
        let text = store.text()
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("E\t") }
        // The flag is an eleventh field on the read hold's line only: other lines are as before it.
        #expect(lines.map { $0.split(separator: "\t").count } == [12, 11], "\(lines)")
        var loaded = try LearnedOrderStore(parsing: text, from: "test.graph")
        #expect(loaded.orders.map { $0.edge.heldShared } == [true, nil])
        #expect(loaded.text() == text, "written again, byte for byte")
        // Taken again from read holds: still a read hold's order; from a write hold once: no longer.
        loaded.addRun([read], seen: [])
        #expect(loaded.orders.map { $0.edge.heldShared } == [true, nil])
        loaded.addRun([Self.edge("RW.A", "B")], seen: [])
        #expect(
            try LearnedOrderStore(parsing: loaded.text(), from: "t").orders.map { $0.edge.heldShared } == [nil, nil])
    }

    /// An order into a recursive read is kept under its class's own name with flag 2 (issue 33): apart
    /// from the order into the class itself, and read back as it was written.
    @Test func anOrderIntoARecursiveReadKeepsItsClassNameAndFlag() throws {
        var intoRead = Self.edge("B", "RW.A")
        intoRead.toRecursiveRead = true
        var store = LearnedOrderStore()
        store.addRun([intoRead, Self.edge("B", "RW.A"), Self.edge("RW.A", "B")], seen: [])
        let text = store.text()
        #expect(!text.contains("(read)"), "\(text)")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("C\t") }.count == 2, "one class line each")
        let loaded = try LearnedOrderStore(parsing: text, from: "test.graph")
        #expect(loaded.droppedLines.isEmpty, "the two orders into RW.A are not one listed twice")
        #expect(loaded.orders.map { "\($0.edge.from)>\($0.edge.to) \($0.edge.toRecursiveRead == true)" }
            == ["B>RW.A true", "B>RW.A false", "RW.A>B false"])
        #expect(loaded.text() == text, "written again, byte for byte")
    }

    @Test func anEdgeLineWithoutFlagsOrWithBadFlags() throws {
        let header = "\(LearnedOrderStore.schemaName)\truns\t1\nC\tA\t-\nC\tB\t-\nT\tApp/A.swift:1\n"
        // As a store written before the flags: ten numbers, read as an order of write holds.
        let old = try LearnedOrderStore(parsing: header + "E\t0\t1\t0\t0\t0\t-\t-\t1\t1\t-\nend\t1\n", from: "t")
        #expect(old.droppedLines.isEmpty && old.orders.map { $0.edge.heldShared } == [nil])
        let flagged = try LearnedOrderStore(parsing: header + "E\t0\t1\t0\t0\t0\t-\t-\t1\t1\t-\t1\nend\t1\n", from: "t")
        #expect(flagged.droppedLines.isEmpty && flagged.orders.map { $0.edge.heldShared } == [true])
        let bad = try LearnedOrderStore(parsing: header + "E\t0\t1\t0\t0\t0\t-\t-\t1\t1\t-\tx\nend\t1\n", from: "t")
        #expect(
            bad.orders.isEmpty && bad.droppedLines.contains { $0.contains("malformed edge") }, "\(bad.droppedLines)")
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
            "1 order listed twice"
        ),
        ("E\t0\tone\t0\t0\t2\t-\t-\t1\t1\t-", "line 5: malformed edge"),  // not a number
        ("E\t0\t1\t0\t0\t2\t-\t-\t1\t1", "line 5: malformed edge"),  // nine numbers
        ("X\tsomething", "line 5: unknown or malformed record \"X\""),
    ])
    func aMalformedLineIsDroppedAndNamed(edgeLines: String, problem: String) throws {
        // A good order first: it is kept whatever the bad line after it.
        let text =
            "lockvalidator-graph/1\truns\t1\nC\tA\tApp/A.swift:1\nC\tB\tApp/A.swift:2\nC\tZ\tApp/Z.swift:1\n"
            + "T\tApp/A.swift:1\nE\t2\t0\t0\t0\t2\t-\t-\t1\t1\t-\n" + edgeLines
            + "\nend\t\(edgeLines.split(separator: "\n").count + 1)\n"
        let read = try LearnedOrderStore(parsing: text, from: "bad.graph")
        #expect(
            read.droppedLines.contains(problem.replacingOccurrences(of: "line 5", with: "line 7")),
            "\(read.droppedLines)")
        #expect(read.orders.first.map { "\($0.edge.from)>\($0.edge.to)" } == "Z>A")
    }
}

/// A store a crash cut off or garbled: what is whole is kept, what was dropped is said, and the next write
/// is whole (issue 30; before, one bad line made the store ignored for good).
@Suite struct DamagedStoreTests {
    static func store() -> LearnedOrderStore {
        var store = LearnedOrderStore()
        store.addRun(
            [
                LearnedOrderStoreTests.edge("A", "B"), LearnedOrderStoreTests.edge("B", "C"),
                LearnedOrderStoreTests.edge("C", "D"),
            ],
            classes: ["A", "B", "C", "D"].map {
                ValidationReport.ClassDescription(
                    name: $0, site: .source(fileID: "App/\($0).swift", line: 1), irqls: [])
            }, seen: [])
        return store
    }

    @Test func aCutOffStoreKeepsItsWholeLinesAndSaysWhatWasLost() throws {
        let text = Self.store().text()
        // Cut in the middle of the last edge line: that order, and the end line, are lost.
        let lastEdge = try #require(text.range(of: "\nE", options: .backwards))
        let cut = String(text[..<text.index(lastEdge.lowerBound, offsetBy: 4)])
        let read = try LearnedOrderStore(parsing: cut, from: "cut.graph")
        #expect(read.orders.map { "\($0.edge.from)>\($0.edge.to)" } == ["A>B", "B>C"])
        #expect(read.droppedLines.contains { $0.hasSuffix("malformed edge") })
        #expect(read.droppedLines.contains { $0.hasPrefix("cut off: no end line") })
        // Written again, it is whole: read back, nothing is dropped.
        let healed = try LearnedOrderStore(parsing: read.text(), from: "healed.graph")
        #expect(healed.droppedLines.isEmpty && healed.orders.count == 2)
    }

    /// A store that passed through an editor or a checkout that writes CRLF reads as it was written.
    @Test func aStoreWithCRLFLineEndsReadsAsWritten() throws {
        let text = Self.store().text()
        let read = try LearnedOrderStore(parsing: text.replacingOccurrences(of: "\n", with: "\r\n"), from: "crlf.graph")
        #expect(read.droppedLines.isEmpty, "\(read.droppedLines)")
        #expect(read.orders.count == 3 && read.text() == text)
    }

    @Test func aGarbledClassLineDropsOnlyTheOrdersThatNameIt() throws {
        let text = Self.store().text()
        // The class line of "C" cut short, as a crash would leave a line: the classes after it keep their numbers.
        let garbled = text.replacingOccurrences(of: "C\tC\t", with: "C\t")
        let read = try LearnedOrderStore(parsing: garbled, from: "garbled.graph")
        #expect(read.orders.map { "\($0.edge.from)>\($0.edge.to)" } == ["A>B"])
        #expect(read.droppedLines.first?.contains("malformed class") == true, "\(read.droppedLines)")
        #expect(read.droppedLines.count == 3, "the class line and the two orders that name it: \(read.droppedLines)")
    }

    @Test func aNewerFormatIsNamedAndRefused() {
        let text = Self.store().text().replacingOccurrences(of: "lockvalidator-graph/1", with: "lockvalidator-graph/2")
        #expect {
            try LearnedOrderStore(parsing: text, from: "new.graph")
        } throws: { error in
            // Named as newer, and said once: the runtime adds that it is ignored and left as it is.
            "\(error)".contains("a store of a newer format (lockvalidator-graph/2) than this version reads")
                && !"\(error)".contains("left as it is")
        }
        let other = Self.store().text().replacingOccurrences(of: "lockvalidator-graph/1", with: "lockvalidator-graph/x")
        #expect {
            try LearnedOrderStore(parsing: other, from: "other.graph")
        } throws: { error in
            "\(error)".contains("a store of another format (lockvalidator-graph/x)")
        }
    }

    @Test func temporaryFilesOfDeadWritersAreRemovedByTheNextWriter() throws {
        let directory = NSTemporaryDirectory() + "store-temporaries-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/lockvalidator-graph.txt"
        // No process has this id (above the kernel's limit); the parent's is alive.
        let dead = "\(path).tmp-2147483646"
        let alive = "\(path).tmp-\(getppid())"
        for file in [dead, alive] { try "partial".write(toFile: file, atomically: false, encoding: .utf8) }
        try TextFile.writeAtomically(Self.store().text(), to: path)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: alive), "a writer still running keeps its file")
    }

    /// Among thousands of other files (a busy /tmp: more directory records than glibc reads at once), the
    /// dead writer's file is found and nothing else is touched. Reading each record's name up to its NUL
    /// matters here: copying d_name's 256 bytes read past the last record of readdir's buffer, which crashed
    /// the deadlock reporter on loaded machines (AddressSanitizer: heap-buffer-overflow with 2,500 files).
    @Test func aDeadWritersFileIsFoundAmongThousandsOfOthers() throws {
        let directory = NSTemporaryDirectory() + "store-busy-directory-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for index in 0..<2_500 {
            let name = "TemporaryDirectory." + String(repeating: "x", count: index % 37 + 1) + "\(index)"
            _ = FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: nil)
        }
        let path = directory + "/lockvalidator-graph.txt"
        let dead = "\(path).tmp-2147483646"
        try "partial".write(toFile: dead, atomically: false, encoding: .utf8)
        try TextFile.writeAtomically(Self.store().text(), to: path)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 2_501)
    }

    @Test func aStoreDirectoryIsMadeWithTheDirectoriesAboveIt() throws {
        let directory = NSTemporaryDirectory() + "store-nested-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = LearnedOrderStore.file(for: directory + "/runs/ci/")
        #expect(file == directory + "/runs/ci/lockvalidator-graph.txt")
        var isDirectory: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: directory + "/runs/ci", isDirectory: &isDirectory)
                && isDirectory.boolValue)
    }
}
