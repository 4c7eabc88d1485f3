extension LearnedOrderStore {
    /// The store as text:
    ///
    ///     lockvalidator-graph/1	runs	<runs>
    ///     P	<pid>	<run>	<executable>	<argument>…
    ///     S	<address>␟<symbol>␟<offset>␟<file>␟<line>	…          (one stack, a frame per field)
    ///     C	<name>	<site>                                                 (`-`: none)
    ///     T	<site>
    ///
    /// A site is `Module/File.swift:42`, or a code site `@<module>␟0x<address>␟<function>␟<offset>␟<file>␟<line>␟<column>`.
    ///     H	<serial>,<thread id>,<name>
    ///     E	<from>	<to>	<held since>	<acquired at>	<IRQL>	<stack>	<process>	<first run>	<last run>	<thread>	[<flags>]
    ///     end	<edge count>
    ///
    /// Processes (P), stacks (S), classes (C), sites (T) and threads (H) are numbered in the order listed,
    /// and an edge names them by number, so that an edge line is numbers only; `-` is "none". Tabs,
    /// newlines and backslashes inside a field are escaped. An edge's flags are written only when not 0
    /// (1: its first class was held for reading every time; 2: its second class was taken as a recursive
    /// read, the order is into that class's readers node), so that a line without them, as every store
    /// written before them has, reads as it did.
    public func text() -> String { String(decoding: encoded(), as: UTF8.self) }

    /// ``text()`` as UTF-8 bytes.
    func encoded() -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(numberedOrders.count * 48 + classes.count * 96 + stacks.count * 1024)
        func line(_ fields: [String], escaping: Bool = true) {
            text += fields.map { escaping ? Self.escaped($0) : $0 }.joined(separator: "\t").utf8
            text.append(10)
        }
        line([Self.schemaName, "runs", String(runs)])
        for process in processes {
            line(["P", String(process.pid), process.run ?? "-", process.executable] + process.arguments)
        }
        for stack in stacks.lazy.map({ $0.symbolicated() }) {
            line(stack.isEmpty ? ["S"] : ["S", Self.stackFields(stack)], escaping: false)
        }
        for (name, site) in classes { line(["C", Self.escaped(name), site.map(Self.text) ?? "-"], escaping: false) }
        for site in sites { line(["T", Self.text(site)], escaping: false) }
        for thread in threads {
            line(["H", "\(thread.serial),\(thread.osThreadID),\(Self.escaped(thread.name ?? ""))"], escaping: false)
        }
        text += Self.edgeLines(numberedOrders)
        line(["end", String(numberedOrders.count)])
        return text
    }

    /// The E lines: numbers only, written digit by digit into one buffer, so that 100,000 of them take
    /// milliseconds.
    private static func edgeLines(_ orders: [NumberedOrder]) -> [UInt8] {
        // At most "E", eleven fields of a tab and ten digits, and a newline.
        [UInt8](unsafeUninitializedCapacity: orders.count * 123) { buffer, count in
            var at = 0
            func number(_ value: UInt32) {
                buffer[at] = 9
                at += 1
                guard value != NumberedOrder.none else {
                    buffer[at] = UInt8(ascii: "-")
                    at += 1
                    return
                }
                var digits = 1
                var scale: UInt32 = 10
                while digits < 10 && value >= scale {
                    digits += 1
                    scale &*= 10
                }
                var rest = value
                for place in (0..<digits).reversed() {
                    buffer[at + place] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += digits
            }
            for order in orders {
                buffer[at] = UInt8(ascii: "E")
                at += 1
                number(order.from)
                number(order.to)
                number(order.fromSite)
                number(order.toSite)
                number(UInt32(order.irql.rawValue))
                number(order.stack)
                number(order.process)
                number(order.firstRun)
                number(order.lastRun)
                number(order.thread)
                let flags = (order.heldShared ? flagHeldShared : 0) | (order.toRecursiveRead ? flagToRecursiveRead : 0)
                if flags != 0 { number(flags) }
                buffer[at] = 10
                at += 1
            }
            count = at
        }
    }

    /// The flag of an E line's order whose first class was held for reading every time.
    static let flagHeldShared: UInt32 = 1
    /// The flag of an E line's order into its second class's recursive-readers node (a recursive read).
    static let flagToRecursiveRead: UInt32 = 2

    /// Reads the store file at `path`. What a crash or a cut-off write left malformed is dropped, and said
    /// in ``droppedLines``; the rest is kept.
    ///
    /// - Throws: ``ReportFileError``, one line naming `path`, for a missing or unreadable file, one that is
    ///   not a store, or a store of a newer format.
    public static func load(from path: String) throws(ReportFileError) -> LearnedOrderStore {
        if let problem = TextFile.whyUnreadable(path) { throw ReportFileError(description: "\(path): \(problem)") }
        guard let bytes = TextFile.bytes(path) else {
            throw ReportFileError(description: "\(path): cannot read the file")
        }
        let parsed = bytes.withUnsafeBufferPointer { bytes in
            Result { () throws(ReportFileError) in try Self(bytes, from: path) }
        }
        return try parsed.get()
    }

    /// Reads a store written by ``text()``, as ``load(from:)`` does.
    ///
    /// - Throws: ``ReportFileError``, one line naming `path`, for text that is not a store, or a store of a
    ///   newer format.
    public init(parsing text: String, from path: String) throws(ReportFileError) {
        var text = text
        // Bytes, not Characters: a store of 100,000 orders is read in tens of milliseconds this way.
        let parsed = text.withUTF8 { bytes in Result { () throws(ReportFileError) in try Self(bytes, from: path) } }
        self = try parsed.get()
    }

    /// What a store's first line says about its format.
    private static func checkHeader(_ header: Lines.Fields?, in path: String) throws(ReportFileError) -> Int {
        let family = schemaName.prefix { $0 != "/" } + "/"
        guard let header, header.count >= 1, header.string(0).hasPrefix(family) else {
            throw ReportFileError(description: "\(path): not a learned-order store (no \"\(Self.schemaName)\" line)")
        }
        guard header.string(0) == Self.schemaName else {
            // Whoever reads it says what becomes of the file (the runtime ignores it, lockval refuses it).
            let version = Int(header.string(0).dropFirst(family.count)) ?? 0
            let current = Int(Self.schemaName.dropFirst(family.count)) ?? 0
            throw ReportFileError(
                description: "\(path): a store of \(version > current ? "a newer" : "another") format"
                    + " (\(header.string(0))) than this version reads (\(Self.schemaName))")
        }
        guard header.count == 3, header.string(1) == "runs", let runs = header.integer(2) else {
            throw ReportFileError(description: "\(path): line 1: malformed \(Self.schemaName) header")
        }
        return runs
    }

    private init(_ bytes: UnsafeBufferPointer<UInt8>, from path: String) throws(ReportFileError) {
        self.init()
        var lines = Lines(bytes: bytes)
        runs = try Self.checkHeader(lines.next(), in: path)
        // Room for every edge line at once (each is at least 22 bytes): no copying as the orders grow,
        // and the estimate's spare room goes with the parse.
        numberedOrders.reserveCapacity(bytes.count / 22)
        var names = InternedStrings()
        var ended = false
        // Table rows are numbered by their place: a malformed one keeps its place, as a row no order may
        // name, so that the rows after it keep their numbers.
        var lostClasses = Set<Int>()
        var lostSites = Set<Int>()
        var dropped: [String] = []
        func drop(_ problem: String) { dropped.append("line \(lines.number): \(problem)") }
        /// Adds the order of an edge line's ten numbers (`none` for "-") and its flags, checked against the
        /// tables.
        func addEdge(_ numbers: [UInt32]) {
            func row(_ at: Int, of count: Int, optional: Bool = false) -> UInt32? {
                numbers[at] == NumberedOrder.none
                    ? (optional ? numbers[at] : nil) : numbers[at] < count ? numbers[at] : nil
            }
            guard let from = row(0, of: classes.count), let to = row(1, of: classes.count),
                let fromSite = row(2, of: sites.count), let toSite = row(3, of: sites.count),
                let level = row(4, of: 256), let irql = IRQL(rawValue: UInt8(level)),
                let stack = row(5, of: stacks.count, optional: true),
                let process = row(6, of: processes.count, optional: true),
                let firstRun = row(7, of: Int(NumberedOrder.none)), let lastRun = row(8, of: Int(NumberedOrder.none)),
                let thread = row(9, of: threads.count, optional: true), numbers[10] != NumberedOrder.none
            else { return drop("malformed edge") }
            guard !lostClasses.contains(Int(from)) && !lostClasses.contains(Int(to)) else {
                return drop("an order between classes whose lines were dropped")
            }
            let order = NumberedOrder(
                from: from, to: to, fromSite: lostSites.contains(Int(fromSite)) ? toSite : fromSite,
                toSite: lostSites.contains(Int(toSite)) ? fromSite : toSite, stack: stack, process: process,
                thread: thread, firstRun: firstRun, lastRun: lastRun, irql: irql,
                heldShared: numbers[10] & Self.flagHeldShared != 0,
                toRecursiveRead: numbers[10] & Self.flagToRecursiveRead != 0)
            guard !lostSites.contains(Int(order.fromSite)) else { return drop("an order whose sites were dropped") }
            numberedOrders.append(order)
        }
        let placeholderSite = Site.source(SourceSite(literalFileID: "?/?", line: 1))
        var edge = [UInt32](repeating: 0, count: 11)
        while true {
            // Edge lines, nearly all of a store, are read straight from the bytes.
            if !ended && edge.withUnsafeMutableBufferPointer({ lines.edge($0) }) {
                addEdge(edge)
                continue
            }
            guard let fields = lines.next() else { break }
            if ended {
                drop("text after the end line")
                continue
            }
            switch fields.first {
            case UInt8(ascii: "E"):
                drop("malformed edge")  // not ten or eleven numbers, or it would have been read above
            case UInt8(ascii: "T"):
                if fields.count == 2, let site = Self.site(fields.string(1)) {
                    sites.append(site)
                } else {
                    lostSites.insert(sites.count)
                    sites.append(placeholderSite)
                    drop("malformed site")
                }
            case UInt8(ascii: "H"):
                if fields.count == 2, let thread = Self.thread(fields.string(1)[...]) {
                    threads.append(thread)
                } else {
                    threads.append(ThreadInfo(serial: 0, osThreadID: 0, name: nil))
                    drop("malformed thread")
                }
            case UInt8(ascii: "C"):
                let text = fields.count == 3 ? fields.string(2) : ""
                let site = text == "-" ? nil : Self.site(text)
                if fields.count == 3, text == "-" || site != nil {
                    classes.append((Self.unescaped(fields.string(1)), site))
                } else {
                    lostClasses.insert(classes.count)
                    classes.append(("", nil))
                    drop("malformed class")
                }
            case UInt8(ascii: "S"):
                let frames = (1..<max(1, fields.count)).map { Self.frame(fields, $0, &names) }
                if frames.contains(where: { $0 == nil }) {
                    stacks.append(StackTrace(addresses: []))
                    drop("malformed stack")
                } else {
                    stacks.append(StackTrace(frames: frames.map { $0! }))
                }
            case UInt8(ascii: "P"):
                if fields.count >= 4, let pid = fields.integer(1) {
                    let run = fields.string(2)
                    processes.append(
                        ValidationReport.ProcessDescription(
                            pid: Int32(truncatingIfNeeded: pid), executable: Self.unescaped(fields.string(3)),
                            arguments: (4..<fields.count).map { Self.unescaped(fields.string($0)) },
                            run: run == "-" ? nil : Self.unescaped(run)))
                } else {
                    processes.append(ValidationReport.ProcessDescription(pid: 0, executable: "?", arguments: []))
                    drop("malformed process")
                }
            case UInt8(ascii: "e") where fields.string(0) == "end" && fields.count == 2:
                if fields.integer(1) != numberedOrders.count && dropped.isEmpty {
                    drop("the end line counts \(fields.string(1)) orders, \(numberedOrders.count) were read")
                }
                ended = true
            default:
                drop("unknown or malformed record \"\(fields.string(0).prefix(40))\"")
            }
        }
        if !ended { dropped.append("cut off: no end line (a writer was interrupted)") }
        if dropped.isEmpty, repeatedOrder() == nil { return }
        // Rebuilt from what is whole: no row nothing names, no order listed twice, numbered afresh.
        let whole = self
        self = LearnedOrderStore()
        runs = whole.runs
        index = Index()
        let classSites = Dictionary(whole.classes.map { ($0.name, $0.site) }) { first, _ in first }
        for order in whole.orders {
            add(order.edge, firstRun: order.firstRun, lastRun: order.lastRun, classSites: classSites)
        }
        let twice = whole.numberedOrders.count - numberedOrders.count
        droppedLines = dropped + (twice > 0 ? ["\(twice) order\(twice == 1 ? "" : "s") listed twice"] : [])
    }

    /// An order listed twice, if any: the orders grouped by their first class (a counting sort), then
    /// each group's second classes marked in one array. No hashing: a store has 100,000 orders.
    private func repeatedOrder() -> (from: String, to: String)? {
        var groupStart = [Int](repeating: 0, count: classes.count + 1)
        for order in numberedOrders { groupStart[Int(order.from) + 1] += 1 }
        for index in classes.indices { groupStart[index + 1] += groupStart[index] }
        var next = groupStart
        var heads = [UInt32](repeating: 0, count: numberedOrders.count)
        for order in numberedOrders {
            // An order into a class's readers node is marked apart from one into the class.
            heads[next[Int(order.from)]] = order.to * 2 + (order.toRecursiveRead ? 1 : 0)
            next[Int(order.from)] += 1
        }
        var markedBy = [Int](repeating: -1, count: classes.count * 2)
        for from in classes.indices {
            for head in heads[groupStart[from]..<groupStart[from + 1]] {
                if markedBy[Int(head)] == from { return (classes[from].name, classes[Int(head / 2)].name) }
                markedBy[Int(head)] = from
            }
        }
        return nil
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

            func string(_ index: Int) -> String { string(in: bounds[index]) }

            func string(in range: Range<Int>) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            }

            /// Field `index` cut at each `separator` byte.
            func parts(_ index: Int, separatedBy separator: UInt8) -> [Range<Int>] {
                var parts: [Range<Int>] = []
                var start = bounds[index].lowerBound
                for at in bounds[index] where bytes[at] == separator {
                    parts.append(start..<at)
                    start = at + 1
                }
                parts.append(start..<bounds[index].upperBound)
                return parts
            }

            /// `0x` and hexadecimal digits.
            func hexadecimal(in range: Range<Int>) -> UInt? {
                guard range.count > 2, range.count <= 18, bytes[range.lowerBound] == UInt8(ascii: "0"),
                    bytes[range.lowerBound + 1] == UInt8(ascii: "x")
                else { return nil }
                var value: UInt = 0
                for at in range.dropFirst(2) {
                    let byte = bytes[at] | 0x20  // lower case
                    let digit: UInt8
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                    default: return nil
                    }
                    value = value << 4 | UInt(digit)
                }
                return value
            }

            func integer(_ index: Int) -> Int? { integer(in: bounds[index]) }

            func integer(in range: Range<Int>) -> Int? {
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

        /// Reads an edge line, `E` and ten tab-separated numbers (`none` for "-") and optional flags (0 when
        /// missing), into `numbers`; false, reading nothing, for any other line.
        mutating func edge(_ numbers: UnsafeMutableBufferPointer<UInt32>) -> Bool {
            var at = position
            guard at < bytes.count, bytes[at] == UInt8(ascii: "E") else { return false }
            at += 1
            numbers[numbers.count - 1] = 0
            for field in numbers.indices {
                // The last field, the flags, may be missing.
                if field == numbers.count - 1 && endsLine(at) { break }
                guard at + 1 < bytes.count, bytes[at] == 9 else { return false }
                at += 1
                if bytes[at] == UInt8(ascii: "-") {
                    numbers[field] = NumberedOrder.none
                    at += 1
                    continue
                }
                let start = at
                var value: UInt64 = 0
                while at < bytes.count, bytes[at] &- UInt8(ascii: "0") < 10, value < UInt64(NumberedOrder.none) {
                    value = value * 10 + UInt64(bytes[at] &- UInt8(ascii: "0"))
                    at += 1
                }
                guard at > start, value < UInt64(NumberedOrder.none) else { return false }
                numbers[field] = UInt32(value)
            }
            guard endsLine(at) else { return false }
            position = at + (at < bytes.count && bytes[at] == 13 ? 2 : 1)
            number += 1
            return true
        }

        /// The end of the file, a newline, or a carriage return before one (a store that passed through an
        /// editor or a checkout that writes CRLF).
        private func endsLine(_ at: Int) -> Bool {
            at == bytes.count || bytes[at] == 10 || (bytes[at] == 13 && (at + 1 == bytes.count || bytes[at + 1] == 10))
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
            fields.bounds.append(start..<(position > start && bytes[position - 1] == 13 ? position - 1 : position))
            position += 1
            return fields
        }
    }

    /// A site's field: a source site as written, a code site's parts separated by U+001F, each escaped.
    private static func text(_ site: Site) -> String {
        switch site {
        case .source(let source): return escaped(source.text)
        case .code(let code):
            let location = code.location
            let parts = [
                code.module, "0x" + String(code.moduleAddress, radix: 16), location.function ?? "",
                location.functionOffset.map { String($0) } ?? "", location.file ?? "",
                location.line.map { String($0) } ?? "", location.column.map { String($0) } ?? "",
            ]
            return "@" + parts.map(escaped).joined(separator: String(frameSeparator))
        }
    }

    /// The site of a field ``text(_:)`` wrote; a store written before sites had two kinds holds a code
    /// site as its name alone (`function+0x1c`).
    private static func site(_ text: String) -> Site? {
        guard text.hasPrefix("@") else { return Site(text: unescaped(text)) }
        let parts = text.dropFirst().split(separator: frameSeparator, omittingEmptySubsequences: false)
            .map { unescaped($0) }
        guard parts.count == 7, parts[1].hasPrefix("0x"), let address = UInt(parts[1].dropFirst(2), radix: 16) else {
            return nil
        }
        func number(_ part: String) -> Int? { part.isEmpty ? nil : Int(part) }
        return .code(
            CodeSite(
                module: parts[0], moduleAddress: address,
                location: .init(
                    function: parts[2].isEmpty ? nil : parts[2], functionOffset: UInt(parts[3]),
                    file: parts[4].isEmpty ? nil : parts[4], line: number(parts[5]), column: number(parts[6]))))
    }

    private static func thread(_ field: Substring) -> ThreadInfo? {
        let parts = field.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let serial = UInt32(parts[0]), let tid = Int64(parts[1]) else { return nil }
        return ThreadInfo(serial: serial, osThreadID: tid, name: parts[2].isEmpty ? nil : unescaped(parts[2]))
    }

    private static let frameSeparator: Character = "\u{1F}"

    /// A stack's fields in its S line, a frame per field.
    static func stackFields(_ frames: [StackTrace.Frame]) -> String { frames.map(field).joined(separator: "\t") }

    private static func field(_ frame: StackTrace.Frame) -> String {
        [
            "0x" + String(frame.address, radix: 16), frame.symbol ?? "", frame.offset.map { String($0) } ?? "",
            frame.file ?? "", frame.line.map { String($0) } ?? "",
        ].map(escaped).joined(separator: String(frameSeparator))
    }

    /// Field `index` of an S line: a frame's address, symbol, offset, file and line, separated by U+001F.
    private static func frame(
        _ fields: Lines.Fields, _ index: Int, _ names: inout InternedStrings
    ) -> StackTrace.Frame? {
        let parts = fields.parts(index, separatedBy: 0x1F)
        guard parts.count == 5, let address = fields.hexadecimal(in: parts[0]) else { return nil }
        func text(_ part: Range<Int>) -> String? {
            part.isEmpty ? nil : names.string(UnsafeBufferPointer(rebasing: fields.bytes[part]))
        }
        return StackTrace.Frame(
            address: address, symbol: text(parts[1]), offset: fields.integer(in: parts[2]).map(UInt.init),
            file: text(parts[3]), line: fields.integer(in: parts[4]))
    }

    /// The symbols and files of stack frames, each made once: stacks share most of their frames' names.
    private struct InternedStrings {
        private var strings: [UInt64: String] = [:]

        /// The unescaped text of `bytes`, the same string as last time for the same bytes.
        mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
            // FNV-1a: names are short, and a collision only costs an uninterned copy.
            var key: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes { key = (key ^ UInt64(byte)) &* 0x100_0000_01b3 }
            if let known = strings[key], known.utf8.elementsEqual(bytes) { return known }
            let made = unescaped(String(decoding: bytes, as: UTF8.self))
            if strings[key] == nil { strings[key] = made }  // a colliding other text is made each time
            return made
        }
    }

    // Escaping works on Unicode scalars, not Characters: a combining mark after an escape's letter (`\u`
    // then U+061A) makes one Character of the two, which then matched no escape and lost its backslash (a
    // store read back differed from the one written; found by FuzzStore).
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x1F }) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result.append(contentsOf: "\\\\".unicodeScalars)
            case "\t": result.append(contentsOf: "\\t".unicodeScalars)
            case "\n": result.append(contentsOf: "\\n".unicodeScalars)
            case frameSeparator.unicodeScalars.first!: result.append(contentsOf: "\\u".unicodeScalars)
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    static func unescaped<Text: StringProtocol>(_ text: Text) -> String {
        guard text.utf8.contains(0x5C) else { return String(text) }
        var result = String.UnicodeScalarView()
        var escaping = false
        for scalar in text.unicodeScalars {
            if escaping {
                switch scalar {
                case "t": result.append("\t")
                case "n": result.append("\n")
                case "u": result.append(contentsOf: frameSeparator.unicodeScalars)
                default: result.append(scalar)
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }
}
