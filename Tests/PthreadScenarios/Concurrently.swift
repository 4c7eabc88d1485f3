// Also compiled into the end-to-end package's tests (Tests/EndToEnd/Tests/LedgerTests/Concurrently.swift is
// a link to this file): that package uses only this one's products, and this is no product's API.
import Foundation

/// Runs `body` on `count` threads at once and waits for all.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    group.wait()
}
