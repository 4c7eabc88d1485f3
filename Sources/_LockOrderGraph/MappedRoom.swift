import Glibc
import _LockValidatorShims

/// The memory behind a `MappedBuffer`: a mapping, or `malloc`'s below `mappingThreshold`.
@usableFromInline
final class MappedRoom {
    private(set) var address: UnsafeMutableRawPointer
    private(set) var bytes: Int
    var isMapped: Bool { bytes >= Self.mappingThreshold }

    /// The smallest room that is a mapping, in bytes.
    static let mappingThreshold = 64 << 10
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(bytes wanted: Int, zeroed: Bool) {
        bytes = Self.size(for: wanted)
        address = Self.allocate(bytes, zeroed: zeroed)
    }

    deinit { Self.free(address, bytes) }

    func elements<T>(_: T.Type = T.self) -> UnsafeMutablePointer<T> { address.assumingMemoryBound(to: T.self) }

    /// Changes the room to `wanted` bytes, keeping its first `kept`.
    func resize(to wanted: Int, keeping kept: Int) {
        let size = Self.size(for: wanted)
        let moved: UnsafeMutableRawPointer?
        switch (isMapped, size >= Self.mappingThreshold) {
        case (true, true): moved = lv_remap(address, bytes, size)
        case (false, false): moved = realloc(address, size)
        default:  // across the threshold (a reserve may shrink): a copy
            moved = Self.allocate(size, zeroed: false)
            moved?.copyMemory(from: address, byteCount: min(kept, size))
            Self.free(address, bytes)
        }
        guard let moved else { fatalError("MappedBuffer: out of memory growing to \(size) bytes") }
        (address, bytes) = (moved, size)
    }

    /// A mapping's size is whole pages.
    private static func size(for bytes: Int) -> Int {
        bytes < Self.mappingThreshold ? bytes : (bytes + pageSize - 1) / pageSize * pageSize
    }

    private static func allocate(_ bytes: Int, zeroed: Bool) -> UnsafeMutableRawPointer {
        let made: UnsafeMutableRawPointer?
        if bytes >= Self.mappingThreshold {
            let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            made = mapped == MAP_FAILED ? nil : mapped
        } else {
            made = zeroed ? calloc(bytes, 1) : malloc(bytes)
        }
        guard let made else { fatalError("MappedBuffer: out of memory for \(bytes) bytes") }
        return made
    }

    private static func free(_ address: UnsafeMutableRawPointer, _ bytes: Int) {
        if bytes >= Self.mappingThreshold { munmap(address, bytes) } else { Glibc.free(address) }
    }
}
