// Test code names LockValidator's types (`Rule` in `allowedLockRules`, `Configuration.FailOn` in
// `lockFailOn`, `IRQL`): `import LockValidatorTesting` alone brings them.
@_exported import LockValidator
