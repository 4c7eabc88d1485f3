/// An interrupt request level, as the Windows kernel defines them on x64.
///
/// Each thread plays one processor and has its own current IRQL, starting at `PASSIVE_LEVEL`.
/// Code running at an IRQL is interrupted only by work at a higher IRQL on the same processor:
/// device interrupts (DIRQL) preempt DISPATCH_LEVEL work, and DPCs run when the IRQL falls below
/// DISPATCH_LEVEL.
public struct IRQL: RawRepresentable, Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The level, 0 (`PASSIVE_LEVEL`) to 15 (`HIGH_LEVEL`).
    public let rawValue: UInt8

    /// Creates a level from its number, or `nil` outside 0...15.
    public init?(rawValue: UInt8) {
        guard rawValue <= 15 else { return nil }
        self.rawValue = rawValue
    }

    @usableFromInline
    init(unchecked rawValue: UInt8) { self.rawValue = rawValue }

    /// `PASSIVE_LEVEL` (0): ordinary thread code; anything may happen, including page faults.
    @inlinable public static var passive: IRQL { IRQL(unchecked: 0) }
    /// `APC_LEVEL` (1): asynchronous procedure calls are masked.
    @inlinable public static var apc: IRQL { IRQL(unchecked: 1) }
    /// `DISPATCH_LEVEL` (2): spin locks, DPCs; no waiting, no page faults.
    @inlinable public static var dispatch: IRQL { IRQL(unchecked: 2) }
    /// `CLOCK_LEVEL` (13).
    @inlinable public static var clock: IRQL { IRQL(unchecked: 13) }
    /// `IPI_LEVEL` (14), also `POWER_LEVEL`.
    @inlinable public static var ipi: IRQL { IRQL(unchecked: 14) }
    /// `HIGH_LEVEL` (15): every interrupt is masked.
    @inlinable public static var high: IRQL { IRQL(unchecked: 15) }

    /// The device levels (DIRQL) that interrupt objects may use.
    public static let deviceLevels: ClosedRange<UInt8> = 3...12

    /// A device interrupt level, DIRQL `n`.
    ///
    /// - Precondition: `n` is in `IRQL.deviceLevels` (3...12).
    public static func device(_ n: UInt8) -> IRQL {
        precondition(deviceLevels.contains(n), "IRQL.device(\(n)): device levels are 3...12")
        return IRQL(unchecked: n)
    }

    /// Whether this is a device level (3...12).
    public var isDevice: Bool { Self.deviceLevels.contains(rawValue) }

    @inlinable
    public static func < (lhs: IRQL, rhs: IRQL) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The level named as ``description`` names it ("DISPATCH_LEVEL", "DIRQL(5)"), or nil.
    public init?(name: String) {
        let names: [String: UInt8] = [
            "PASSIVE_LEVEL": 0, "APC_LEVEL": 1, "DISPATCH_LEVEL": 2, "CLOCK_LEVEL": 13, "IPI_LEVEL": 14,
            "POWER_LEVEL": 14, "HIGH_LEVEL": 15,
        ]
        if let level = names[name] {
            self.init(unchecked: level)
        } else if name.hasPrefix("DIRQL("), name.hasSuffix(")"), let level = UInt8(name.dropFirst(6).dropLast()),
            IRQL.deviceLevels.contains(level)
        {
            self.init(unchecked: level)
        } else {
            return nil
        }
    }

    /// Reports write a level by its name.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let level = IRQL(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(name)\" is not an IRQL")
        }
        self = level
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The kernel's name for the level: "DISPATCH_LEVEL", "DIRQL(5)".
    public var description: String {
        switch rawValue {
        case 0: return "PASSIVE_LEVEL"
        case 1: return "APC_LEVEL"
        case 2: return "DISPATCH_LEVEL"
        case 13: return "CLOCK_LEVEL"
        case 14: return "IPI_LEVEL"
        case 15: return "HIGH_LEVEL"
        default: return "DIRQL(\(rawValue))"
        }
    }
}
