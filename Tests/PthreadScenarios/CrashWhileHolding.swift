// Scenarios that crash while a lock is held: `crash-while-holding <lock> <crash>`. A crash must stay a
// crash (its signal, promptly) with the validator linked: the crash handler's own calls (the Swift
// runtime's backtracer writes to stderr, waits for its helper) are made inside the hold, where a thread
// must not block, and must not become a hang.
import Foundation
import SpinLocks

enum CrashWhileHolding {
    /// `lock`: `spin-lock` (a SpinLock: raised IRQL), `nslock`, `pthread-mutex`.
    /// `crash`: `force-unwrap` (nil), `fatal-error`, `bad-pointer` (a write through an unmapped address: SIGSEGV).
    static func run() -> Int32 {
        guard scenarioArguments.count == 2 else { return 2 }
        let crash: () -> Void
        switch scenarioArguments[1] {
        case "force-unwrap":
            crash = {
                let missing: Int? = scenarioArguments.count > 5 ? 1 : nil
                print("crashing: \(missing!)")
            }
        case "fatal-error": crash = { fatalError("crash-while-holding") }
        case "bad-pointer":
            crash = {
                // Page 0 is never mapped: the store is a SIGSEGV.
                let address = UnsafeMutablePointer<Int>(bitPattern: scenarioArguments.count > 5 ? 0x10 : 0x8)!
                address.pointee = 1
            }
        default: return 2
        }
        switch scenarioArguments[0] {
        case "spin-lock":
            let lock = SpinLock("CrashWhileHolding.spin")
            lock.withLock { crash() }
        case "nslock":
            let lock = NSLock()
            lock.lock()
            crash()
            lock.unlock()
        case "pthread-mutex":
            let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            pthread_mutex_init(mutex, nil)
            pthread_mutex_lock(mutex)
            crash()
            pthread_mutex_unlock(mutex)
        default: return 2
        }
        return 1  // not reached: the crash ends the process
    }
}
