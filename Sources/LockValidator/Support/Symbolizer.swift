import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Names code addresses: function names through libunwind's `.symtab` lookup and the Swift demangler,
/// file:line through `llvm-symbolizer` when it is on PATH (one run per object file for a whole batch).
/// Results are cached for the life of the process; anything not found degrades to less (a name
/// without a line, or the bare address).
enum Symbolizer {
    /// Mangled-name prefixes of the validator's modules, whose frames reports trim from the top.
    static let validatorModulePrefixes = ["$s13LockValidator", "$s9SpinLocks", "$s20LockValidatorTesting", "lv_"]

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
            for (address, location) in lookUpLocations(missing) {
                known[address]?.file = location.file
                known[address]?.line = location.line
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
        var buffer = [CChar](repeating: 0, count: 1024)
        var offset: UInt = 0
        // A return address points after the call; the call itself is one byte earlier.
        let found = buffer.withUnsafeMutableBufferPointer {
            lv_proc_name(address &- 1, $0.baseAddress, $0.count, &offset)
        }
        guard found == 0 else { return Resolved() }
        let mangled = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return Resolved(mangled: mangled, name: demangle(mangled), offset: offset + 1)
    }

    static func demangle(_ mangled: String) -> String {
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

    /// file:line for each address, from one llvm-symbolizer run per object file.
    private static func lookUpLocations(_ addresses: [UInt]) -> [UInt: (file: String, line: Int)] {
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
        var locations: [UInt: (file: String, line: Int)] = [:]
        for (image, entries) in byImage {
            let arguments =
                ["llvm-symbolizer", "--obj=\(image)", "--functions=none", "--no-inlines"]
                + entries.map { "0x" + String($0.offset, radix: 16) }
            var output: UnsafeMutablePointer<CChar>?
            var length = 0
            let status = withCStrings(arguments) { lv_run_capturing_output("llvm-symbolizer", $0, &output, &length) }
            defer { free(output) }
            guard status == 0, let output else { continue }
            let lines = String(cString: output).split(separator: "\n", omittingEmptySubsequences: true)
            for (entry, line) in zip(entries, lines) {
                // "path/File.swift:42:7", or "??:0:0" when unknown.
                let parts = line.split(separator: ":")
                guard parts.count >= 3, parts[0] != "??", let number = Int(parts[parts.count - 2]), number > 0 else {
                    continue
                }
                locations[entry.address] = (parts.dropLast(2).joined(separator: ":"), number)
            }
        }
        return locations
    }

    private static func withCStrings<Result>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
    ) -> Result {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
