import _LockValidatorShims

/// A place in machine code: a return address the validator met outside Swift source (the caller of an
/// interposed pthread call, the code that created a pthread lock), as its image and address there.
///
/// Which function and source line it is, is looked up only when the site is shown: from debug
/// information (`llvm-symbolizer`) when there is some, else the function from the symbol table.
/// A site read back from a report carries what was looked up when it was written.
public struct CodeSite: Hashable, Sendable, CustomStringConvertible {
    /// The image's file name: the executable (`AppPackageTests.xctest`) or a library (`libsqlite3.so.0`).
    public let module: String
    /// The return address as an address in the image's own file (what `llvm-symbolizer --obj` takes):
    /// the same in every run of one build.
    public let moduleAddress: UInt
    /// The address in the process that made it, for looking it up; nil for a site read from a report.
    let address: UInt?
    /// What a report recorded about it; nil in the process that made it (looked up on demand).
    private let recorded: Location?

    /// What is known about a code site's source.
    public struct Location: Hashable, Sendable {
        /// The function, as people write it: `Cache.init`, `closure #1 in Tests.run`, `sqlite3MutexAlloc`,
        /// `icu_76::TimeZone::createDefault`; nil when no symbol covers the address.
        public var function: String?
        /// The return address's offset into the function.
        public var functionOffset: UInt?
        /// The source file, a full path as debug information records it.
        public var file: String?
        /// The line (from 1) and column (from 1) of the call, when debug information has them.
        public var line: Int?
        public var column: Int?

        public init(
            function: String? = nil, functionOffset: UInt? = nil, file: String? = nil, line: Int? = nil,
            column: Int? = nil
        ) {
            self.function = function
            self.functionOffset = functionOffset
            self.file = file
            self.line = line.flatMap { $0 >= 1 ? $0 : nil }
            self.column = column.flatMap { $0 >= 1 ? $0 : nil }
        }

        /// The file's name, without its directories.
        public var fileName: String? { file.map { $0.split(separator: "/").last.map(String.init) ?? $0 } }
    }

    /// The site of the return address `address` in this process.
    package init(returnAddress address: UInt) {
        var bias: UInt = 0
        var path: UnsafePointer<CChar>?
        if lv_image_of(address, &bias, &path) == 0, let path {
            let file = String(cString: path)
            module = file.split(separator: "/").last.map(String.init) ?? file
            moduleAddress = address &- bias
        } else {
            module = "?"
            moduleAddress = address
        }
        self.address = address
        recorded = nil
    }

    /// A site as a report recorded it.
    public init(module: String, moduleAddress: UInt, location: Location) {
        self.module = module
        self.moduleAddress = moduleAddress
        address = nil
        recorded = location
    }

    /// The function and source line, looked up now (in the process that made the site) if need be.
    public var location: Location {
        if let recorded { return recorded }
        guard let address else { return Location() }
        return Symbolizer.location(ofReturnAddress: address)
    }

    /// `Cache.swift:37 in Cache.init` from debug information; else `Cache.init+0x2f` from the symbol table;
    /// else `libfoo.so+0x1234`, where no symbol covers the address.
    public var description: String {
        let location = location
        if let fileName = location.fileName, let line = location.line {
            return "\(fileName):\(line)" + (location.function.map { " in \($0)" } ?? "")
        }
        if let function = location.function {
            return "\(function)+0x\(String(location.functionOffset ?? 0, radix: 16))"
        }
        return "\(module)+0x\(String(moduleAddress, radix: 16))"
    }

    /// Two sites are one when they are one address of one image, whatever each knows about it.
    public static func == (lhs: CodeSite, rhs: CodeSite) -> Bool {
        lhs.moduleAddress == rhs.moduleAddress && lhs.module == rhs.module
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(module)
        hasher.combine(moduleAddress)
    }
}
