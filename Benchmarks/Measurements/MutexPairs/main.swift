// The cost of a Synchronization.Mutex pair (lock, unlock), for Benchmarks/mutex-overlay.sh: built with
// `swiftc -O -I <overlay>`, run plain (the overlay's hooks unset) and under
// LD_PRELOAD=libLockValidatorPreload.so (validated). Prints the median nanoseconds per pair of 31 runs of
// 1,000,000 pairs, with one Mutex held around the loop (a known order taken each time: the common case).
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

func nanoseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

final class Locks: Sendable {
    let outer = Mutex(0)
    let inner = Mutex(0)
}

let locks = Locks()
let pairs = 1_000_000
var samples: [Double] = []
for _ in 0..<31 {
    let start = nanoseconds()
    locks.outer.withLock { _ in
        for _ in 0..<pairs { locks.inner.withLock { $0 &+= 1 } }
    }
    samples.append((nanoseconds() - start) / Double(pairs))
}
samples.sort()
print((samples[samples.count / 2] * 10).rounded() / 10)
