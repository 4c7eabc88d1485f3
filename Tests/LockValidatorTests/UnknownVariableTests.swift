import Foundation
import LockValidator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A misspelled `LOCKVALIDATOR_…` variable is one line naming the setting it most likely meant, rather
/// than a setting silently not applied; the names the repository itself uses draw no line.
@Suite struct UnknownVariableTests {
    // Spelled in two pieces, so that the scan of the repository below does not find the typo as a use.
    static let typo = "LOCKVALIDATOR_" + "FAILON"

    @Test func aMisspelledVariableNamesTheOneMeant() {
        let (configuration, errors) = Configuration.parse([Self.typo: "can-deadlock"])
        #expect(
            errors.map(\.description) == [
                "\(Self.typo) is not a LockValidator setting and is ignored (did you mean LOCKVALIDATOR_FAIL_ON?)"
            ])
        #expect(configuration.failOn == .everyCycle)
        let far = "LOCKVALIDATOR_" + "SOMETHING_ELSE_ENTIRELY"
        #expect(
            Configuration.parse([far: "1"]).1.map(\.description) == [
                "\(far) is not a LockValidator setting and is ignored"
            ])
    }

    @Test func knownVariablesAndOtherFamiliesDrawNoLine() {
        let environment = [
            "LOCKVALIDATOR_FAIL_ON": "can-deadlock", "LOCKVALIDATOR_BENCH_VALIDATION": "off", "LOCKVALIDATORX": "1",
            "PATH": "/usr/bin",
        ]
        #expect(Configuration.parse(environment).1.isEmpty)
    }

    /// The process reads the whole environment for the family, and says it once, on standard error.
    @Test func theProcessPrintsTheLineOnce() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv(UnknownVariableTests.typo, "can-deadlock", 1)
            precondition(LockValidator.configurationErrors.count == 1)
            precondition(LockValidator.configuration.failOn == .everyCycle)
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        let line = "LockValidator: \(Self.typo) is not a LockValidator setting and is ignored"
        #expect(standardError.components(separatedBy: line).count == 2, "\(standardError)")
    }

    /// Every `LOCKVALIDATOR_…` name the sources, scripts, tests and documents use is a known one, so that
    /// none of them draws a false line.
    @Test func everyNameTheRepositoryUsesIsKnown() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var names: Set<String> = []
        let places = [
            "Sources", "scripts", "Tests", ".ci", "Examples", "Benchmarks", "Fuzz", "README.md", "BENCHMARKS.md",
        ]
        for place in places {
            let url = root.appendingPathComponent(place)
            var files: [URL] = [url]
            if let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) {
                files = walker.compactMap { $0 as? URL }.filter { !$0.path.contains("/.build") }
            }
            for file in files {
                guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
                // The documents' example of the line itself (`… is not a LockValidator setting`) is no use.
                for match in text.matches(of: /LOCKVALIDATOR_[A-Z0-9_]*[A-Z0-9]/)
                where !text[match.range.upperBound...].hasPrefix(" is not a LockValidator") {
                    names.insert(String(match.output))
                }
            }
        }
        #expect(names.count >= 10, "\(names.sorted())")
        let lines = Configuration.parse(Dictionary(uniqueKeysWithValues: names.map { ($0, "x") })).1
        #expect(!lines.contains { $0.description.contains("is not a LockValidator setting") }, "\(lines)")
    }
}
