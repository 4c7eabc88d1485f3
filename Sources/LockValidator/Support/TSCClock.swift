import Synchronization
import _LockValidatorShims

/// The time-stamp counter as a clock: about 15 ns a read, calibrated against CLOCK_MONOTONIC_RAW.
///
/// A first calibration busy-waits 200 µs when the configuration is first read; every later slow-path
/// conversion refines the rate against the same starting sample, so it grows more exact the longer
/// the process runs (an error of 1 ns per ms of baseline at worst).
@usableFromInline
enum TSCClock {
    private static let base: (tsc: UInt64, nanoseconds: UInt64) = sample()

    /// A (TSC, CLOCK_MONOTONIC_RAW) pair read together: the clock read is bracketed by two TSC reads
    /// and retried when something (a host stall on a VM, a page fault) came between them.
    private static func sample() -> (tsc: UInt64, nanoseconds: UInt64) {
        var best: (width: UInt64, tsc: UInt64, nanoseconds: UInt64) = (.max, 0, 0)
        for _ in 0..<16 {
            let before = lv_rdtsc()
            let nanoseconds = lv_monotonic_ns()
            let after = lv_rdtsc()
            if after &- before < best.width { best = (after &- before, before / 2 + after / 2, nanoseconds) }
            if best.width < 2_000 { break }
        }
        return (best.tsc, best.nanoseconds)
    }
    /// Nanoseconds per cycle as `Double` bits.
    private static let rate = Atomic<UInt64>(0)

    /// Calibrates once (idempotent).
    static func calibrate() {
        guard rate.load(ordering: .relaxed) == 0 else { return }
        let start = base
        while lv_monotonic_ns() &- start.nanoseconds < 200_000 { lv_pause() }
        store(sample())
    }

    /// Re-derives the rate over the whole time since the first sample.
    static func refine() {
        calibrate()
        store(sample())
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

    static func cycles(nanoseconds: Double) -> UInt64 {
        // Saturating: a budget set in code past what 64 bits of cycles hold means "never".
        let cycles = (nanoseconds / nanosecondsPerCycle).rounded()
        if cycles.isNaN { return 1 }
        return cycles >= 0x1p64 ? .max : UInt64(max(1, cycles))
    }
}

extension Duration {
    /// The duration in nanoseconds.
    var nanoseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}
