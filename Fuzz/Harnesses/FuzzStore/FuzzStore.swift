import FuzzDriver
import LockValidator
import LockValidatorReports

@_cdecl("FuzzStore_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    lv_fuzz_main(argc, argv) { data, size in fuzzStore(data!, size) }
}

/// A learned-order store as a process and `lockval` read it: what is whole is kept, the rest said, and
/// what is kept writes out whole (read back, nothing is dropped and nothing changes); then the store as a
/// report, checked for cycles across processes, and pruned.
func fuzzStore(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard var store = try? LearnedOrderStore(parsing: text, from: "fuzz.graph") else { return 0 }
    let written = store.text()
    guard let again = try? LearnedOrderStore(parsing: written, from: "again.graph") else {
        preconditionFailure("a store written from what was kept does not read back")
    }
    precondition(again.droppedLines.isEmpty, "written whole, read with drops: \(again.droppedLines)")
    precondition(again.orders.count == store.orders.count)
    precondition(again.text() == written, "not written the same twice")
    // What lockval does with a store (as a report, checked for cycles; pruned) on a share of the inputs:
    // the parser is the target, and these cost ten times as much.
    if size % 8 == 0 {
        _ = ValidationReport.merged([store.asReport(path: "fuzz.graph")]).renderedText()
        store.prune(notSeenFor: 1)
    }
    return 0
}
