import FoundationEssentials
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Names code addresses: function names through libunwind's `.symtab` lookup and the Swift demangler,
/// and, when `llvm-symbolizer` is on PATH, file:line and the function name from debug information (one
/// run per object file for a whole batch). The symbolizer's name wins: libunwind sees only the symbols
/// an object exports when it is stripped, and names a static function (glibc's `start_thread`) after
/// the exported one before it. Results are cached for the life of the process; anything not found
/// degrades to less (a name without a line, or the bare address).
package enum Symbolizer {
    /// Mangled-name prefixes of the validator's modules, whose frames reports trim from the top.
    static let validatorModulePrefixes = [
        "$s13LockValidator", "$s9SpinLocks", "$s20LockValidatorTesting", "$s21LockValidatorPthreads", "lv_",
        // The pthread interposer's own functions, above the caller's frame.
        "pthread_mutex_", "pthread_rwlock_", "pthread_spin_", "pthread_cond_",
    ]

    struct Resolved {
        var mangled: String?
        var name: String?
        var offset: UInt?
        var file: String?
        var line: Int?
        var locationLookedUp = false

        func frame(at address: UInt) -> StackTrace.Frame {
            StackTrace.Frame(
                address: address, symbol: name, offset: offset, file: file, line: line, mangledSymbol: mangled)
        }
    }

    private static let cache = InternalLock([UInt: Resolved]())

    /// Resolves every address of a batch, looking up only what the cache lacks.
    static func resolve(_ addresses: [UInt], locations: Bool) -> [UInt: Resolved] {
        var known = cache.withLock { cache in addresses.reduce(into: [UInt: Resolved]()) { $0[$1] = cache[$1] } }
        for address in addresses where known[address] == nil { known[address] = name(of: address) }
        if locations {
            let missing = Array(Set(addresses.filter { known[$0]?.locationLookedUp != true }))
            for (address, found) in lookUpDebugInformation(missing) {
                known[address]?.file = found.file
                known[address]?.line = found.line
                if let function = found.function {
                    known[address]?.mangled = function
                    known[address]?.name = demangle(function)
                    known[address]?.offset = found.offset
                }
            }
            for address in missing { known[address]?.locationLookedUp = true }
        }
        cache.withLock { cache in cache.merge(known) { _, new in new } }
        return known
    }

    // MARK: Names

    @_silgen_name("swift_demangle")
    private static func swiftDemangle(
        _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int,
        _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<Int>?,
        _ flags: UInt32
    ) -> UnsafeMutablePointer<CChar>?

    /// The function containing the return address `address`, if the symbol table names it.
    private static func name(of address: UInt) -> Resolved {
        guard let (mangled, offset) = symbol(at: address) else { return Resolved() }
        return Resolved(mangled: mangled, name: demangle(mangled), offset: offset)
    }

    /// The symbol-table (mangled) name of the function containing the return address `address`, and
    /// the address's offset into it; no cache.
    package static func symbol(at address: UInt) -> (name: String, offset: UInt)? {
        var buffer = [CChar](repeating: 0, count: 1024)
        var offset: UInt = 0
        // A return address points after the call; the call itself is one byte earlier.
        let found = buffer.withUnsafeMutableBufferPointer {
            lv_proc_name(address &- 1, $0.baseAddress, $0.count, &offset)
        }
        guard found == 0 else { return nil }
        return (buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, offset + 1)
    }

    /// A demangled name without its parameter and result types and attributes: `Module.Type.method`,
    /// `closure #1 in Module.Type.method`.
    static func shortName(_ name: String) -> String {
        var result = ""
        var depth = 0
        var skippingResult = false
        let characters = Array(name.split(separator: "@Sendable ", omittingEmptySubsequences: false).joined())
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "(" {
                depth += 1
            } else if character == ")" {
                depth = max(depth - 1, 0)
            } else if depth == 0 {
                if characters[index...].starts(with: " -> ") {
                    skippingResult = true
                } else if characters[index...].starts(with: " in ") {
                    skippingResult = false
                }
                if !skippingResult { result.append(character) }
            }
            index += 1
        }
        let collapsed = result.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return collapsed.isEmpty ? name : collapsed
    }

    package static func demangle(_ mangled: String) -> String {
        mangled.withCString { pointer in
            guard let demangled = swiftDemangle(pointer, strlen(pointer), nil, nil, 0) else { return mangled }
            defer { free(demangled) }
            return String(cString: demangled)
        }
    }

    // MARK: Locations

    /// The llvm-symbolizer on PATH, if any.
    private static let symbolizerAvailable: Bool = {
        var output: UnsafeMutablePointer<CChar>?
        var length = 0
        let status = withCStrings(["llvm-symbolizer", "--version"]) {
            lv_run_capturing_output("llvm-symbolizer", $0, &output, &length)
        }
        free(output)
        return status == 0
    }()

    /// What debug information says about one address.
    struct DebugInformation {
        var file: String?
        var line: Int?
        /// The function's linkage name, and the address's offset into it.
        var function: String?
        var offset: UInt?
    }

    /// llvm-symbolizer's JSON answer for one address.
    private struct SymbolizerAnswer: Decodable {
        let symbol: [Frame]?

        struct Frame: Decodable {
            let fileName: String?
            let functionName: String?
            let line: Int?
            let startAddress: String?

            enum CodingKeys: String, CodingKey {
                case fileName = "FileName", functionName = "FunctionName", line = "Line", startAddress = "StartAddress"
            }
        }

        enum CodingKeys: String, CodingKey { case symbol = "Symbol" }
    }

    /// file:line and the function for each address, from one llvm-symbolizer run per object file.
    private static func lookUpDebugInformation(_ addresses: [UInt]) -> [UInt: DebugInformation] {
        guard !addresses.isEmpty, symbolizerAvailable else { return [:] }
        var byImage: [String: [(address: UInt, offset: UInt)]] = [:]
        for address in addresses {
            var base: UInt = 0
            var path: UnsafePointer<CChar>?
            guard lv_image_of(address, &base, &path) == 0, let path else { continue }
            let image = String(cString: path)
            let relative = lv_elf_is_position_independent(path) == 1
            // The call is one byte before the return address.
            byImage[image, default: []].append((address, (address &- 1) &- (relative ? base : 0)))
        }
        var found: [UInt: DebugInformation] = [:]
        for (image, entries) in byImage {
            let arguments =
                ["llvm-symbolizer", "--obj=\(image)", "--output-style=JSON", "--functions=linkage", "--no-inlines"]
                + entries.map { "0x" + String($0.offset, radix: 16) }
            var output: UnsafeMutablePointer<CChar>?
            var length = 0
            let status = withCStrings(arguments) { lv_run_capturing_output("llvm-symbolizer", $0, &output, &length) }
            defer { free(output) }
            guard status == 0, let output,
                let answers = try? JSONDecoder().decode(
                    [SymbolizerAnswer].self, from: Data(bytes: output, count: length))
            else { continue }
            for (entry, answer) in zip(entries, answers) {
                guard let frame = answer.symbol?.first else { continue }
                var information = DebugInformation()
                if let file = frame.fileName, !file.isEmpty, let line = frame.line, line > 0 {
                    (information.file, information.line) = (file, line)
                }
                if let function = frame.functionName, !function.isEmpty, function != "??" {
                    information.function = function
                    if let text = frame.startAddress, text.hasPrefix("0x"),
                        let start = UInt(text.dropFirst(2), radix: 16),
                        start <= entry.offset
                    {
                        information.offset = entry.offset - start + 1
                    }
                }
                if information.file != nil || information.function != nil { found[entry.address] = information }
            }
        }
        return found
    }

    private static func withCStrings<Result>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
    ) -> Result {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
