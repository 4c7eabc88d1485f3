import _LockValidatorShims

/// Return addresses captured with libunwind, innermost first.
public struct StackTrace: Hashable, Sendable, Codable {
    /// The return addresses (program counters for the innermost frame).
    public let addresses: [UInt]

    public init(addresses: [UInt]) { self.addresses = addresses }

    /// The deepest capture.
    public static let maximumDepth = 64

    /// Captures the calling thread's stack, starting `skipping` frames above the caller.
    ///
    /// Allocates: call it only when something new is learned, never on the hot path.
    @inline(never)
    public static func capture(skipping: Int = 0) -> StackTrace {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: maximumDepth) { buffer in
            let count = Int(lv_backtrace(buffer.baseAddress, Int32(maximumDepth)))
            let drop = min(count, skipping)
            return StackTrace(addresses: buffer[drop..<count].map { UInt(bitPattern: $0) })
        }
    }

    /// The frames with their function names, the validator's own frames trimmed from the top.
    public func symbolicated() -> [Frame] {
        // A return address points after the call; the call itself is one byte earlier.
        let frames = addresses.map { Frame(address: $0, symbol: Symbolizer.symbol(at: $0 &- 1)) }
        let firstCallerFrame = frames.firstIndex { !$0.isValidatorFrame } ?? 0
        return Array(frames[firstCallerFrame...])
    }

    /// One stack frame.
    public struct Frame: Hashable, Sendable, CustomStringConvertible {
        public let address: UInt
        /// The demangled function name and the offset into it, when known.
        public let symbol: Symbol?

        /// `0x5555deadbeef Module.function() + 12`.
        public var description: String {
            let hex = "0x" + String(address, radix: 16)
            guard let symbol else { return hex }
            return "\(hex) \(symbol.name) + \(symbol.offset)"
        }

        var isValidatorFrame: Bool {
            guard let mangled = symbol?.mangledName else { return false }
            return Symbolizer.validatorModulePrefixes.contains { mangled.hasPrefix($0) }
        }
    }

    /// A function name.
    public struct Symbol: Hashable, Sendable {
        public let mangledName: String
        public let name: String
        public let offset: UInt
    }
}

/// Names code addresses through libunwind's `.symtab` lookup and the Swift demangler.
enum Symbolizer {
    @_silgen_name("swift_demangle")
    private static func swiftDemangle(
        _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int,
        _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<Int>?,
        _ flags: UInt32
    ) -> UnsafeMutablePointer<CChar>?

    /// Mangled-name prefixes of the validator's modules, whose frames reports trim from the top.
    static let validatorModulePrefixes = ["$s13LockValidator", "$s9SpinLocks", "$s20LockValidatorTesting", "lv_"]

    /// The function containing `address`, if the symbol table names it.
    static func symbol(at address: UInt) -> StackTrace.Symbol? {
        var buffer = [CChar](repeating: 0, count: 1024)
        var offset: UInt = 0
        let found = buffer.withUnsafeMutableBufferPointer { buffer in
            lv_proc_name(address, buffer.baseAddress, buffer.count, &offset)
        }
        guard found == 0 else { return nil }
        let mangled = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return StackTrace.Symbol(mangledName: mangled, name: demangle(mangled), offset: offset + 1)
    }

    static func demangle(_ mangled: String) -> String {
        mangled.withCString { pointer in
            guard let demangled = swiftDemangle(pointer, strlen(pointer), nil, nil, 0) else { return mangled }
            defer { free(demangled) }
            return String(cString: demangled)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
