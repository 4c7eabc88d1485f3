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

/// A suppressions file as LOCKVALIDATOR_SUPPRESSIONS and `lockval --suppressions` read it (the same
/// function): each line a valid suppression, which writes out as a line that reads back the same, or one
/// error that says what was wrong; each valid pattern matched against names, and against the input's own
/// first lines.
func fuzzSuppressions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let (suppressions, errors) = Suppression.parse(text: text)
    var lastLine = 0
    for (line, message) in errors {
        precondition(line > lastLine && !message.isEmpty && !message.contains("\n"), "error: \(line) \(message)")
        lastLine = line
    }
    let lines = text.split(separator: "\n", maxSplits: 8, omittingEmptySubsequences: false).prefix(8).map(String.init)
    for suppression in suppressions {
        precondition(!suppression.pattern.isEmpty)
        let again = try? Suppression.parse(line: suppression.description)
        precondition(again == suppression, "\(suppression) reads back as \(String(describing: again))")
        for name in names + lines { _ = suppression.matches(name: name) }
    }
    return 0
}
