import FoundationEssentials
import FuzzDriver
import LockValidator
import LockValidatorReports

@_cdecl("FuzzReports_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    lv_fuzz_main(argc, argv) { data, size in fuzzReport(data!, size) }
}

/// A report file as `lockval` reads it: decoded (or refused in one line that says where), then every way
/// `lockval` shows one (text, SARIF, DOT, HTML), merged with itself, and written again.
func fuzzReport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let report: ValidationReport
    do {
        report = try ValidationReport.decode(Data(bytes), from: "fuzz.json")
    } catch {
        precondition(!error.description.contains("\n"), "an error is one line: \(error)")
        return 0
    }
    _ = report.renderedText()
    _ = report.sarif(sourceRoot: "/src/")
    _ = report.dot(cyclesOnly: false)
    // The page lays out a graph: the costliest step, taken on a share of the inputs.
    if size % 4 == 0 { _ = report.html() }
    // Merged with itself: every occurrence counted twice (violations with one fingerprint are one entry).
    let merged = ValidationReport.merged([report, report])
    let occurrences = { (violations: [Violation]) in violations.reduce(0) { $0 + $1.occurrences } }
    precondition(occurrences(merged.violations) >= 2 * occurrences(report.violations))
    _ = try? JSONEncoder().encode(merged)
    return 0
}
