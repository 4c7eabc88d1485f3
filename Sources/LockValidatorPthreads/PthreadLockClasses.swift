import LockValidator
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// How pthread locks get their classes, as lockdep keys them: by the code that creates them.
///
/// A lock's class is keyed by its init site: the first frame, below the `pthread_*_init` call, that is
/// not lock-wrapper code, and named by it and by what it creates: `NSLock created at Cache.swift:37:21 in
/// Cache.init` (looked up in debug information when first shown). Wrapper code is
/// - the C library, the Swift runtime and Dispatch: frames in those libraries;
/// - Swift types whose name ends in `Lock`, `Locks`, `Locking`, `Mutex`, `Condition`, `LockStorage`,
///   `LockOperations` or `LockedValueBox` (Foundation's `NSLock`, `NSRecursiveLock`, `NSCondition`,
///   `NSLocking`, swift-nio's `NIOLock`, `NIOLockedValueBox`, `ConditionLock`, swift-log's `Lock`): their
///   methods and closures; the outermost one names what is created;
/// - C functions named for a lock or a mutex (`sqlite3MutexAlloc`, `my_lock_init`; not `clock_gettime`).
///
/// So two `NIOLock`s made in different places are different classes, and a thousand made in one
/// place are one. A lock never initialised through pthreads (`PTHREAD_MUTEX_INITIALIZER`) that is a
/// static variable is its own class, named by its symbol, as lockdep keys a static lock by its address;
/// one in other memory is keyed by the site of its first lock. ``LockValidator/withLockClass(_:nesting:_:)``
/// names a class instead.
enum PthreadLockClasses {
    struct Key {
        let lockClass: LockClass
        /// Where the lock was created; nil for a static lock, which is its own class.
        let site: Site?
        let nesting: Int
    }

    /// The class name and nesting level the locks created now get.
    struct Naming: Sendable {
        let name: String
        let nesting: Int
    }

    @TaskLocal static var naming: Naming?

    /// The class of the lock of `kind` at `lockAddress`, being initialised (or first locked) by the calling
    /// thread, whose interposed call returns to `caller`; nil for a lock a test framework makes for itself,
    /// which is left untracked.
    static func classKey(of kind: PthreadLock.Kind, at lockAddress: UInt, atInit: Bool, caller: UInt) -> Key? {
        let creator = creatingCode(from: caller)
        if frameKind(of: creator.frame) == .testFramework { return nil }
        let site = CodeSite(returnAddress: creator.frame)
        if let naming {
            let lockClass = LockClass.named(naming.name, site: .code(site), isInterposed: true)
            return Key(lockClass: lockClass, site: .code(site), nesting: naming.nesting)
        }
        if !atInit, let variable = StaticVariable(containing: lockAddress) {
            return Key(lockClass: LockClass.variable(variable, noun: kind.noun), site: nil, nesting: 0)
        }
        // A Mutex first seen at a lock was moved after it was made (its init hook saw a temporary, or the
        // Mutex it was): its class is keyed, and named, by the first lock of it seen at this address, which
        // need not be its first lock ("first seen", not "first locked").
        let verb = kind == .swiftMutex && !atInit ? "first seen" : "created"
        return Key(
            lockClass: LockClass.created(at: site, noun: creator.wrapper ?? kind.noun, verb: verb),
            site: .code(site), nesting: 0)
    }

    // MARK: Finding the init site

