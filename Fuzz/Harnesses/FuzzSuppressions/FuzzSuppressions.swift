import FuzzDriver
import LockValidator

@_cdecl("FuzzSuppressions_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    lv_fuzz_main(argc, argv) { data, size in fuzzSuppressions(data!, size) }
}

let names = [
    "Bank.accounts", "NSLock created at Cache.swift:37:21 in Cache.init", "static mutex accounts in c-lock-order",
    "", "[", "*", "Driver/Queue.swift:42",
]

/// A suppressions file: each line parsed (a valid one, or one error that says what was wrong), and each
/// valid pattern matched against names, and against the input's own lines.
func fuzzSuppressions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for line in lines {
        do throws(SuppressionSyntaxError) {
            guard let suppression = try Suppression.parse(line: line) else { continue }
            precondition(!suppression.pattern.isEmpty)
            for name in names + lines.prefix(8) { _ = suppression.matches(name: name) }
        } catch {
            precondition(!error.message.isEmpty && !error.message.contains("\n"))
        }
    }
    return 0
}
