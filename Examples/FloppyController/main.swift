import ExampleScenarios

#if canImport(Glibc)
    import Glibc
#endif

let fixed = CommandLine.arguments.contains("--fixed")
exit(Scenario.all(fixed: fixed).first { $0.name.hasPrefix(ExampleName.floppyController) }!.runAsExample())
