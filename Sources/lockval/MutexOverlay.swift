/// The Mutex overlay's changes to the toolchain's `Synchronization` interface: weak hooks declared, and
/// `_MutexHandle`'s inlined `init`, `_lock`, `_tryLock` and `_unlock` calling them (see `swift_mutex.c`).
/// Each change replaces text the interface must hold as it is; a toolchain whose interface differs is an
/// error that names what was not found, never a half-patched module.
enum MutexOverlay {
    static let hooks = [
        hook("init", "(_ word: Swift.UnsafeMutableRawPointer)"),
        hook("took", "(_ word: Swift.UnsafeMutableRawPointer, _ trylock: Swift.Int32)"),
        hook("locked", "(_ word: Swift.UnsafeMutableRawPointer) -> Swift.Int32"),
        hook("will_wait", "(_ word: Swift.UnsafeMutableRawPointer) -> Swift.Int32"),
        hook("waited", "(_ word: Swift.UnsafeMutableRawPointer)"),
        hook("will_unlock", "(_ word: Swift.UnsafeMutableRawPointer) -> Swift.Int32"),
    ].joined()

    /// The declaration of hook `lockvalidator_mutex_<name>`, as `_lockValidatorMutex<Name>`.
    static func hook(_ name: String, _ signature: String) -> String {
        let swiftName = name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return "@_extern(c, \"lockvalidator_mutex_\(name)\") @_weakLinked @usableFromInline"
            + " internal func _lockValidatorMutex\(swiftName)\(signature)\n"
    }

    /// The word's address, as the hooks take it.
    static let word = "Swift.UnsafeMutableRawPointer(storage._rawAddress)"

    /// Lines as one text (the interface's own indentation and blank lines, which hold spaces, kept exact).
    static func lines(_ lines: String...) -> String { lines.joined(separator: "\n") }

    /// (what the interface holds, what the overlay has instead, what it is).
    static let changes: [(original: String, replacement: String, what: String)] = [
        (
            "@frozen @_staticExclusiveOnly public struct _MutexHandle",
            hooks + "@frozen @_staticExclusiveOnly public struct _MutexHandle", "the _MutexHandle declaration"
        ),
        (
            lines("  @_alwaysEmitIntoClient @_transparent public init() {", "    storage = Atomic(0)", "  }"),
            lines(
                "  @_alwaysEmitIntoClient @_transparent public init() {", "    storage = Atomic(0)",
                "    if #_hasSymbol(_lockValidatorMutexInit) { _lockValidatorMutexInit(\(word)) }", "  }"),
            "_MutexHandle.init()"
        ),
        (
            lines(
                "    if _fastPath(exchanged) {", "       ", "      return", "    }", "", "    _lockSlow(selfId)",
                "  }"),
            lines(
                "    if _fastPath(exchanged) {",
                // Nonzero only in confirmation mode: given back, to be held back before it (swift_mutex.c).
                "      if #_hasSymbol(_lockValidatorMutexLocked) {",
                "        if _lockValidatorMutexLocked(\(word)) == 0 { return }",
                "      } else {", "        return", "      }", "    }",
                "    if #_hasSymbol(_lockValidatorMutexWillWait) {",
                "      if _lockValidatorMutexWillWait(\(word)) != 0 { return }", "    }",
                "    _lockSlow(selfId)",
                "    if #_hasSymbol(_lockValidatorMutexWaited) { _lockValidatorMutexWaited(\(word)) }", "  }"),
            "_MutexHandle._lock()"
        ),
        (
            lines(
                "    ).exchanged {", "       ", "      return true", "    }", "", "     ", "     ",
                "    return _tryLockSlow()"),
            lines(
                "    ).exchanged {",
                "      if #_hasSymbol(_lockValidatorMutexTook) { _lockValidatorMutexTook(\(word), 1) }",
                "      return true", "    }",
                "    let taken = _tryLockSlow()",
                "    if taken, #_hasSymbol(_lockValidatorMutexTook) { _lockValidatorMutexTook(\(word), 1) }",
                "    return taken"),
            "_MutexHandle._tryLock()"
        ),
        (
            lines("  @_alwaysEmitIntoClient @_transparent internal borrowing func _unlock() {", "     "),
            lines(
                "  @_alwaysEmitIntoClient @_transparent internal borrowing func _unlock() {",
                "    if #_hasSymbol(_lockValidatorMutexWillUnlock) {",
                "      if _lockValidatorMutexWillUnlock(\(word)) != 0 { return }", "    }"),
            "_MutexHandle._unlock()"
        ),
    ]

    /// `interface` with the overlay's changes.
    static func patched(_ interface: String) throws -> String {
        var text = interface
        for change in changes {
            guard let range = text.range(of: change.original) else {
                throw Failure(
                    "this toolchain's Synchronization interface has no \(change.what) as LockValidator knows it;"
                        + " the Mutex overlay supports Swift 6.3's")
            }
            text.replaceSubrange(range, with: change.replacement)
        }
        return text
    }
}
