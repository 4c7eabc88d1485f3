import Testing

@testable import LockValidator

/// The class registry's name index against a `Dictionary`: the same answers through growth, for names
/// that share long prefixes (as a program's generated names do), for classes found by their given name
/// and by another (a subclass's `name/n`), and a name set again takes its new class.
@Suite struct ClassNameIndexTests {
    /// A class outside the registry, named `name`.
    func given(_ name: String, id: Int) -> LockClass {
        LockClass(id: UInt32(1_000_000 + id), naming: .given(name), site: nil)
    }

    @Test func itAnswersAsADictionaryDoes() {
        var index = ClassNameIndex()
        var oracle: [String: LockClass] = [:]
        func set(_ lockClass: LockClass, _ name: String) {
            index.set(lockClass, for: name)
            oracle[name] = lockClass
        }
        let names = (0..<3_000).map { "bench.graph.100000.2.\($0 % 1_000).\($0)" }
        for (number, name) in names.enumerated() {
            #expect(index[name] == nil)
            set(given(name, id: number), name)
        }
        let base = given("base", id: 5_000)
        set(base, "base")
        for level in 1...7 {
            let subclass = LockClass(
                id: UInt32(1_005_000 + level), naming: .given(""), site: nil, nesting: level, base: base)
            set(subclass, "base/\(level)")
        }
        // Set again: the same given name replaces in place; another class moves the name apart, and back.
        for number in stride(from: 0, to: 3_000, by: 7) {
            set(given(names[number], id: 10_000 + number), names[number])
        }
        for number in stride(from: 3, to: 3_000, by: 11) {
            set(given("other.\(number)", id: 20_000 + number), names[number])
        }
        for number in stride(from: 3, to: 3_000, by: 33) {
            set(given(names[number], id: 30_000 + number), names[number])
        }
        #expect(index.count == oracle.count)
        for (name, lockClass) in oracle { #expect(index[name] === lockClass) }
        #expect(index["bench.graph.100000.2.0.3000"] == nil && index[""] == nil && index["base/8"] == nil)
    }
}
