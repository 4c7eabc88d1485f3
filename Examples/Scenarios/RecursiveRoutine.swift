import SpinLocks

/// Seed scenario 4: a routine that calls itself while holding its spin lock — on Windows a hang (the
/// second acquire spins forever on a lock its own processor holds). Reported as `recursive-acquire`,
/// and the program finishes.
enum RecursiveRoutine {
    final class Directory: @unchecked Sendable {
        let lock = SpinLock("Directory.lock")
        var entries: [String: [String]] = ["/": ["a", "b"], "/a": ["c"], "/a/c": [], "/b": []]
        var visited = 0

        /// Counts the entries under `path`, re-entering itself with the lock held.
        @inline(never)
        func count(_ path: String) -> Int {
            lock.withLock {
                visited += 1
                return (entries[path] ?? []).reduce(1) { total, child in
                    total + count(path == "/" ? "/" + child : path + "/" + child)
                }
            }
        }
    }

    static var scenario: Scenario {
        Scenario(
            name: ExampleName.recursiveRoutine,
            summary: "a routine re-acquires its spin lock by calling itself",
            expected: [.recursiveAcquire]
        ) {
            let directory = Directory()
            let counted = ProcessorThread(name: "lookup") {
                precondition(directory.count("/") == 4, "four directory entries")
            }
            counted.join()
        }
    }
}
