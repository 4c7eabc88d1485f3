import _LockOrderGraph

/// The IRQL-usage rule (`irql-inconsistent-usage`), lockdep's hard-IRQ state: the IRQLs each lock class
/// and each device-level lock instance has been held at, first seen where and by whom.
///
/// A class held at a device IRQL (irq-safe) and, somewhere else, at an IRQL where device interrupts
/// arrive (irq-unsafe) deadlocks when the interrupt arrives on a processor holding it there. Holds of
/// one class at two device levels are not a conflict (each device's instance is taken at its own
/// level); one instance held at two device levels is.
@usableFromInline
enum IRQLUsage {
    /// Levels at which device interrupts arrive (PASSIVE, APC and DISPATCH), and the device levels.
    private static let interruptibleLevels: UInt16 = 0b111
    private static let deviceLevels: UInt16 = ~interruptibleLevels

    private struct State {
        /// The first usage of each class at each IRQL, as numbers into the tables below: one small record,
        /// where a program of 100,000 classes kept 100,000 dictionaries of whole usages (600 bytes a class);
        /// a report rebuilds the few it shows. A class's first IRQL is in an array by class id (24 bytes a
        /// class, where a dictionary's bucket took 42 at 100,000 classes; past 64 KB a mapping of its own, which
        /// leaves no freed buffer resident as it grows); its other IRQLs, which few classes have, by
        /// `class id << 8 | IRQL`.
        var firstClassUsages = MappedBuffer<KeptUsage>()
        var otherClassUsages: [UInt64: KeptUsage] = [:]

        func classUsage(_ classID: UInt32, at level: UInt8) -> KeptUsage? {
            if Int(classID) < firstClassUsages.count, firstClassUsages[Int(classID)].level == level + 1 {
                return firstClassUsages[Int(classID)]
            }
            return otherClassUsages[IRQLUsage.classKey(classID, level)]
        }

        mutating func setClassUsage(_ classID: UInt32, at level: UInt8, _ kept: KeptUsage) {
            let index = Int(classID)
            guard index < LockStatisticsArena.denseClassIDs else {
                otherClassUsages[IRQLUsage.classKey(classID, level)] = kept
                return
            }
            if index >= firstClassUsages.count {
                let missing = index + 1 - firstClassUsages.count
                firstClassUsages.append(repeating: KeptUsage(), count: missing)
            }
            if firstClassUsages[index].level == 0 || firstClassUsages[index].level == level + 1 {
                var kept = kept
                kept.level = level + 1
                firstClassUsages[index] = kept
            } else {
                otherClassUsages[IRQLUsage.classKey(classID, level)] = kept
            }
        }
        /// What kept usages point to, each distinct value once: most classes are first held from a few
        /// places, by a few threads.
        var sites: [Site] = []
        var siteNumbers: [Site: UInt32] = [:]
        var threads: [ThreadInfo] = []
        var threadNumbers: [ThreadInfo: UInt32] = [:]
        var stacks: [StackTrace] = []
        var stackNumbers: [StackTrace: UInt32] = [:]
        /// The first usage of each instance at each device IRQL: instance → IRQL → usage.
        var instanceUsages: [UInt64: [UInt8: LockUsage]] = [:]

        mutating func keep(_ usage: LockUsage) -> KeptUsage {
            func number<Value: Hashable>(_ value: Value, _ values: inout [Value], _ numbers: inout [Value: UInt32])
                -> UInt32
            {
                // The newest few first, by comparison: a program's first holds at an IRQL come from a few
                // sites, threads and stacks, and comparing them is cheaper than hashing a stack or a name.
                for index in values.indices.suffix(4).reversed() where values[index] == value { return UInt32(index) }
                if let known = numbers[value] { return known }
                values.append(value)
                numbers[value] = UInt32(values.count - 1)
                return UInt32(values.count - 1)
            }
            return KeptUsage(
                instance: usage.lock.instance, site: number(usage.site, &sites, &siteNumbers),
                thread: number(usage.thread, &threads, &threadNumbers),
                stack: number(usage.stack, &stacks, &stackNumbers))
        }

        func usage(_ kept: KeptUsage, of lockClass: LockClass, at level: UInt8) -> LockUsage {
            LockUsage(
                lock: LockInfo(of: lockClass, instance: kept.instance), irql: IRQL(unchecked: level),
                site: sites[Int(kept.site)], thread: threads[Int(kept.thread)], stack: stacks[Int(kept.stack)])
        }
    }

    /// A class's first usage at an IRQL: its instance, and its site, thread and stack by number.
    private struct KeptUsage {
        var instance: UInt64 = 0
        var site: UInt32 = 0
        var thread: UInt32 = 0
        var stack: UInt32 = 0
        /// In `firstClassUsages`: the IRQL plus one (0: none yet), in the record's padding.
        var level: UInt8 = 0
    }

    private static let state = InternalLock(State())

    /// Forgets every usage (and the classes' level bits).
    static func reset(_ classes: [LockClass]) {
        state.withLock { state in
            state = State()
            for lockClass in classes { lockClass.levelsUsed.store(0, ordering: .relaxed) }
        }
    }

