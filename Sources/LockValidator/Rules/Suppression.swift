#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A suppression: violations of a rule that involve a lock class, or pass through a function, matching
/// a pattern are counted in the report but fail nothing, as TSan's suppressions.
///
/// A suppressions file has one per line, `#` starting a comment:
///
/// ```
/// # rule : lock-class pattern
/// lock-order-inversion:Legacy.*
/// # rule : fun: function pattern (demangled names in the violation's stacks)
/// recursive-acquire:fun:*OldDriver.completeRequest*
/// # any rule
/// *:ThirdParty.*
/// ```
///
/// Patterns are globs: `*` matches any run of characters, `?` any one.
public struct Suppression: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The rule suppressed, or nil for every rule.
    public let rule: Rule?
    /// The glob pattern.
    public let pattern: String
    /// Whether the pattern matches function names in stacks rather than lock class names.
    public let matchesFunctions: Bool

    public init(rule: Rule?, pattern: String, matchesFunctions: Bool = false) {
        self.rule = rule
        self.pattern = pattern
        self.matchesFunctions = matchesFunctions
    }

    /// The line as written in a suppressions file.
    public var description: String { "\(rule?.rawValue ?? "*"):\(matchesFunctions ? "fun:" : "")\(pattern)" }

    /// Parses one line; nil for blank lines and comments.
    ///
    /// - Throws: a message saying what is wrong with the line.
    public static func parse(line: String) throws(SuppressionSyntaxError) -> Suppression? {
        let text = line.trimmingSpaces
        if text.isEmpty || text.hasPrefix("#") { return nil }
        // The colon as a Unicode scalar, not a Character: a combining mark after it (`*:\u{301}x`) makes one
        // Character of the two, and the line read as having no colon; the pattern a valid line wrote
        // (`description`) then did not read back (found by FuzzSuppressions).
        let scalars = text.unicodeScalars
        guard let colon = scalars.firstIndex(of: ":") else {
            throw SuppressionSyntaxError(message: "expected rule:pattern, got \"\(text)\"")
        }
        let ruleText = String(scalars[..<colon]).trimmingSpaces
        var pattern = String(scalars[scalars.index(after: colon)...]).trimmingSpaces
        let rule: Rule?
        if ruleText == "*" {
            rule = nil
        } else if let known = Rule(rawValue: ruleText) {
            rule = known
        } else {
            let hint = NearestName.nearest(to: ruleText, in: Rule.allCases.map(\.rawValue))
            throw SuppressionSyntaxError(
                message: "unknown rule \"\(ruleText)\"" + (hint.map { " (did you mean \"\($0)\"?)" } ?? ""))
        }
        var functions = false
        if pattern.hasPrefix("fun:") {
            functions = true
            pattern = String(pattern.dropFirst(4)).trimmingSpaces
        }
        guard !pattern.isEmpty else { throw SuppressionSyntaxError(message: "empty pattern") }
        if let problem = Self.patternProblem(pattern) { throw SuppressionSyntaxError(message: problem) }
        return Suppression(rule: rule, pattern: pattern, matchesFunctions: functions)
    }

    /// What is wrong with a glob pattern, if anything: a `[` class never closed, or empty.
    static func patternProblem(_ pattern: String) -> String? {
        let scalars = Array(pattern.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "[" {
                guard let end = classEnd(scalars, from: index) else {
                    return "the class \"[\" at character \(index + 1) of \"\(pattern)\" is never closed with \"]\""
                }
                index = end
            }
            index += 1
        }
        return nil
    }

    /// The index of the `]` that closes the class opening at `start` (a `]` first in the class, or after
    /// `!`, is a member); nil when none does.
    private static func classEnd(_ pattern: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start + 1
        if index < pattern.count && pattern[index] == "!" { index += 1 }
        if index < pattern.count && pattern[index] == "]" { index += 1 }
        while index < pattern.count {
            if pattern[index] == "]" { return index }
            index += 1
        }
        return nil
    }

    /// Reads a suppressions file: its valid lines, and one error for each bad one (its line number and what
    /// was expected). A bad line is dropped and the others kept: a typo never drops a check it does not name.
    ///
    /// - Throws: the file cannot be read.
    /// `ignoring` ends each error's line with what becomes of the line (nil: the reader refuses the file).
    package static func load(
        from path: String, variable: String, ignoring: String? = "the line is ignored"
    ) throws(ConfigurationError) -> (
        suppressions: [Suppression], errors: [ConfigurationError]
    ) {
        guard let text = TextFile.read(path) else {
            throw ConfigurationError(variable: variable, value: path, expected: "a readable suppressions file")
        }
        let (suppressions, errors) = parse(text: text)
        return (
            suppressions,
            errors.map { line, message in
                // As compilers say it (`supp.txt:3: …`), which editors and terminals open at the line.
                ConfigurationError(
                    variable: variable, value: path, expected: message,
                    description: "\(path):\(line): \(message)" + (ignoring.map { "; \($0)" } ?? ""))
            }
        )
    }

    /// Reads the text of a suppressions file: its valid lines, and for each bad one its number (from 1)
    /// and what is wrong with it. Lines end at each newline; a carriage return before one is white space,
    /// so a file saved with Windows line ends reads the same.
    public static func parse(text: String) -> (suppressions: [Suppression], errors: [(line: Int, message: String)]) {
        var suppressions: [Suppression] = []
        var errors: [(line: Int, message: String)] = []
        // Split on the byte, not the Character: "\r\n" is one Character, which a "\n" never equals, so a
        // file with Windows line ends was one line (its suppressions lost without an error).
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            do throws(SuppressionSyntaxError) {
                if let suppression = try parse(line: String(decoding: line, as: UTF8.self)) {
                    suppressions.append(suppression)
                }
            } catch {
                errors.append((index + 1, error.message))
            }
        }
        return (suppressions, errors)
    }

    /// Whether `violation` is one this suppression covers.
    public func matches(_ violation: Violation) -> Bool {
        if let rule, rule != violation.rule { return false }
        if matchesFunctions {
            let stacks = [violation.stack] + violation.edges.map(\.stack) + violation.usages.map(\.stack)
            return stacks.contains { stack in
                stack.symbolicated(locations: false).contains { $0.symbol.map(glob) ?? false }
            }
        }
        return violation.locks.contains { glob($0.name) } || violation.edges.contains { glob($0.from.name) }
    }

    /// Whether the pattern matches `name` (a lock class name, or a function name for a `fun:` suppression).
    public func matches(name: String) -> Bool { glob(name) }

    private func glob(_ text: String) -> Bool { Self.glob(Array(pattern.unicodeScalars), Array(text.unicodeScalars)) }

    /// Iterative glob match with backtracking on the last `*`: `*` any run, `?` any one, `[abc]`, `[a-z]` and
    /// `[!abc]` one of (or none of) a class.
    package static func glob(_ pattern: [Unicode.Scalar], _ text: [Unicode.Scalar]) -> Bool {
        var (p, t) = (0, 0)
        var star: (p: Int, t: Int)?
        while t < text.count {
            if p < pattern.count && pattern[p] == "[", let end = classEnd(pattern, from: p),
                classContains(pattern[(p + 1)..<end], text[t])
            {
                p = end + 1
                t += 1
            } else if p < pattern.count && pattern[p] != "[" && (pattern[p] == "?" || pattern[p] == text[t]) {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == "*" {
                star = (p, t)
                p += 1
            } else if let last = star {
                p = last.p + 1
                t = last.t + 1
                star = (last.p, last.t + 1)
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

extension Suppression {
    /// Whether the class body `members` (between `[` and `]`) admits `scalar`.
    fileprivate static func classContains(_ members: ArraySlice<Unicode.Scalar>, _ scalar: Unicode.Scalar) -> Bool {
        var members = members
        let negated = members.first == "!"
        if negated { members = members.dropFirst() }
        var found = false
        var index = members.startIndex
        while index < members.endIndex {
            let low = members[index]
            if index + 2 < members.endIndex, members[index + 1] == "-" {
                if low.value <= scalar.value && scalar.value <= members[index + 2].value { found = true }
                index += 3
            } else {
                if low == scalar { found = true }
                index += 1
            }
        }
        return found != negated
    }
}

/// What is wrong with a suppressions line.
public struct SuppressionSyntaxError: Error, Sendable {
    public let message: String
}
