import _LockValidatorShims

/// Return addresses captured with libunwind, innermost first.
public struct StackTrace: Hashable, Sendable, Codable {
    /// The return addresses (program counters for the innermost frame).
    public let addresses: [UInt]

    public init(addresses: [UInt]) { self.addresses = addresses }

    /// The deepest capture.
    public static let maximumDepth = 64

    /// Captures the calling thread's stack, dropping `skipping` innermost frames besides this one.
    ///
    /// Allocates: call it only when something new is learned, never on the hot path.
    @inline(never)
    public static func capture(skipping: Int = 0) -> StackTrace {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: maximumDepth) { buffer in
            let count = Int(lv_backtrace(buffer.baseAddress, Int32(maximumDepth)))
            let drop = min(count, 1 + skipping)
            return StackTrace(addresses: buffer[drop..<count].map { UInt(bitPattern: $0) })
        }
    }

    /// Frame descriptions: `#0 0x... Module.function() + 12`.
    public func symbolicated() -> [String] {
        addresses.enumerated().map { index, address in
            let hex = "0x" + String(address, radix: 16)
            // A return address points after the call; the call itself is one byte earlier.
            if let symbol = Symbolizer.name(of: address - 1) {
                return "#\(index) \(hex) \(symbol)"
            }
            return "#\(index) \(hex)"
        }
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

    /// The demangled name of the function containing `address`, with the offset, if known.
    static func name(of address: UInt) -> String? {
        var buffer = [CChar](repeating: 0, count: 1024)
        var offset: UInt = 0
        let found = buffer.withUnsafeMutableBufferPointer { buffer in
            lv_proc_name(address, buffer.baseAddress, buffer.count, &offset)
        }
        guard found == 0 else { return nil }
        let mangled = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return "\(demangle(mangled)) + \(offset)"
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
