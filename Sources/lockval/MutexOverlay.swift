/// The Mutex overlay's changes to the toolchain's `Synchronization` interface: weak hooks declared, and
/// `_MutexHandle`'s inlined `init`, `_lock`, `_tryLock` and `_unlock` calling them (see `swift_mutex.c`).
/// Each change replaces text the interface must hold as it is; a toolchain whose interface differs is an
/// error that names what was not found, never a half-patched module.
enum MutexOverlay {
    static let hooks = """
        @_extern(c, "lockvalidator_mutex_init") @_weakLinked @usableFromInline internal func _lockValidatorMutexInit(_ word: Swift.UnsafeMutableRawPointer)
        @_extern(c, "lockvalidator_mutex_took") @_weakLinked @usableFromInline internal func _lockValidatorMutexTook(_ word: Swift.UnsafeMutableRawPointer, _ trylock: Swift.Int32)
        @_extern(c, "lockvalidator_mutex_will_wait") @_weakLinked @usableFromInline internal func _lockValidatorMutexWillWait(_ word: Swift.UnsafeMutableRawPointer) -> Swift.Int32
        @_extern(c, "lockvalidator_mutex_waited") @_weakLinked @usableFromInline internal func _lockValidatorMutexWaited(_ word: Swift.UnsafeMutableRawPointer)
        @_extern(c, "lockvalidator_mutex_will_unlock") @_weakLinked @usableFromInline internal func _lockValidatorMutexWillUnlock(_ word: Swift.UnsafeMutableRawPointer) -> Swift.Int32

        """

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
            lines("    if _fastPath(exchanged) {", "       ", "      return", "    }", "", "    _lockSlow(selfId)", "  }"),
            lines(
                "    if _fastPath(exchanged) {",
                "      if #_hasSymbol(_lockValidatorMutexTook) { _lockValidatorMutexTook(\(word), 0) }",
                "      return", "    }",
                "    if #_hasSymbol(_lockValidatorMutexWillWait) {",
                "      if _lockValidatorMutexWillWait(\(word)) != 0 { return }", "    }",
                "    _lockSlow(selfId)",
                "    if #_hasSymbol(_lockValidatorMutexWaited) { _lockValidatorMutexWaited(\(word)) }", "  }"),
            "_MutexHandle._lock()"
        ),
        (
            lines("    ).exchanged {", "       ", "      return true", "    }", "", "     ", "     ", "    return _tryLockSlow()"),
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
