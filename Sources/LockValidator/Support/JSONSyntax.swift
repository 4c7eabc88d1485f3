/// Where JSON text stops being JSON, for an error message that says where: the decoder only says that it
/// is not. A syntax check alone (RFC 8259), iterative, so that no nesting depth can overflow the stack.
package enum JSONSyntax {
    /// The first place `bytes` is not JSON, and what was expected there; nil for valid JSON.
    package struct Problem: Equatable, CustomStringConvertible {
        /// The byte offset, from 0.
        package let offset: Int
        /// The line and column (from 1) of that byte.
        package let line: Int
        package let column: Int
        /// What was expected there, in a few words.
        package let expected: String
        /// Whether the text ends there: a file cut off.
        package let atEnd: Bool

        package var description: String {
            atEnd
                ? "cut off at line \(line), column \(column) (byte \(offset)): \(expected)"
                : "not valid JSON at line \(line), column \(column) (byte \(offset)): expected \(expected)"
        }
    }

    package static func firstProblem(in bytes: [UInt8]) -> Problem? {
        var scanner = Scanner(bytes: bytes)
        return scanner.check()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var at = 0

        enum Container { case object, array }

        func problem(_ expected: String) -> Problem {
            var line = 1
            var column = 1
            for byte in bytes[..<min(at, bytes.count)] {
                if byte == 0x0A {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1  // one per character, not per byte of one
                }
            }
            return Problem(
                offset: at, line: line, column: column,
                expected: at >= bytes.count ? "the file ends where \(expected) was expected" : expected,
                atEnd: at >= bytes.count)
        }

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0A || bytes[at] == 0x0D {
                at += 1
            }
        }

        mutating func check() -> Problem? {
            var containers: [Container] = []
            skipSpace()
            while true {
                // A value.
                guard at < bytes.count else { return problem("a value") }
                switch bytes[at] {
                case UInt8(ascii: "{"):
                    at += 1
                    skipSpace()
                    if at < bytes.count && bytes[at] == UInt8(ascii: "}") {
                        at += 1
                    } else {
                        containers.append(.object)
                        if let problem = memberName() { return problem }
                        continue
                    }
                case UInt8(ascii: "["):
                    at += 1
                    skipSpace()
                    if at < bytes.count && bytes[at] == UInt8(ascii: "]") {
                        at += 1
                    } else {
                        containers.append(.array)
                        continue
                    }
                case UInt8(ascii: "\""):
                    if let problem = string() { return problem }
                case UInt8(ascii: "t"): if let problem = literal("true") { return problem }
                case UInt8(ascii: "f"): if let problem = literal("false") { return problem }
                case UInt8(ascii: "n"): if let problem = literal("null") { return problem }
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if let problem = number() { return problem }
                default:
                    return problem("a value (an object, array, string, number, true, false or null)")
                }
                // After a value: the next member or element, or the end of containers.
                while true {
                    skipSpace()
                    guard let container = containers.last else {
                        return at == bytes.count ? nil : problem("the end of the text after the value")
                    }
                    guard at < bytes.count else {
                        return problem(container == .object ? "\",\" or \"}\"" : "\",\" or \"]\"")
                    }
                    let close = UInt8(ascii: container == .object ? "}" : "]")
                    if bytes[at] == close {
                        at += 1
                        containers.removeLast()
                        continue
                    }
                    guard bytes[at] == UInt8(ascii: ",") else {
                        return problem(container == .object ? "\",\" or \"}\"" : "\",\" or \"]\"")
                    }
                    at += 1
                    skipSpace()
                    if container == .object, let problem = memberName() { return problem }
                    break
                }
            }
        }

        /// A member's name and its colon; the value follows.
        mutating func memberName() -> Problem? {
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { return problem("a member name (a string)") }
            if let problem = string() { return problem }
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return problem("\":\" after a member name") }
            at += 1
            skipSpace()
            return nil
        }

        mutating func string() -> Problem? {
            at += 1
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "\""):
                    at += 1
                    return nil
                case UInt8(ascii: "\\"):
                    at += 1
                    guard at < bytes.count else { return problem("an escaped character") }
                    if bytes[at] == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            at += 1
                            guard at < bytes.count, isHexDigit(bytes[at]) else { return problem("four hex digits") }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(bytes[at]) {
                        return problem("an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u)")
                    }
                    at += 1
                case 0..<0x20:
                    return problem("no control character inside a string")
                default:
                    at += 1
                }
            }
            return problem("the string's closing quote")
        }

        mutating func literal(_ word: String) -> Problem? {
            let start = at
            for byte in word.utf8 {
                guard at < bytes.count, bytes[at] == byte else {
                    at = start
                    return problem("a value (an object, array, string, number, true, false or null)")
                }
                at += 1
            }
            return nil
        }

        mutating func number() -> Problem? {
            if bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at < bytes.count, isDigit(bytes[at]) else { return problem("a digit") }
            if bytes[at] == UInt8(ascii: "0") {
                at += 1
            } else {
                while at < bytes.count, isDigit(bytes[at]) { at += 1 }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard at < bytes.count, isDigit(bytes[at]) else { return problem("a digit after the point") }
                while at < bytes.count, isDigit(bytes[at]) { at += 1 }
            }
            if at < bytes.count, bytes[at] | 0x20 == UInt8(ascii: "e") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard at < bytes.count, isDigit(bytes[at]) else { return problem("a digit in the exponent") }
                while at < bytes.count, isDigit(bytes[at]) { at += 1 }
            }
            return nil
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        func isHexDigit(_ byte: UInt8) -> Bool { isDigit(byte) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66) }
    }
}
