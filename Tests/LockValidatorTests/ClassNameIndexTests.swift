import Testing

@testable import LockValidator

/// The class registry's name index against a `Dictionary`: the same answers through growth, for names
/// that share long prefixes (as a program's generated names do), and a name set again takes its new class.
@Suite struct ClassNameIndexTests {
    @Test func itAnswersAsADictionaryDoes() {
        var index = ClassNameIndex()
        var oracle: [String: LockClass] = [:]
        let site = Site.source(SourceSite(fileID: "Tests/ClassNameIndexTests.swift", line: 10))
        let run = UInt64.random(in: 0...1 << 60)
        let classes = (0..<4).map { LockClass.named("test.class-name-index.\($0).\(run)", site: site) }
        for number in 0..<3_000 {
            let name = "bench.graph.100000.2.\(number % 1_000).\(number)"
            #expect(index[name] == nil)
            index.set(classes[number % 4], for: name)
            oracle[name] = classes[number % 4]
        }
        // Set again: replaced, not added.
        for number in stride(from: 0, to: 3_000, by: 7) {
            let name = "bench.graph.100000.2.\(number % 1_000).\(number)"
            index.set(classes[(number + 1) % 4], for: name)
            oracle[name] = classes[(number + 1) % 4]
        }
        #expect(index.count == oracle.count)
        for (name, lockClass) in oracle { #expect(index[name] === lockClass) }
        #expect(index["bench.graph.100000.2.0.3000"] == nil && index[""] == nil)
    }
}