    /// Forgets what was kept about a freed lock instance.
    static func forgetInstance(_ instance: UInt64) {
        state.withLock { state in state.instanceUsages[instance] = nil }
    }

    /// Records that `lockClass` was held at `level` for the first time; reports it held at a device
    /// IRQL and at an interruptible one.
    @usableFromInline
    @inline(never)
    static func recordClassUsage(
        of lockClass: LockClass, instance: UInt64, at level: IRQL, site: CallSite, on thread: ThreadState
    ) {
        thread.billingValidator {
            let lock = LockInfo(of: lockClass, instance: instance)
            let conflict = state.withLock { state in
                checkClassUsage(of: lockClass, lock: lock, at: level, site: site, on: thread, in: &state)
            }
            if let conflict {
                printInconsistentUsage(conflict, named: "\"\(lockClass.name)\"", thisLock: "it", at: site)
            }
        }
    }

    /// Records that one lock instance was held at device IRQL `level` for the first time; reports it
    /// held at two device levels: an interrupt at the higher level arriving while this very lock is held
    /// at the lower one spins on it forever.
    @usableFromInline
    @inline(never)
    static func recordInstanceUsage(
        of lockClass: LockClass, instance: UInt64, at level: IRQL, site: CallSite, on thread: ThreadState,
        settingDeviceLevels setLevels: (UInt32) -> UInt32
    ) {
        thread.billingValidator {
            let lock = LockInfo(of: lockClass, instance: instance)
            let conflict = state.withLock { state in
                checkInstanceUsage(of: lock, settingDeviceLevels: setLevels, at: level, site: site, on: thread, in: &state)
            }
            if let conflict { printInconsistentUsage(conflict, named: "\(lock)", thisLock: "this lock", at: site) }
        }
    }

    // MARK: Finding (under the usage lock)

    private static func checkClassUsage(
        of lockClass: LockClass, lock: LockInfo, at level: IRQL, site: CallSite, on thread: ThreadState,
        in state: inout State
    ) -> (higher: LockUsage, lower: LockUsage)? {
        let bit = UInt16(1) << UInt16(level.rawValue)
        let before = lockClass.levelsUsed.bitwiseOr(bit, ordering: .relaxed).oldValue
        guard before & bit == 0 else { return nil }
        let usage = usage(of: lock, at: level, site, thread)
        state.setClassUsage(lockClass.id, at: level.rawValue, state.keep(usage))
        let pair: (higher: UInt8, lower: UInt8)
        if bit & deviceLevels != 0, before & interruptibleLevels != 0 {
            pair = (level.rawValue, UInt8(15 - (before & interruptibleLevels).leadingZeroBitCount))
        } else if bit & interruptibleLevels != 0, before & deviceLevels != 0 {
            pair = (UInt8((before & deviceLevels).trailingZeroBitCount), level.rawValue)
        } else {
            return nil
        }
        guard let higher = state.classUsage(lockClass.id, at: pair.higher),
            let lower = state.classUsage(lockClass.id, at: pair.lower)
        else { return nil }
        return (state.usage(higher, of: lockClass, at: pair.higher), state.usage(lower, of: lockClass, at: pair.lower))
    }

    private static func checkInstanceUsage(
        of lock: LockInfo, settingDeviceLevels setLevels: (UInt32) -> UInt32, at level: IRQL, site: CallSite,
        on thread: ThreadState, in state: inout State
    ) -> (higher: LockUsage, lower: LockUsage)? {
        let bit = UInt32(1) << UInt32(level.rawValue)
        let before = setLevels(bit)  // the instance's bits (LockTracking's), set under the usage lock
        guard before & bit == 0 else { return nil }
        let usage = usage(of: lock, at: level, site, thread)
        state.instanceUsages[lock.instance, default: [:]][level.rawValue] = usage
        guard before != 0, let other = state.instanceUsages[lock.instance]?.first(where: { $0.key != level.rawValue })
        else { return nil }
        return other.key > level.rawValue ? (other.value, usage) : (usage, other.value)
    }

    private static func classKey(_ classID: UInt32, _ level: UInt8) -> UInt64 { UInt64(classID) << 8 | UInt64(level) }

    private static func usage(of lock: LockInfo, at level: IRQL, _ site: CallSite, _ thread: ThreadState) -> LockUsage {
        LockUsage(lock: lock, irql: level, site: site.site, thread: thread.info, stack: .capture())
    }

    // MARK: Reporting (outside it)

    private static func printInconsistentUsage(
        _ conflict: (higher: LockUsage, lower: LockUsage), named name: String, thisLock: String, at site: CallSite
    ) {
        let (higher, lower) = conflict
        LockValidator.record(
            .irqlInconsistentUsage,
            summary: "\(name) is held at \(higher.irql) (acquired at \(higher.site)) and at \(lower.irql) (acquired at"
                + " \(lower.site)): an interrupt at \(higher.irql) arriving on a processor that holds \(thisLock) at"
                + " \(lower.irql) spins on it forever",
            locks: [higher.lock], site: site.site, usages: [higher, lower])
    }
}
