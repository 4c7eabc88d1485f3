/// A lock class's statistics in a report, times in nanoseconds.
public struct LockClassStatistics: Sendable, Codable, Hashable {
    public var name: String
    public var acquisitions: UInt64
    /// Acquires that had to wait: a spin lock's that spun, a pthread lock's that found it held.
    public var contentions: UInt64
    public var waitTotalNanoseconds: Double
    public var waitMaxNanoseconds: Double
    /// Completed holds.
    public var holds: UInt64
    public var holdMeanNanoseconds: Double
    public var holdMaxNanoseconds: Double
    /// An upper bound of the 99th percentile hold (the top of its log2 bucket).
    public var holdP99Nanoseconds: Double

    public init(
        name: String, acquisitions: UInt64, contentions: UInt64, waitTotalNanoseconds: Double,
        waitMaxNanoseconds: Double, holds: UInt64, holdMeanNanoseconds: Double, holdMaxNanoseconds: Double,
        holdP99Nanoseconds: Double
    ) {
        self.name = name
        self.acquisitions = acquisitions
        self.contentions = contentions
        self.waitTotalNanoseconds = waitTotalNanoseconds
        self.waitMaxNanoseconds = waitMaxNanoseconds
        self.holds = holds
        self.holdMeanNanoseconds = holdMeanNanoseconds
        self.holdMaxNanoseconds = holdMaxNanoseconds
        self.holdP99Nanoseconds = holdP99Nanoseconds
    }

    init(name: String, counts: LockStatisticsBlock.Counts) {
        let perCycle = TSCClock.nanosecondsPerCycle
        var p99: Double = 0
        if counts.holds > 0 {
            let threshold = (Double(counts.holds) * 0.99).rounded(.up)
            var seen: UInt64 = 0
            for (bucket, count) in counts.buckets.enumerated() {
                seen += count
                if Double(seen) >= threshold {
                    p99 = bucket == 0 ? 0 : Double(UInt64(1) << UInt64(min(bucket, 63))) * perCycle
                    break
                }
            }
        }
        self.init(
            name: name, acquisitions: counts.acquisitions, contentions: counts.contentions,
            waitTotalNanoseconds: Double(counts.waitTotal) * perCycle,
            waitMaxNanoseconds: Double(counts.waitMax) * perCycle,
            holds: counts.holds,
            holdMeanNanoseconds: counts.holds == 0 ? 0 : Double(counts.holdTotal) / Double(counts.holds) * perCycle,
            holdMaxNanoseconds: Double(counts.holdMax) * perCycle,
            holdP99Nanoseconds: min(p99, Double(counts.holdMax) * perCycle))
    }
}
