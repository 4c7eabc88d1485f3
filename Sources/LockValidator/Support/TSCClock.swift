import Synchronization
import _LockValidatorShims

/// The time-stamp counter as a clock: about 15 ns a read, calibrated against CLOCK_MONOTONIC_RAW.
///
/// A first calibration busy-waits 200 µs when the configuration is first read; every later slow-path
/// conversion refines the rate against the same starting sample, so it grows more exact the longer
/// the process runs (an error of 1 ns per ms of baseline at worst).
@usableFromInline
enum TSCClock {
    private static let base: (tsc: UInt64, nanoseconds: UInt64) = (lv_rdtsc(), lv_monotonic_ns())
    /// Nanoseconds per cycle as `Double` bits.
    private static let rate = Atomic<UInt64>(0)

    /// Calibrates once (idempotent).
    static func calibrate() {
        guard rate.load(ordering: .relaxed) == 0 else { return }
        let start = base
        var now = (tsc: lv_rdtsc(), nanoseconds: lv_monotonic_ns())
        while now.nanoseconds &- start.nanoseconds < 200_000 {
            lv_pause()
            now = (lv_rdtsc(), lv_monotonic_ns())
        }
        store(now)
    }

    /// Re-derives the rate over the whole time since the first sample.
    static func refine() {
        calibrate()
        store((lv_rdtsc(), lv_monotonic_ns()))
    }

    private static func store(_ now: (tsc: UInt64, nanoseconds: UInt64)) {
        let cycles = Double(now.tsc &- base.tsc)
        let nanoseconds = Double(now.nanoseconds &- base.nanoseconds)
        guard cycles > 0, nanoseconds > 0 else { return }
        rate.store((nanoseconds / cycles).bitPattern, ordering: .relaxed)
    }

    /// Nanoseconds per TSC cycle.
    static var nanosecondsPerCycle: Double {
        calibrate()
        return Double(bitPattern: rate.load(ordering: .relaxed))
    }

    static func nanoseconds(_ cycles: UInt64) -> Double { Double(cycles) * nanosecondsPerCycle }

    static func cycles(nanoseconds: Double) -> UInt64 { UInt64(max(1, (nanoseconds / nanosecondsPerCycle).rounded())) }
}

extension Duration {
    /// The duration in nanoseconds.
    var nanoseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}
