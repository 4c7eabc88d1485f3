import Synchronization
import _LockValidatorShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The process's configuration: read from the environment once, on first use; replaceable in code.
enum ConfigurationStore {
    private static let state = InternalLock<(configuration: Configuration, errors: [ConfigurationError])?>(nil)
    /// Set once the environment has been read: what the hot paths check, without the lock and a copy.
    private static let isLoaded = Atomic<Bool>(false)

    /// Reads the environment unless that was done: a load and a branch once it was.
    static func ensureLoaded() {
        if !isLoaded.load(ordering: .acquiring) { _ = loaded }
    }

    /// The configuration and the environment errors met reading it.
    static var loaded: (configuration: Configuration, errors: [ConfigurationError]) {
        state.withLock { state in
            if let state { return state }
            var environment = Configuration.environmentVariables.reduce(into: [String: String]()) { environment, name in
                if let value = getenv(name) { environment[name] = String(cString: value) }
            }
            // The family's other variables too, for the line that says a misspelled one is no setting.
            var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ  // NULL after clearenv
            while let pointer = entry?.pointee {
                let text = String(cString: pointer)
                if text.hasPrefix("LOCKVALIDATOR_"), let equals = text.firstIndex(of: "=") {
                    let name = String(text[..<equals])
                    if environment[name] == nil { environment[name] = String(text[text.index(after: equals)...]) }
                }
                entry = entry?.advanced(by: 1)
            }
            let (configuration, errors) = Configuration.parse(environment)
            for error in errors { printToStandardError("LockValidator: \(error)") }
            apply(configuration)
            state = (configuration, errors)
            isLoaded.store(true, ordering: .releasing)
            return (configuration, errors)
        }
    }

    static func replace(with configuration: Configuration) {
        _ = loaded
        state.withLock { state in
            state = (configuration, state?.errors ?? [])
            apply(configuration)
        }
    }

    /// Makes `configuration` take effect; the caller holds the state lock.
    private static func apply(_ configuration: Configuration) {
        lv_set_validation_enabled(configuration.isEnabled ? 1 : 0)
        HoldTiming.apply(configuration)
        currentCapacity.apply(configuration.capacity)
        if configuration.reportPath != nil || configuration.exitCode != nil
            || configuration.learnedOrderStorePath != nil
        {
            installExitHandler()
        }
    }

    /// Installs the one exit handler (idempotent): it writes the report, then sets the exit status. It
    /// runs after every handler registered with `atexit` once the program started (a test runner's).
    static func installExitHandler() {
        exitHandlerLock.withLock { installed in
            guard !installed else { return }
            installed = true
            lv_set_process_exit_hook { ProcessEnd.run() }
        }
    }

    private static let exitHandlerLock = InternalLock(false)
}
