import FoundationEssentials
import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Names code addresses: function names through libunwind's `.symtab` lookup and the Swift and C++
/// demanglers, and, when `llvm-symbolizer` is on PATH, file:line and the function name from debug
/// information, asked of one long-running symbolizer process (as the sanitizers keep one). The
/// symbolizer's name wins: libunwind sees only the symbols an object exports when it is stripped. A name
/// from the symbol table is kept only where the symbol covers the address: a stripped library's internal
/// function (glibc's `start_thread`) past the end of the export before it has no name, not the export's.
/// Results are cached for the life of the process; anything not found degrades to less (a name without a
/// line, or the image and offset).
package enum Symbolizer {
    /// Mangled-name prefixes of the validator's modules, whose frames reports trim from the top.
    static let validatorModulePrefixes = [
        "$s13LockValidator", "$s9SpinLocks", "$s20LockValidatorTesting", "$s21LockValidatorPthreads", "lv_",
        // The pthread interposer's own functions, above the caller's frame.
        "pthread_mutex_", "pthread_rwlock_", "pthread_spin_", "pthread_cond_",
        // Its serial-queue `sync` (dispatch_queues.c) and the Mutex overlay's hooks (swift_mutex.c).
        "dispatch_sync", "dispatch_barrier_sync", "lockvalidator_mutex_",
        // Lock-wrapper code above them when a queue's `sync` is the acquire: libdispatch's own frames and
        // `DispatchQueue.sync`, so that a stack starts at the program's `sync`.
        "_dispatch_", "$s8Dispatch0A5QueueC4sync", "$s8Dispatch0A5QueueC11_syncHelper",
    ]

    struct Resolved {
        var mangled: String?
        var name: String?
        var offset: UInt?
        var file: String?
        var line: Int?
        var column: Int?
        var locationLookedUp = false

        /// What a code site shows of it.
        var location: CodeSite.Location {
            CodeSite.Location(
                function: mangled.map { Symbolizer.functionName(mangled: $0, demangled: name ?? $0) },
                functionOffset: offset, file: file, line: line, column: column)
        }

        func frame(at address: UInt) -> StackTrace.Frame {
            StackTrace.Frame(
                address: address, symbol: name, offset: offset, file: file, line: line, mangledSymbol: mangled)
        }
    }

    private static let cache = InternalLock([UInt: Resolved]())

    /// While nonzero, nothing is asked of debug information: names come from symbol tables alone, and
    /// nothing is cached as looked up (so a later lookup still asks).
    private static let deferring = Atomic<Int>(0)

    /// Runs `body` naming addresses from symbol tables only: how a process that found nothing writes its
    /// report, leaving file:line to `lockval` (``ValidationReport/resolvingDeferredLookUps()``).
    static func deferringDebugInformation<T>(_ body: () -> T) -> T {
        deferring.add(1, ordering: .relaxed)
        defer { deferring.subtract(1, ordering: .relaxed) }
        return body()
    }

    /// Resolves every address of a batch, looking up only what the cache lacks.
    static func resolve(_ addresses: [UInt], locations: Bool) -> [UInt: Resolved] {
        var known = cache.withLock { cache in addresses.reduce(into: [UInt: Resolved]()) { $0[$1] = cache[$1] } }
        for address in addresses where known[address] == nil { known[address] = name(of: address) }
        if locations && deferring.load(ordering: .relaxed) == 0 {
            let missing = Array(Set(addresses.filter { known[$0]?.locationLookedUp != true }))
            for (address, found) in lookUpDebugInformation(missing) {
                known[address]?.file = found.file
                known[address]?.line = found.line
                known[address]?.column = found.column
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
        var name: UnsafePointer<CChar>?
        var start: UInt = 0
        // A return address points after the call; the call itself is one byte earlier.
        guard lv_symbol_covering(address &- 1, 1, &name, &start) == 0, let name else { return nil }
        return (String(cString: name), address &- start)
    }

    /// What a code site in this process shows: its function and, when debug information has it, its line.
    static func location(ofReturnAddress address: UInt) -> CodeSite.Location {
        resolve([address], locations: true)[address]?.location ?? CodeSite.Location()
    }

    /// A function as people write it: a Swift function without its modules, parameters, result, generic
    /// arguments and private discriminators (`Cache.init`, `closure #1 in Tests.run`, `static
    /// MultiThreadedEventLoopGroup.setupThreadAndEventLoop`), a C++ one without its parameters, a C one as it is.
    package static func functionName(mangled: String, demangled: String) -> String {
        if mangled.hasPrefix("$s") || mangled.hasPrefix("_T") { return swiftFunctionName(demangled) }
        if mangled.hasPrefix("_Z"), let parenthesis = demangled.firstIndex(of: "(") {
            return String(demangled[..<parenthesis])
        }
        return demangled
    }

    /// ``functionName(mangled:demangled:)`` for a demangled Swift name.
    static func swiftFunctionName(_ demangled: String) -> String {
        var text = demangled.replacing("@Sendable ", with: "")
        // An async function's pieces between its suspension points ("(1) suspend resume partial function
        // for GRPCClient.runConnections()") are the function to the person who wrote it.
        for piece in ["suspend resume partial function for ", "await resume partial function for "] {
            if let range = text.firstRange(of: piece),
                text[..<range.lowerBound].allSatisfy({ "(0123456789) ".contains($0) })
            {
                text = String(text[range.upperBound...])
            }
        }
        text = withoutPrivateDiscriminators(text)
        text = withoutGenericArguments(text)
        text = shortName(text)
        // A property accessor's type: "isFulfilled.getter : Swift.Bool".
        if let colon = text.firstRange(of: " : ") { text = String(text[..<colon.lowerBound]) }
        // Each qualified name without its module: the first component of a dotted word.
        // Effects after the parameters go with them.
        let effects: Set<Substring> = ["async", "throws", "rethrows"]
        let words = text.split(separator: " ", omittingEmptySubsequences: true).filter { !effects.contains($0) }.map {
            word -> String in
            if word.hasPrefix("(extension"), let colon = word.firstIndex(of: ":") {
                return String(word[word.index(after: colon)...])
            }
            guard let dot = word.firstIndex(of: "."), word.index(after: dot) < word.endIndex,
                word[..<dot].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            else { return String(word) }
            return String(word[word.index(after: dot)...])
        }
        let name = words.joined(separator: " ").replacing("(extension in ", with: "")
        return name.isEmpty ? demangled : name
    }

    /// `Module.(name in _C2B1)` as `Module.name`: Swift's private discriminator is no part of what people read.
    static func withoutPrivateDiscriminators(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "(") {
            result += rest[..<open]
            let inner = rest[rest.index(after: open)...]
            if let close = inner.firstIndex(of: ")"), let marker = inner[..<close].firstRange(of: " in _"),
                !inner[..<marker.lowerBound].contains(where: { $0 == "(" || $0 == " " })
            {
                result += inner[..<marker.lowerBound]
                rest = inner[inner.index(after: close)...]
            } else {
                result.append("(")
                rest = inner
            }
        }
        return result + rest
    }

    /// `text` without generic argument lists (`<A where A: Sendable>`); a `->` is no bracket.
    static func withoutGenericArguments(_ text: String) -> String {
        var result = ""
        var depth = 0
        var previous: Character = " "
        for character in text {
            if character == "<" {
                depth += 1
            } else if character == ">" && previous != "-" && depth > 0 {
                depth -= 1
            } else if depth == 0 {
                result.append(character)
            }
            previous = character
        }
        return result.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
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
        if mangled.hasPrefix("_Z") {
            guard let demangled = lv_cxx_demangle(mangled) else { return mangled }
            defer { free(demangled) }
            return String(cString: demangled)
        }
        return mangled.withCString { pointer in
            guard let demangled = swiftDemangle(pointer, strlen(pointer), nil, nil, 0) else { return mangled }
            defer { free(demangled) }
            return String(cString: demangled)
        }
    }

    // MARK: Locations

    /// What debug information says about one address.
    struct DebugInformation {
        var file: String?
        var line: Int?
        var column: Int?
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
            let column: Int?
            let startAddress: String?

            enum CodingKeys: String, CodingKey {
                case fileName = "FileName", functionName = "FunctionName", line = "Line", column = "Column"
                case startAddress = "StartAddress"
            }
        }

        enum CodingKeys: String, CodingKey { case symbol = "Symbol" }
    }

    /// Serialises the conversation with the symbolizer process.
    private static let symbolizerProcess = InternalLock(())

    /// How long an answer may take: the first question about a large debug binary makes the symbolizer
    /// read its debug information.
    private static let answerTimeoutMilliseconds: Int32 = 60_000

    /// The symbolizer process's answer to `request`, a line per question; empty when there is no answer.
    static func ask(_ request: String, lines: Int) -> [[UInt8]] {
        var answer: UnsafeMutablePointer<CChar>?
        var length = 0
        let status = symbolizerProcess.withLock { _ in
            lv_symbolizer_ask(request, request.utf8.count, Int32(lines), answerTimeoutMilliseconds, &answer, &length)
        }
        defer { free(answer) }
        guard status == 0, let answer else { return [] }
        return UnsafeBufferPointer(start: UnsafeRawPointer(answer).assumingMemoryBound(to: UInt8.self), count: length)
            .split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    /// file:line and the function for each address, asked of the symbolizer process in one request.
    private static func lookUpDebugInformation(_ addresses: [UInt]) -> [UInt: DebugInformation] {
        var questions: [(address: UInt, image: String, objectAddress: UInt)] = []
        for address in addresses {
            var bias: UInt = 0
            var path: UnsafePointer<CChar>?
            guard lv_image_of(address, &bias, &path) == 0, let path else { continue }
            // The call is one byte before the return address.
            questions.append((address, String(cString: path), (address &- 1) &- bias))
        }
        let answers = debugInformation(questions.map { ($0.image, $0.objectAddress) })
        var found: [UInt: DebugInformation] = [:]
        for (question, answer) in zip(questions, answers) { found[question.address] = answer }
        return found
    }

    /// file:line and the function of each address in an image file (`objectAddress`: an address of the
    /// file, as `llvm-symbolizer --obj` takes it), asked of the symbolizer process in one request; nil
    /// where debug information and the symbol table know nothing.
    static func debugInformation(_ questions: [(image: String, objectAddress: UInt)]) -> [DebugInformation?] {
        var asked: [Int] = []
        var request = ""
        for (index, question) in questions.enumerated() {
            guard !question.image.isEmpty, !question.image.contains("\""), !question.image.contains("\n") else {
                continue
            }
            asked.append(index)
            request += "\"\(question.image)\" 0x\(String(question.objectAddress, radix: 16))\n"
        }
        var found = [DebugInformation?](repeating: nil, count: questions.count)
        guard !asked.isEmpty else { return found }
        for (index, line) in zip(asked, ask(request, lines: asked.count)) {
            guard let answer = try? JSONDecoder().decode(SymbolizerAnswer.self, from: Data(line)),
                let frame = answer.symbol?.first
            else { continue }
            let objectAddress = questions[index].objectAddress
            var information = DebugInformation()
            if let file = frame.fileName, !file.isEmpty, let line = frame.line, line > 0 {
                (information.file, information.line) = (file, line)
                information.column = frame.column.flatMap { $0 > 0 ? $0 : nil }
            }
            if let function = frame.functionName, !function.isEmpty, function != "??", function != "__ehdr_start" {
                information.function = function
                if let text = frame.startAddress, text.hasPrefix("0x"),
                    let start = UInt(text.dropFirst(2), radix: 16), start <= objectAddress
                {
                    information.offset = objectAddress - start + 1
                }
            }
            if information.file != nil || information.function != nil { found[index] = information }
        }
        return found
    }
}

extension Symbolizer {
    /// The variable containing data address `address` (a static lock), and the offset into it, from its
    /// image's symbol table: `accounts`, `icu_76::gDefaultZoneMutex`, `CFLocaleCreate.__CFLocaleCacheLock`.
    static func variable(at address: UInt) -> (name: String, offset: UInt)? {
        var name: UnsafePointer<CChar>?
        var start: UInt = 0
        guard lv_symbol_covering(address, 0, &name, &start) == 0, let name else { return nil }
        let demangled = demangle(String(cString: name))
        // A Swift global demangles as "Module.name : Type".
        let shown = demangled.components(separatedBy: " : ").first ?? demangled
        return (shown, address &- start)
    }
}

extension Symbolizer {
    /// The Swift module of the function containing return address `address`, if it is a Swift function.
    static func swiftModule(ofReturnAddress address: UInt) -> String? {
        guard let resolved = resolve([address], locations: true)[address], let mangled = resolved.mangled,
            mangled.hasPrefix("$s"), let name = resolved.name
        else { return nil }
        // "Module.Type.function(...)", or "closure #1 in Module.Type.function(...)".
        let entity = name.components(separatedBy: " in ").last ?? name
        let module = entity.prefix { $0 != "." && $0 != "(" && $0 != " " }
        return module.isEmpty ? nil : String(module)
    }
}
