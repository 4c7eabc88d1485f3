import ExampleScenarios

#if canImport(Glibc)
    import Glibc
#endif

exit(Scenario.all().first { $0.name == ExampleName.spinLockMisuse }!.runAsExample())
