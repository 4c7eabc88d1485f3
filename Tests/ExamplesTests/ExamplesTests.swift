import ExampleScenarios
import Testing

/// Each seed scenario reports exactly its rules: the clean ones nothing, the faulty ones theirs.
@Suite struct ExamplesTests {
    @Test(arguments: Scenario.all() + [Scenario.all(fixed: true)[1]])
    func reportsExactlyItsRules(scenario: Scenario) {
        let found = scenario.run()
        #expect(scenario.matches(found), "\(scenario.name) found \(found.map(\.rule.rawValue))")
    }
}

extension Scenario: CustomTestStringConvertible {
    public var testDescription: String { name }
}
