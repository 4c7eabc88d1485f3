import _LockValidatorShims

/// A held-lock entry (lockdep's `held_lock`) as the engine reads it: which class, which lock, where.
extension lv_held_lock {
    /// The lock as reports name it; a class that cannot be found is named by its id.
    var lockInfo: LockInfo { LockClass.lockInfo(classID: lock_class, instance: instance) }

    /// Where the lock was acquired (every push records its call site).
    var acquiredAt: Site { CallSite(file: file!, line: UInt(line)).site }

    /// Whether any of `flags` (`LV_HELD_*`) is set.
    @inlinable
    func has(_ flags: Int32) -> Bool { self.flags & UInt8(flags) != 0 }
}
