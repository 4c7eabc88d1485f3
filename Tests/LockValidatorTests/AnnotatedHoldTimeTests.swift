import Foundation
import LockValidator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `hold-time-exceeded` for an annotated lock that spins: it has a spin lock's hold budget. The holds burn
/// a known amount of their own CPU time, so the test controls the time it holds; hold times mean nothing
/// under ThreadSanitizer, whose stage skips this suite (scripts/test.sh).
@Suite struct AnnotatedHoldTimeTests {
    /// A C spin lock annotated as one (`sleeps: false`) gets the hold budget: two threads contending
    /// with short holds are clean (their waits are not holds), and a site that holds it for 300 µs
    /// twice is reported at its second hold.
    @Test func anAnnotatedSpinLockHasTheHoldBudget() {
        final class CSpinLock: @unchecked Sendable {
            var lock = pthread_spinlock_t()
            let id = LockID(uniqueClassPrefix("pthread_spin"), sleeps: false)
            init() { pthread_spin_init(&lock, 0) }
            @inline(never)
            func hold(microseconds: Double) {
                LockValidator.acquire(id)
                pthread_spin_lock(&lock)
                LockValidator.acquired(id)
                burnOwnTime(microseconds: microseconds)
                LockValidator.release(id)
                pthread_spin_unlock(&lock)
            }
        }
        let spin = CSpinLock()
        let contended = violationsOnProcessors(2, holdBudget: nil) { _ in
            for _ in 0..<2_000 { spin.hold(microseconds: 1) }
        }
        #expect(contended.isEmpty, "\(contended)")
        // Two slow holds further apart than a burst of noise lasts (2 ms).
        let slow = violationsOnFreshProcessor(holdBudget: nil) {
            spin.hold(microseconds: 300)
            usleep(3_000)
            spin.hold(microseconds: 300)
        }
        #expect(slow.map(\.rule) == [.holdTimeExceeded])
        #expect(slow.first?.hold?.evidence == .repeated)
    }
}
