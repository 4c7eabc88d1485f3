import _LockValidatorShims

/// Return addresses, innermost first, and their names when rendered.
///
/// A capture is libunwind's stack, taken by frame pointers where each function keeps one and by
/// libunwind from the first that does not (`lv_backtrace`): about 500 instructions for 20 frames,
/// against 1,300 by libunwind alone, and it allocates only to keep the result. Naming happens later,
/// when a report is rendered. A stack read back from a JSON report carries the names it was written with.
public struct StackTrace: Hashable, Sendable, Codable {
    /// The return addresses (program counters for the innermost frame).
    public let addresses: [UInt]
    /// Frames as a report recorded them, for stacks decoded from JSON.
    private let recordedFrames: [Frame]?

    public init(addresses: [UInt]) {
        self.addresses = addresses
        recordedFrames = nil
    }

    /// A stack recorded elsewhere (another process), known by its frames.
    package init(frames: [Frame]) {
        addresses = frames.map(\.address)
        recordedFrames = frames
    }

    /// The deepest capture.
    public static let maximumDepth = Int(LV_MAX_FRAMES)

    /// Captures the calling thread's stack into its per-thread buffer, starting `skipping` frames
    /// above the caller, and keeps a copy.
    ///
    /// Call it only when something new is learned (a new edge, a new IRQL usage, a violation).
    @inline(never)
    public static func capture(skipping: Int = 0) -> StackTrace {
        // No closures here: lv_backtrace starts at its caller's caller, which must be ours.
        let buffer = lv_stack_scratch()!
        let count = Int(lv_backtrace(buffer, Int32(maximumDepth)))
        let drop = min(count, skipping)
        return StackTrace(addresses: (drop..<count).map { UInt(bitPattern: buffer[$0]) })
    }

    /// Captures the calling thread's stack into its per-thread buffer and keeps no copy: the addresses
    /// are valid until the thread's next capture. For a caller that keeps a stack only when it is new
    /// (the lock-order graph keeps each distinct stack once), so that a known stack allocates nothing.
    @inline(never)
    static func captureTransient() -> UnsafeBufferPointer<UInt> {
        let buffer = lv_stack_scratch()!
        let count = Int(lv_backtrace(buffer, Int32(maximumDepth)))
        return UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt.self), count: count)
    }

    /// The frames with their function names, and with file:line when `locations` is true and
    /// `llvm-symbolizer` is on PATH; the validator's own frames are trimmed from the top.
    public func symbolicated(locations: Bool = true) -> [Frame] {
        if let recordedFrames { return recordedFrames }
        let resolved = Symbolizer.resolve(addresses, locations: locations)
        let frames = addresses.map { address in
            resolved[address].map { $0.frame(at: address) } ?? Frame(address: address)
        }
        let firstCallerFrame = frames.firstIndex { !$0.isValidatorFrame } ?? 0
        return Array(frames[firstCallerFrame...])
    }

    /// One stack frame.
    public struct Frame: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The return address (the program counter for the innermost frame).
        public let address: UInt
        /// The demangled name of the function, when the symbol table names it.
        public let symbol: String?
        /// The offset of `address` into the function.
        public let offset: UInt?
        /// The source file, from debug information via llvm-symbolizer.
        public let file: String?
        /// The source line.
        public let line: Int?
        let mangledSymbol: String?

        public init(
            address: UInt, symbol: String? = nil, offset: UInt? = nil, file: String? = nil, line: Int? = nil,
            mangledSymbol: String? = nil
        ) {
            self.address = address
            self.symbol = symbol
            self.offset = offset
            self.file = file
            self.line = line
            self.mangledSymbol = mangledSymbol
        }

        /// `0x5555deadbeef Module.function() + 12 (File.swift:42)`.
        public var description: String {
            var text = "0x" + String(address, radix: 16)
            if let symbol { text += " \(symbol)" + (offset.map { " + \($0)" } ?? "") }
            if let file, let line { text += " (\(file):\(line))" }
            return text
        }

        var isValidatorFrame: Bool {
            guard let mangledSymbol else { return false }
            return Symbolizer.validatorModulePrefixes.contains { mangledSymbol.hasPrefix($0) }
        }

        private enum CodingKeys: String, CodingKey { case address, symbol, offset, file, line }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let hex = try container.decode(String.self, forKey: .address)
            guard hex.hasPrefix("0x"), let address = UInt(hex.dropFirst(2), radix: 16) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .address, in: container, debugDescription: "address \"\(hex)\" is not 0x-prefixed hex")
            }
            self.init(
                address: address, symbol: try container.decodeIfPresent(String.self, forKey: .symbol),
                offset: try container.decodeIfPresent(UInt.self, forKey: .offset),
                file: try container.decodeIfPresent(String.self, forKey: .file),
                line: try container.decodeIfPresent(Int.self, forKey: .line))
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("0x" + String(address, radix: 16), forKey: .address)
            try container.encodeIfPresent(symbol, forKey: .symbol)
            try container.encodeIfPresent(offset, forKey: .offset)
            try container.encodeIfPresent(file, forKey: .file)
            try container.encodeIfPresent(line, forKey: .line)
        }
    }

    /// A stack is written as its symbolicated frames, `[{"address", "symbol", "file", "line"}]`.
    public init(from decoder: any Decoder) throws {
        let frames = try decoder.singleValueContainer().decode([Frame].self)
        addresses = frames.map(\.address)
        recordedFrames = frames
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(symbolicated())
    }

    public static func == (lhs: StackTrace, rhs: StackTrace) -> Bool { lhs.addresses == rhs.addresses }
    public func hash(into hasher: inout Hasher) { hasher.combine(addresses) }
}