    /// The return address of the first caller that is not lock code (the validator's own code is), from
    /// `caller` (the return address of the interposed call) or the top down, and the type of the outermost
    /// lock wrapper above it, if one is a Swift type (`NSLock`). Programs create locks at few sites, and
    /// each frame is classified once: a symbol lookup (libunwind reads the object file's symbol table) is
    /// paid once per address.
    static func creatingCode(from caller: UInt? = nil) -> (frame: UInt, wrapper: String?) {
        if let caller, frameKind(of: caller) != .lockCode { return (caller, nil) }
        let capacity = 48
        let frames = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: capacity)
        defer { frames.deallocate() }
        let count = Int(lv_backtrace(frames, Int32(capacity)))
        let addresses = (0..<count).map { UInt(bitPattern: frames[$0]) }
        // Frames above the caller's are the validator's own.
        let callers = addresses[(caller.flatMap(addresses.firstIndex(of:)) ?? 0)...]
        guard let program = callers.firstIndex(where: { frameKind(of: $0) != .lockCode }) else {
            // Lock code all the way down (a thread's start in the C library): the lock's own caller.
            return (caller ?? callers.first ?? 0, nil)
        }
        let wrapper = callers[..<program].reversed().lazy.compactMap(wrapperType(at:)).first { !$0.isEmpty }
        return (callers[program], wrapper)
    }

    /// What code a return address is in, for keying classes.
    enum FrameKind {
        /// Lock-wrapper or runtime code: the class is keyed further down the stack.
        case lockCode
        /// A test framework's own code: its locks are left untracked.
        case testFramework
        /// The program's code: classes are keyed here.
        case program
    }

    private static let frameKinds = InternalLock([UInt: FrameKind]())

    static func frameKind(of address: UInt) -> FrameKind {
        if let known = frameKinds.withLock({ $0[address] }) { return known }
        let file = imageFileName(of: address)
        let kind: FrameKind
        if let file, lockLibraries.contains(where: file.hasPrefix) {
            kind = .lockCode
        } else if let name = symbolName(at: address), isLockFunction(name) {
            kind = .lockCode
        } else if let file, testFrameworkLibraries.contains(where: file.hasPrefix) {
            kind = .testFramework
        } else {
            kind = .program
        }
        frameKinds.withLock { $0[address] = kind }
        return kind
    }

    /// Whether the code at return address `address` is glue: a library's code that no symbol names (not the
    /// executable's), as a compiler's thunks are: Foundation's symbol table leaves out the witness thunk
    /// through which the program's `NSLocking.withLock` calls `NSLock.lock`. The sites of reports pass over
    /// it as over wrapper code. The executable's unnamed code is the program's own.
    static func isGlue(_ address: UInt) -> Bool {
        var bias: UInt = 0
        var path: UnsafePointer<CChar>?
        guard lv_image_of(address, &bias, &path) == 0, let path, String(cString: path) != executablePath else {
            return false
        }
        return symbolName(at: address) == nil
    }

    /// The executable's path, as the image table names its image.
    private static let executablePath: String? = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Libraries whose frames are all lock wrappers or runtime, by file-name prefix. Foundation is not
    /// one: its `NSLock`, `NSRecursiveLock` and `NSCondition` are wrappers by name, and the locks its
    /// other code (and ICU) creates are keyed inside it.
    static let lockLibraries = [
        "libc.so", "libc-", "libpthread", "ld-linux", "libswiftCore", "libswift_", "libswiftSynchronization",
        "libswiftDispatch", "libdispatch", "libBlocksRuntime", "libstdc++", "libc++", "libLockValidatorPreload",
    ]

    /// Test frameworks: the locks they create for themselves are not the code under test, and their
    /// stripped symbols cannot tell their sites apart.
    static let testFrameworkLibraries = ["libXCTest", "libTesting", "lib_TestingInternals"]

    private static func imageFileName(of address: UInt) -> String? {
        var base: UInt = 0
        var path: UnsafePointer<CChar>?
        guard lv_image_of(address, &base, &path) == 0, let path else { return nil }
        return String(cString: path).split(separator: "/").last.map(String.init)
    }

    private static func symbolName(at address: UInt) -> String? { Symbolizer.symbol(at: address)?.name }

    /// Mangled-name prefixes of the validator's own Swift modules.
    static let validatorPrefixes = [
        "$s13LockValidator", "$s21LockValidatorPthreads", "$s9SpinLocks", "lv_", "pthread_",
    ]

    static let wrapperTypeSuffixes = [
        "Lock", "Locks", "Locking", "Mutex", "Condition", "LockStorage", "LockOperations", "LockedValueBox",
    ]

    /// Whether the function `mangled` (a symbol-table name) is lock-wrapper code.
    static func isLockFunction(_ mangled: String) -> Bool {
        if validatorPrefixes.contains(where: mangled.hasPrefix) { return true }
        if mangled.hasPrefix("$s") { return lockWrapperType(swiftName: Symbolizer.demangle(mangled)) != nil }
        return isNamedForALock(mangled)
    }

    /// Words that make a C function lock code: `my_lock_init`, `sqlite3MutexAlloc`, `spin_unlock`.
    static let lockWords: Set<String> = [
        "lock", "locks", "locked", "locking", "unlock", "trylock", "rwlock", "spinlock", "mutex", "mutexes", "mtx",
    ]

    /// Whether a C (or C++) function is named for a lock: one of its words (split at `_`, `:` and
    /// lower-to-upper case changes) is a lock word, so `clock_gettime` and `block_alloc` are not.
    static func isNamedForALock(_ name: String) -> Bool {
        var words: [String] = []
        var word = ""
        var previous: Character = "_"
        for character in name {
            if !character.isLetter && !character.isNumber {
                words.append(word)
                word = ""
            } else {
                if character.isUppercase && (previous.isLowercase || previous.isNumber) {
                    words.append(word)
                    word = ""
                }
                word.append(character)
            }
            previous = character
        }
        words.append(word)
        return words.contains { lockWords.contains($0.lowercased()) }
    }

    /// The lock-wrapper type whose code is at return address `address` (`NSLock`), if any.
    private static func wrapperType(at address: UInt) -> String? {
        guard let (mangled, _) = Symbolizer.symbol(at: address), mangled.hasPrefix("$s") else { return nil }
        return lockWrapperType(swiftName: Symbolizer.demangle(mangled))
    }

    /// The lock-wrapper type a demangled Swift function belongs to (the entity a closure, specialisation or
    /// thunk is "in", "of" or "for", without its parameters, has a type component named like a lock), or
    /// `""` for the standard library's generic code specialised into the program; nil for other code.
    static func lockWrapperType(swiftName name: String) -> String? {
        let characters = Array(name)
        var depth = 0
        var entityStart = 0
        var entityEnd = characters.count
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "(" || character == "<" || character == "[" {
                if depth == 0 && character == "(" && index > entityStart && entityEnd == characters.count {
                    entityEnd = index
                }
                depth += 1
            } else if character == ")" || character == ">" || character == "]" {
                depth = max(depth - 1, 0)
            } else if depth == 0 {
                for marker in [" in ", " of ", " for "] where matches(characters, marker, at: index) {
                    entityStart = index + marker.count
                    entityEnd = characters.count
                }
            }
            index += 1
        }
        var entity = String(characters[min(entityStart, entityEnd)..<entityEnd])
        for prefix in ["static ", "merged "] where entity.hasPrefix(prefix) { entity.removeFirst(prefix.count) }
        let components = stripGenericArguments(entity).split(separator: ".").map(String.init)
        // The standard library's generic code, specialised into the program (`ManagedBuffer.create`).
        if let module = components.first, ["Swift", ":Swift", "_Concurrency", "Synchronization"].contains(module) {
            return ""
        }
        guard components.count >= 3 else { return nil }  // Module.Type.function at least
        return components.dropFirst().dropLast().first { type in
            wrapperTypeSuffixes.contains { type.hasSuffix($0) }
        }
    }

    private static func matches(_ characters: [Character], _ marker: String, at index: Int) -> Bool {
        let marker = Array(marker)
        guard index + marker.count <= characters.count else { return false }
        return Array(characters[index..<index + marker.count]) == marker
    }

    /// `text` without generic arguments and without an `(extension in Module):` prefix.
    private static func stripGenericArguments(_ text: String) -> String {
        if text.hasPrefix("(extension in "), let colon = text.firstIndex(of: ":") {
            return stripGenericArguments(String(text[text.index(after: colon)...]))
        }
        var depth = 0
        return String(
            text.filter { character in
                if character == "<" { depth += 1 }
                defer { if character == ">" { depth = max(depth - 1, 0) } }
                return depth == 0 && character != ">"
            })
    }
}
