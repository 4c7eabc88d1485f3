extension LearnedOrderStore {
    /// The store as text:
    ///
    ///     lockvalidator-graph/1	runs	<runs>
    ///     P	<pid>	<run>	<executable>	<argument>…
    ///     S	<address>␟<symbol>␟<offset>␟<file>␟<line>	…          (one stack, a frame per field)
    ///     C	<name>	<site>
    ///     T	<site>
    ///     H	<serial>,<thread id>,<name>
    ///     E	<from>	<to>	<held since>	<acquired at>	<IRQL>	<stack>	<process>	<first run>	<last run>	<thread>
    ///     end	<edge count>
    ///
    /// Processes (P), stacks (S), classes (C), sites (T) and threads (H) are numbered in the order listed,
    /// and an edge names them by number, so that an edge line is numbers only; `-` is "none". Tabs,
    /// newlines and backslashes inside a field are escaped.
    public func text() -> String {
        var processes: [ValidationReport.ProcessDescription: Int] = [:]
        var stacks: [String: Int] = [:]
        var classes: [String: Int] = [:]
        var sites: [SourceSite: Int] = [:]
        var threads: [ThreadInfo: Int] = [:]
        var lines = ["\(Self.schemaName)\truns\t\(runs)"]
        func number<Key: Hashable>(_ key: Key, in table: inout [Key: Int], line: () -> String) -> Int {
            if let known = table[key] { return known }
            table[key] = table.count
            lines.append(line())
            return table.count - 1
        }
        for order in orders {
            let edge = order.edge
            let process = edge.process.map { process in
                number(process, in: &processes) {
                    (["P", String(process.pid), process.run ?? "-", process.executable] + process.arguments)
                        .map(Self.escaped).joined(separator: "\t")
                }
            }
            // Stacks are told apart by their frames: equal addresses in two processes can be other code.
            let stack = edge.stack.map { stack in
                let frames = stack.symbolicated().prefix(ValidationReport.Graph.edgeStackDepth)
                let line = (["S"] + frames.map(Self.field)).joined(separator: "\t")
                return number(line, in: &stacks) { line }
            }
            let from = number(edge.from, in: &classes) { "C\t\(Self.escaped(edge.from))\t\(edge.fromAcquiredAt)" }
            let to = number(edge.to, in: &classes) { "C\t\(Self.escaped(edge.to))\t\(edge.toAcquiredAt)" }
            let thread = edge.thread.map { thread in
                number(thread, in: &threads) {
                    "H\t\(thread.serial),\(thread.osThreadID),\(Self.escaped(thread.name ?? ""))"
                }
            }
            let fromSite = number(edge.fromAcquiredAt, in: &sites) {
                "T\t\(Self.escaped(edge.fromAcquiredAt.description))"
            }
            let toSite = number(edge.toAcquiredAt, in: &sites) { "T\t\(Self.escaped(edge.toAcquiredAt.description))" }
            let numbers: [Int?] = [
                from, to, fromSite, toSite, Int(edge.irql.rawValue), stack, process, order.firstRun, order.lastRun,
                thread,
            ]
            lines.append((["E"] + numbers.map { $0.map(String.init) ?? "-" }).joined(separator: "\t"))
        }
        lines.append("end\t\(orders.count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the store file at `path`.
    ///
    /// - Throws: ``ReportFileError``, one line naming `path`, for a missing or unreadable file, or one
    ///   that is not a store, is cut off, or has a malformed line.
    public static func load(from path: String) throws(ReportFileError) -> LearnedOrderStore {
        guard let text = TextFile.read(path) else {
            throw ReportFileError(description: "\(path): cannot read the file (missing or unreadable)")
        }
        return try LearnedOrderStore(parsing: text, from: path)
    }

    /// Reads a store written by ``text()``.
    ///
    /// - Throws: ``ReportFileError``, one line naming `path`, for a file that is not a store, is cut off,
    ///   or has a malformed line.
    public init(parsing text: String, from path: String) throws(ReportFileError) {
        var text = text
        // Bytes, not Characters: a store of 100,000 orders is read in tens of milliseconds this way.
        let parsed = text.withUTF8 { bytes in Result { () throws(ReportFileError) in try Self(bytes, from: path) } }
        self = try parsed.get()
    }

    private init(_ bytes: UnsafeBufferPointer<UInt8>, from path: String) throws(ReportFileError) {
        self.init()
        var lines = Lines(bytes: bytes)
        guard let header = lines.next(), header.count == 3, header.string(0) == Self.schemaName else {
            throw ReportFileError(description: "\(path): not a learned-order store (no \"\(Self.schemaName)\" line)")
        }
        guard header.string(1) == "runs", let runs = header.integer(2) else {
            throw ReportFileError(description: "\(path): line 1: malformed \(Self.schemaName) header")
        }
        self.runs = runs
        var processes: [ValidationReport.ProcessDescription] = []
        var stacks: [StackTrace] = []
        var classes: [String] = []
        var sites: [SourceSite] = []
        var threads: [ThreadInfo] = []
        var pairs = Set<UInt64>()
        var ended = false
        while let fields = lines.next() {
            func fail(_ problem: String) -> ReportFileError {
                ReportFileError(description: "\(path): line \(lines.number): \(problem)")
            }
            guard !ended else { throw fail("text after the end line") }
            switch fields.first {
            case UInt8(ascii: "E") where fields.count == 11:
                guard let from = fields.integer(1), let to = fields.integer(2), classes.indices.contains(from),
                    classes.indices.contains(to), let fromSite = fields.integer(3), sites.indices.contains(fromSite),
                    let toSite = fields.integer(4), sites.indices.contains(toSite), let level = fields.integer(5),
                    let irql = IRQL(rawValue: UInt8(truncatingIfNeeded: level)), level < 256,
                    let firstRun = fields.integer(8), let lastRun = fields.integer(9)
                else { throw fail("malformed edge") }
                guard pairs.insert(UInt64(from) << 32 | UInt64(to)).inserted else { throw fail("a repeated order") }
                let stack = fields.integer(6).flatMap { stacks.indices.contains($0) ? stacks[$0] : nil }
                let process = fields.integer(7).flatMap { processes.indices.contains($0) ? processes[$0] : nil }
                let thread = fields.integer(10).flatMap { threads.indices.contains($0) ? threads[$0] : nil }
                let edge = ValidationReport.Edge(
                    from: classes[from], to: classes[to], fromAcquiredAt: sites[fromSite], toAcquiredAt: sites[toSite],
                    irql: irql,
                    thread: thread, stack: stack, process: process)
                appendParsed(Order(edge: edge, firstRun: firstRun, lastRun: lastRun))
            case UInt8(ascii: "T") where fields.count == 2:
                guard let site = Self.site(fields.string(1)) else { throw fail("malformed site") }
                sites.append(site)
            case UInt8(ascii: "H") where fields.count == 2:
                guard let thread = Self.thread(fields.string(1)[...]) else { throw fail("malformed thread") }
                threads.append(thread)
            case UInt8(ascii: "C") where fields.count == 3:
                classes.append(Self.unescaped(fields.string(1)))
            case UInt8(ascii: "S"):
                let frames = (1..<fields.count).map { Self.frame(fields.string($0)[...]) }
                guard !frames.contains(where: { $0 == nil }) else { throw fail("malformed stack frame") }
                stacks.append(StackTrace(frames: frames.map { $0! }))
            case UInt8(ascii: "P") where fields.count >= 4:
                guard let pid = fields.integer(1) else { throw fail("malformed process") }
                let run = fields.string(2)
                processes.append(
                    ValidationReport.ProcessDescription(
                        pid: Int32(truncatingIfNeeded: pid), executable: Self.unescaped(fields.string(3)),
                        arguments: (4..<fields.count).map { Self.unescaped(fields.string($0)) },
                        run: run == "-" ? nil : Self.unescaped(run)))
            case UInt8(ascii: "e") where fields.string(0) == "end" && fields.count == 2:
                guard fields.integer(1) == orders.count else {
                    throw fail("the end line counts \(fields.string(1)) edges, the file has \(orders.count)")
                }
                ended = true
            default:
                throw fail("unknown or malformed record \"\(fields.string(0))\"")
            }
        }
        guard ended else { throw ReportFileError(description: "\(path): cut off (no end line): a partial store") }
    }

    /// The tab-separated fields of each line in turn, as byte ranges.
    private struct Lines {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        var number = 0
        var fields = Fields()

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        struct Fields {
            var bytes = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
            var bounds: [Range<Int>] = []
            var count: Int { bounds.count }
            var first: UInt8? { bounds.first.flatMap { $0.isEmpty ? nil : bytes[$0.lowerBound] } }

            func string(_ index: Int) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[bounds[index]]), as: UTF8.self)
            }

            func integer(_ index: Int) -> Int? {
                let range = bounds[index]
                guard !range.isEmpty, range.count < 19 else { return nil }
                var value = 0
                for at in range {
                    let digit = Int(bytes[at]) - 48
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
        }

        mutating func next() -> Fields? {
            guard position < bytes.count else { return nil }
            number += 1
            fields.bytes = bytes
            fields.bounds.removeAll(keepingCapacity: true)
            var start = position
            while position < bytes.count && bytes[position] != 10 {
                if bytes[position] == 9 {
                    fields.bounds.append(start..<position)
                    start = position + 1
                }
                position += 1
            }
            fields.bounds.append(start..<position)
            position += 1
            return fields
        }
    }

    /// "Module/File.swift:42", or a code address's name alone (`function+0x1c`).
    private static func site(_ text: String) -> SourceSite? {
        let unescapedText = unescaped(text)
        return SourceSite(unescapedText) ?? (text.contains("+0x") ? SourceSite(fileID: unescapedText, line: 0) : nil)
    }

    private static func thread(_ field: Substring) -> ThreadInfo? {
        let parts = field.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let serial = UInt32(parts[0]), let tid = Int64(parts[1]) else { return nil }
        return ThreadInfo(serial: serial, osThreadID: tid, name: parts[2].isEmpty ? nil : unescaped(parts[2]))
    }

    private static let frameSeparator: Character = "\u{1F}"

    private static func field(_ frame: StackTrace.Frame) -> String {
        [
            "0x" + String(frame.address, radix: 16), frame.symbol ?? "", frame.offset.map { String($0) } ?? "",
            frame.file ?? "", frame.line.map { String($0) } ?? "",
        ].map(escaped).joined(separator: String(frameSeparator))
    }

    private static func frame(_ field: Substring) -> StackTrace.Frame? {
        // Split on the byte: splitting on a Character compares whole grapheme clusters.
        let parts = field.utf8.split(separator: 0x1F, omittingEmptySubsequences: false).map { Substring($0) }
        guard parts.count == 5, parts[0].hasPrefix("0x"), let address = UInt(parts[0].dropFirst(2), radix: 16) else {
            return nil
        }
        func optional(_ part: Substring) -> String? { part.isEmpty ? nil : unescaped(part) }
        return StackTrace.Frame(
            address: address, symbol: optional(parts[1]), offset: UInt(parts[2]), file: optional(parts[3]),
            line: Int(parts[4]))
    }

    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x1F }) else { return text }
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            case frameSeparator: result += "\\u"
            default: result.append(character)
            }
        }
        return result
    }

    static func unescaped<Text: StringProtocol>(_ text: Text) -> String {
        guard text.utf8.contains(0x5C) else { return String(text) }
        var result = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "t": result.append("\t")
                case "n": result.append("\n")
                case "u": result.append(frameSeparator)
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
