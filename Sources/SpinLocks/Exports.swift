@_exported import LockValidator
