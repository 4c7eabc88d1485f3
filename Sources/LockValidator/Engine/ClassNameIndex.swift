/// The lock classes by the name they are found by: the class registry's, under its lock.
///
/// Open addressing by the name's hash, at most half full; a slot is an entry's number plus one (0:
/// empty), 4 bytes, and the entries are an array of classes by number. A class found by the name the
/// program gave it is compared by that name, which it holds: no copy of the name is kept. The others
/// (a subclass's `name/n`, a class keyed by code once named) are kept by name apart, as few as a
/// program's nesting and code-keyed classes. A `[String: LockClass]` held 24 bytes a bucket at up to three
/// quarters load, 63 to 75 bytes a class at 100,000 classes (262,144 buckets); this is 8 an entry and
/// 8 to 16 of slots. A name set again replaces its class.
struct ClassNameIndex {
    private var slots = [UInt32](repeating: 0, count: 16)
    private var classes: [LockClass] = []
    /// Classes whose name here is not their given name.
    private var others: [String: LockClass] = [:]

    /// The number of names.
    var count: Int { classes.count + others.count }

    /// The class named `name`, if any.
    subscript(name: String) -> LockClass? { find(name).entry.map { classes[$0] } ?? others[name] }

    /// Makes `lockClass` the class named `name`, replacing any.
    mutating func set(_ lockClass: LockClass, for name: String) {
        let (entry, empty) = find(name)
        if let entry {
            if lockClass.givenName == name {
                classes[entry] = lockClass
            } else {  // the slot's class goes; the name is kept apart from now on
                classes[entry] = classes[classes.count - 1]
                classes.removeLast()
                place(slotCount: slots.count)
                others[name] = lockClass
            }
            return
        }
        guard lockClass.givenName == name else {
            others[name] = lockClass
            return
        }
        others[name] = nil
        classes.append(lockClass)
        if classes.count * 2 > slots.count {
            place(slotCount: slots.count * 2)
        } else {
            slots[empty] = UInt32(classes.count)
        }
    }

    /// The entry whose class's given name is `name`, or the empty slot where it would go.
    private func find(_ name: String) -> (entry: Int?, empty: Int) {
        let mask = slots.count - 1
        var at = name.hashValue & mask
        while slots[at] != 0 {
            let entry = Int(slots[at]) - 1
            if classes[entry].givenName == name { return (entry, at) }
            at = (at + 1) & mask
        }
        return (nil, at)
    }

    private mutating func place(slotCount: Int) {
        slots = [UInt32](repeating: 0, count: slotCount)
        let mask = slotCount - 1
        for (entry, lockClass) in classes.enumerated() {
            var at = lockClass.givenName!.hashValue & mask
            while slots[at] != 0 { at = (at + 1) & mask }
            slots[at] = UInt32(entry + 1)
        }
    }
}
