extension LearnedOrderStore {
    /// The store as text:
    ///
    ///     lockvalidator-graph/1	runs	<runs>
    ///     P	<pid>	<run>	<executable>	<argument>…
    ///     S	<address>␟<symbol>␟<offset>␟<file>␟<line>	…          (one stack, a frame per field)
    ///     C	<name>	<site>
    ///     E	<from>	<to>	<held since>	<acquired at>	<IRQL>	<stack>	<process>	<first run>	<last run>	<thread>
    ///     end	<edge count>
    ///
    /// Processes, stacks and classes are numbered in the order listed; `-` is "none". Tabs, newlines and
    /// backslashes inside a field are escaped.
    public func text() -> String {
        var processes: [ValidationReport.ProcessDescription: Int] = [:]
        var stacks: [String: Int] = [:]
        var classes: [String: Int] = [:]
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
                let line = (["S"] + stack.symbolicated().map(Self.field)).joined(separator: "\t")
                return number(line, in: &stacks) { line }
            }
            let from = number(edge.from, in: &classes) { "C\t\(Self.escaped(edge.from))\t\(edge.fromAcquiredAt)" }
            let to = number(edge.to, in: &classes) { "C\t\(Self.escaped(edge.to))\t\(edge.toAcquiredAt)" }
            let thread = edge.thread.map { "\($0.serial),\($0.osThreadID),\(Self.escaped($0.name ?? ""))" } ?? "-"
            lines.append(
                [
                    "E", String(from), String(to), Self.escaped(edge.fromAcquiredAt.description),
                    Self.escaped(edge.toAcquiredAt.description), String(edge.irql.rawValue),
                    stack.map(String.init) ?? "-", process.map(String.init) ?? "-", String(order.firstRun),
                    String(order.lastRun), thread,
                ].joined(separator: "\t"))
        }
        lines.append("end\t\(orders.count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a store written by ``text()``.
    ///
    /// - Throws: ``ReportFileError``, one line naming `path`, for a file that is not a store, is cut off,
    ///   or has a malformed line.
    public init(parsing text: String, from path: String) throws(ReportFileError) {
        self.init()
        func fail(_ line: Int, _ problem: String) -> ReportFileError {
            ReportFileError(description: "\(path): line \(line): \(problem)")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        if lines.last == "" { lines.removeLast() }
        guard let header = lines.first?.split(separator: "\t"), header.first.map(String.init) == Self.schemaName
        else {
            throw ReportFileError(description: "\(path): not a learned-order store (no \"\(Self.schemaName)\" line)")
        }
        guard header.count == 3, header[1] == "runs", let runs = Int(header[2]) else {
            throw fail(1, "malformed \(Self.schemaName) header")
        }
        self.runs = runs
        var processes: [ValidationReport.ProcessDescription] = []
        var stacks: [StackTrace] = []
        var classes: [String] = []
        var ended = false
        for (offset, line) in lines.dropFirst().enumerated() {
            let number = offset + 2
            guard !ended else { throw fail(number, "text after the end line") }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            switch fields.first {
            case "P":
                guard fields.count >= 4, let pid = Int32(fields[1]) else { throw fail(number, "malformed process") }
                processes.append(
                    ValidationReport.ProcessDescription(
                        pid: pid, executable: Self.unescaped(fields[3]),
                        arguments: fields.dropFirst(4).map(Self.unescaped),
                        run: fields[2] == "-" ? nil : Self.unescaped(fields[2])))
            case "S":
                let frames = fields.dropFirst().map(Self.frame)
                guard !frames.contains(where: { $0 == nil }) else { throw fail(number, "malformed stack frame") }
                stacks.append(StackTrace(frames: frames.map { $0! }))
            case "C":
                guard fields.count == 3 else { throw fail(number, "malformed class") }
                classes.append(Self.unescaped(fields[1]))
            case "E":
                guard fields.count == 11, let from = Int(fields[1]), let to = Int(fields[2]),
                    classes.indices.contains(from), classes.indices.contains(to),
                    let fromSite = SourceSite(Self.unescaped(fields[3])) ?? Self.codeSite(fields[3]),
                    let toSite = SourceSite(Self.unescaped(fields[4])) ?? Self.codeSite(fields[4]),
                    let level = UInt8(fields[5]), let irql = IRQL(rawValue: level),
                    let firstRun = Int(fields[8]), let lastRun = Int(fields[9])
                else { throw fail(number, "malformed edge") }
                let stack = Int(fields[6]).flatMap { stacks.indices.contains($0) ? stacks[$0] : nil }
                let process = Int(fields[7]).flatMap { processes.indices.contains($0) ? processes[$0] : nil }
                let edge = ValidationReport.Edge(
                    from: classes[from], to: classes[to], fromAcquiredAt: fromSite, toAcquiredAt: toSite, irql: irql,
                    thread: Self.thread(fields[10]), stack: stack, process: process)
                add(edge, firstRun: firstRun, lastRun: lastRun)
            case "end":
                guard fields.count == 2, Int(fields[1]) == orders.count else {
                    throw fail(
                        number, "the end line counts \(fields.dropFirst().joined()) edges, the file has \(orders.count)"
                    )
                }
                ended = true
            default:
                throw fail(number, "unknown record \"\(fields.first ?? "")\"")
            }
        }
        guard ended else { throw ReportFileError(description: "\(path): cut off (no end line): a partial store") }
    }

    /// A code address's site, written as its name alone (`function+0x1c`).
    private static func codeSite(_ field: Substring) -> SourceSite? {
        field.contains("+0x") ? SourceSite(fileID: unescaped(field), line: 0) : nil
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
        let parts = field.split(separator: frameSeparator, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].hasPrefix("0x"), let address = UInt(parts[0].dropFirst(2), radix: 16) else {
            return nil
        }
        func optional(_ part: Substring) -> String? { part.isEmpty ? nil : unescaped(part) }
        return StackTrace.Frame(
            address: address, symbol: optional(parts[1]), offset: UInt(parts[2]), file: optional(parts[3]),
            line: Int(parts[4]))
    }

    static func escaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == frameSeparator }) else {
            return text
        }
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
        guard text.contains("\\") else { return String(text) }
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
