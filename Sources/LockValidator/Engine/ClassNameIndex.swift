/// The lock classes by the name they are found by: the class registry's, under its lock.
///
/// Open addressing by the name's hash, at most half full; a slot is an entry's number plus one (0:
/// empty), 4 bytes, and the entries' names and classes are arrays by number. A `[String: LockClass]`
/// held 24 bytes a bucket at up to three quarters load, 63 to 75 bytes a class at 100,000 classes
/// (262,144 buckets); this is 24 an entry and 8 to 16 of slots. A name set again replaces its class.
struct ClassNameIndex {
    private var slots = [UInt32](repeating: 0, count: 16)
    private var names: [String] = []
    private var classes: [LockClass] = []

    /// The number of names.
    var count: Int { names.count }

    /// The class named `name`, if any.
    subscript(name: String) -> LockClass? { find(name).entry.map { classes[$0] } }

    /// Makes `lockClass` the class named `name`, replacing any.
    mutating func set(_ lockClass: LockClass, for name: String) {
        let (entry, empty) = find(name)
        if let entry {
            classes[entry] = lockClass
            return
        }
        names.append(name)
        classes.append(lockClass)
        if names.count * 2 > slots.count {
            place(slotCount: slots.count * 2)
        } else {
            slots[empty] = UInt32(names.count)
        }
    }

    /// The entry named `name`, or the empty slot where it would go.
    private func find(_ name: String) -> (entry: Int?, empty: Int) {
        let mask = slots.count - 1
        var at = name.hashValue & mask
        while slots[at] != 0 {
            let entry = Int(slots[at]) - 1
            if names[entry] == name { return (entry, at) }
            at = (at + 1) & mask
        }
        return (nil, at)
    }

    private mutating func place(slotCount: Int) {
        slots = [UInt32](repeating: 0, count: slotCount)
        let mask = slotCount - 1
        for (entry, name) in names.enumerated() {
            var at = name.hashValue & mask
            while slots[at] != 0 { at = (at + 1) & mask }
            slots[at] = UInt32(entry + 1)
        }
    }
}
