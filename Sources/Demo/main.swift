import ExampleScenarios
import LockValidator
import LockValidatorReports

#if canImport(Glibc)
    import Glibc
#endif

/// The tour: the five seed scenarios, what the validator found in each, and where to look next.
func main() -> Int32 {
    guard LockValidator.isCompiledIn else {
        print("Built without the Validation trait: the locks are plain spin locks and nothing is checked.")
        return 0
    }
    let scenarios = Scenario.all()
    print("LockValidator demo: the seed scenarios, each on its own threads\n")
    var everything: [Violation] = []
    var rows: [(String, String, String)] = []
    var failures = 0
    for scenario in scenarios {
        let found = scenario.run()
        everything += found
        let rules =
            found.isEmpty
            ? "nothing (clean)"
            : Dictionary(grouping: found.map(\.rule.rawValue), by: { $0 })
                .sorted { $0.key < $1.key }.map { $0.value.count > 1 ? "\($0.key) ×\($0.value.count)" : $0.key }
                .joined(separator: ", ")
        let verdict = scenario.matches(found) ? "as expected" : "UNEXPECTED"
        if !scenario.matches(found) { failures += 1 }
        rows.append((scenario.name, rules, verdict))
    }
    let nameWidth = rows.map(\.0.count).max()!
    let rulesWidth = rows.map(\.1.count).max()!
    func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: width - text.count) }
    print("\(pad("scenario", nameWidth))  \(pad("found", rulesWidth))  verdict")
    print("\(String(repeating: "-", count: nameWidth))  \(String(repeating: "-", count: rulesWidth))  -------")
    for row in rows { print("\(pad(row.0, nameWidth))  \(pad(row.1, rulesWidth))  \(row.2)") }

    if let inversion = everything.first(where: { $0.rule == .lockOrderInversion }) {
        // What the run showed, then what it means: the verdict speaks for this run only, the lockdep-style
        // scenario for any run whose threads take the two orders at once.
        let couldHere = inversion.verdict?.canDeadlock ?? true
        print(
            couldHere
                ? "\nThe floppy controller did not deadlock on this run, but it can: its routines take the two timer"
                    + "\nlocks in opposite orders, on threads that could run at once. The report:\n"
                : "\nThe floppy controller did not deadlock on this run, and the verdict says why it could not. Its"
                    + "\nroutines still take the two timer locks in opposite orders, which the validator reports: run at"
                    + "\nonce (a DPC and a thread on two CPUs), they can deadlock. The report:\n")
        let text = inversion.rendered(.text)
        // The story up to the chain's stacks, whole sections only, then the CPU0/CPU1 table.
        var story = text.firstRange(of: "\nthe existing dependency chain").map { text[..<$0.lowerBound] } ?? text[...]
        while story.first == "\n" { story.removeFirst() }
        while story.last == "\n" { story.removeLast() }
        print(story)
        if let start = text.firstRange(of: " Possible unsafe locking scenario:"),
            let end = text.firstRange(of: "*** DEADLOCK ***")
        {
            if !couldHere { print("\nHow the two routines can deadlock when they run at once:") }
            print("\n" + text[start.lowerBound..<end.upperBound])
        }
    }

    var report = LockValidator.currentReport
    report.violations = everything
    for (path, text) in [
        ("lockvalidator-report.json", report.jsonText()), ("lockvalidator-report.html", report.html()),
    ] {
        do { try TextFile.writeAtomically(text, to: path) } catch { print("could not write a report: \(error)") }
    }
    print(
        """

        \(scenarios.count - failures) of \(scenarios.count) scenarios reported exactly what they should.
        Where to look next:
          lockvalidator-report.html                       every report with its stacks, and the lock-order graph
          swift run lockval show lockvalidator-report.json       the reports as text
          swift run lockval show --stats lockvalidator-report.json   lock statistics, longest hold first
          swift run floppy-controller [--fixed]           one scenario on its own (see Examples/*/README.md)
        """)
    return failures == 0 ? 0 : 1
}

exit(main())
