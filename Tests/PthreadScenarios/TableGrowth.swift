// The interposer's lock table across its growth (it starts at 4,096 slots and doubles at three quarters
// load): a mutex entered before the table grew is found after it, by its unlock and by the orders it
// takes part in, and the many mutexes' removals leave the table whole.
import Foundation
import LockValidator

enum TableGrowth {
    /// Mutexes made with `pthread_mutex_init`, for the threads to share.
    final class Mutexes: @unchecked Sendable {
        let early = make()
        var late = [UnsafeMutablePointer<pthread_mutex_t>]()

        static func make() -> UnsafeMutablePointer<pthread_mutex_t> {
            let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            pthread_mutex_init(mutex, nil)
            return mutex
        }
    }

    /// `early` is made and locked, then 20,000 more mutexes (the table grows three times) before it is
    /// unlocked, on a thread that then exits; then two threads take `early` and the last one made, in
    /// both orders (an inversion) or, with `consistent`, in one; then every mutex is destroyed. Returns 1
    /// if a mutex misbehaved.
    static func run(consistent: Bool) -> Int32 {
        let mutexes = Mutexes()
        // Classes of their own (all are made at one site): the orders are between classes.
        LockValidator.setClassName("table.early", for: mutexes.early)
        let failed = Box(false)
        // On a thread of its own, which would exit holding `early` if its unlock were not found.
        onThread {
            guard pthread_mutex_lock(mutexes.early) == 0 else { return failed.value = true }
            for _ in 0..<20_000 {
                let mutex = Mutexes.make()
                pthread_mutex_lock(mutex)
                pthread_mutex_unlock(mutex)
                mutexes.late.append(mutex)
            }
            failed.value = pthread_mutex_unlock(mutexes.early) != 0
        }
        guard !failed.value, let last = mutexes.late.last else { return 1 }
        LockValidator.setClassName("table.late", for: last)
        let late = UInt(bitPattern: last)
        typealias Mutex = UnsafeMutablePointer<pthread_mutex_t>
        let take = { @Sendable (first: Mutex, second: Mutex) in
            pthread_mutex_lock(first)
            pthread_mutex_lock(second)
            pthread_mutex_unlock(second)
            pthread_mutex_unlock(first)
        }
        onThread { take(mutexes.early, UnsafeMutablePointer(bitPattern: late)!) }
        onThread {
            let late = UnsafeMutablePointer<pthread_mutex_t>(bitPattern: late)!
            consistent ? take(mutexes.early, late) : take(late, mutexes.early)
        }
        for mutex in mutexes.late + [mutexes.early] {
            guard pthread_mutex_destroy(mutex) == 0 else { return 1 }
            mutex.deallocate()
        }
        return 0
    }
}
