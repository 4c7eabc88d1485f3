import Glibc
import _LockValidatorShims

/// A growable array of trivial elements for the graph's big tables (nodes, adjacency storage, the edge
/// index, edge records). A room of 64 KB or more is an anonymous mapping of its own, grown with `mremap`:
/// growing copies nothing and leaves nothing behind, where a grown Swift array's old buffer, freed, stays
/// resident in glibc's heap once the dynamic mmap threshold has risen past it (1–8 MB at the Scaling
/// shapes). A smaller room is `malloc`'s, so that a small graph maps no pages. Pages a mapping never
/// wrote are not resident: room beyond the count costs address space only.
///
/// Copies share their elements, as class instances would: a write through one shows through the others,
/// and the graph never copies its tables. But a copy that grows takes a room of its own (the others keep
/// theirs, whole and mapped), so no copy is ever left with memory unmapped under it. Writes check neither
/// uniqueness nor (outside debug builds) the index: a new lock order writes these tables a dozen times,
/// and a uniqueness check is a call into the Swift runtime (about 90 instructions a new order in all).
public struct MappedBuffer<Element>: @unchecked Sendable {
    /// The first element (a dangling, aligned address while there is no room).
    @usableFromInline var base: UnsafeMutablePointer<Element>
    public private(set) var count = 0
    /// The number of elements the room holds.
    public private(set) var capacity = 0
    /// Frees the room; its reference count tells whether this copy is the room's only one.
    private var room: MappedRoom?

    public init() {
        precondition(_isPOD(Element.self), "a MappedBuffer holds trivial elements only")
        base = UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
    }

    /// `count` elements, all bits zero (a mapping's fresh pages, or `calloc`'s).
    public init(zeroed count: Int) {
        self.init()
        guard count > 0 else { return }
        let bytes = count * MemoryLayout<Element>.stride
        let made = MappedRoom(bytes: bytes, zeroed: true)
        (room, base, capacity, self.count) = (made, made.elements(), made.bytes / MemoryLayout<Element>.stride, count)
    }

    /// Whether the room is a mapping of its own (for the tests).
    var isMapped: Bool { room?.isMapped ?? false }

    /// Violations of the buffer's invariants, empty when sound: the count within the room, the room
    /// where the buffer says, a mapping's size whole pages.
    func invariantViolations() -> [String] {
        var problems: [String] = []
        if count < 0 || count > capacity { problems.append("count \(count) outside the room of \(capacity)") }
        guard let room else {
            if capacity != 0 { problems.append("a room of \(capacity) elements with no memory") }
            return problems
        }
        if room.elements(Element.self) != base { problems.append("the elements are not at the room's address") }
        if room.bytes / MemoryLayout<Element>.stride != capacity {
            problems.append("\(room.bytes) bytes of room for \(capacity) elements")
        }
        if room.isMapped && room.bytes % MappedRoom.pageSize != 0 { problems.append("a mapping of part of a page") }
        return problems
    }

    @inlinable
    public subscript(index: Int) -> Element {
        unsafeAddress {
            assert(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
            return UnsafePointer(base + index)
        }
        unsafeMutableAddress {
            assert(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
            return base + index
        }
    }

    /// Whether no other copy shares the room.
    private var isUnique: Bool { mutating get { isKnownUniquelyReferenced(&room) } }

    public mutating func append(_ element: Element) {
        if _slowPath(count == capacity) { grow(toHold: count + 1) }
        (base + count).initialize(to: element)
        count += 1
    }

    /// Appends `count` copies of `element`.
    public mutating func append(repeating element: Element, count added: Int) {
        if _slowPath(count + added > capacity) { grow(toHold: count + added) }
        (base + count).initialize(repeating: element, count: added)
        count += added
    }

    /// Makes room for `wanted` elements in all.
    public mutating func reserveCapacity(_ wanted: Int) {
        if wanted > capacity { grow(toHold: wanted, exactly: true) }
    }

    /// Gives this copy a room of its own for at least `wanted` elements: twice the room (or `wanted`, if
    /// `exactly` or more), resized in place when this copy is its room's only one.
    private mutating func grow(toHold wanted: Int, exactly: Bool = false) {
        let stride = MemoryLayout<Element>.stride
        let wanted = Swift.max(wanted, count)
        let elements = exactly ? wanted : Swift.max(wanted, capacity * 2, 64 / stride, 4)
        guard isUnique, let room else { return copyRoom(capacity: elements) }
        room.resize(to: elements * stride, keeping: count * stride)
        (base, capacity) = (room.elements(), room.bytes / stride)
    }

    private mutating func copyRoom(capacity wanted: Int) {
        let stride = MemoryLayout<Element>.stride
        let made = MappedRoom(bytes: Swift.max(wanted, count, 1) * stride, zeroed: false)
        made.elements(Element.self).initialize(from: base, count: count)
        (room, base, capacity) = (made, made.elements(), made.bytes / stride)
    }
}

extension MappedBuffer: RandomAccessCollection, MutableCollection {
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { count }
}

extension MappedBuffer: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Element...) {
        self.init()
        reserveCapacity(elements.count)
        for element in elements { append(element) }
    }
}
