import _LockValidatorShims

/// Families of acquire routines, as bits: one `KSPIN_LOCK` is taken with the routines of one family
/// (`mixed-acquire-kinds`). Ordinary and try-acquires are one family, in-stack queued another, an
/// interrupt spin lock's a third; annotated locks (any kind of lock the validator is told about) a fourth.
@usableFromInline
enum KindFamily {
    @inlinable static var ordinary: UInt8 { 1 }
    @inlinable static var queued: UInt8 { 2 }
    @inlinable static var interrupt: UInt8 { 4 }
    @inlinable static var annotated: UInt8 { 8 }
    /// The families a `KSPIN_LOCK` may not mix.
    static var spinRoutines: UInt8 { ordinary | queued }

    @inlinable
    static func of(_ kind: AcquireKind) -> UInt8 { of(rawKind: kind.rawValue) }

    /// The family of an `AcquireKind` raw value, as a held-lock entry stores it.
    @inlinable
    static func of(rawKind: UInt8) -> UInt8 { lv_kind_family(rawKind) }

    static func name(_ family: UInt8) -> String {
        switch family {
        case ordinary: return "ordinary (KeAcquireSpinLock)"
        case queued: return "in-stack queued (KeAcquireInStackQueuedSpinLock)"
        case interrupt: return "interrupt spin lock"
        default: return "annotated"
        }
    }
}
