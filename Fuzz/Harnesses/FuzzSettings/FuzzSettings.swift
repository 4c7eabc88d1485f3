import FuzzDriver
import LockValidator

@_cdecl("FuzzSettings_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    lv_fuzz_main(argc, argv) { data, size in fuzzSettings(data!, size) }
}

/// Every environment setting: the first byte picks the variable, the rest is its value.
func fuzzSettings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let variables = Configuration.environmentVariables
    let variable = variables[Int(data[0]) % variables.count]
    let value = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let (configuration, errors) = Configuration.parse([variable: value])
    // A bad value never weakens a check.
    if !errors.isEmpty {
        precondition(configuration.isEnabled, "a bad \(variable) switched the checks off")
        precondition(configuration.holdBudgetMicroseconds == 25 || variable != "LOCKVALIDATOR_HOLD_BUDGET_US")
        if variable == "LOCKVALIDATOR_EXIT_CODE" { precondition(configuration.exitCode == 66) }
        for error in errors { precondition(!error.description.isEmpty) }
    }
    precondition(Configuration.holdBudgetRange.contains(configuration.holdBudgetMicroseconds))
    precondition(Configuration.spinTimeoutRange.contains(configuration.spinTimeoutMilliseconds))
    return 0
}
