// Memory of lock instances, for BENCHMARKS.md ("Memory"): a server makes a lock per connection.
//
//     ShortLivedLocks churn <spinlock|annotated|pthread>      1,000,000 locks made, locked and unlocked once
//                                                             and freed, one after another: prints the
//                                                             resident MB after 100,000, 500,000 and 1,000,000
//     ShortLivedLocks live <spinlock|annotated|pthread>       100,000 locks alive at once, each locked and
//                                                             unlocked once (never contended, never held
//                                                             long): prints the resident bytes per
//                                                             instance (the validator's arena of
//                                                             statistics is mapped, not malloc's)
//
// `pthread` mutexes are validated by LockValidatorPthreads' interposer, which this executable links;
// `annotated` is a `LockID` beside a pthread mutex (whose own validation is the interposer's too, so it
// is left out: a `LockID` alone); `spinlock` is a `SpinLock`. Each lock is of one class.
import BenchmarkShims
import LockValidator
import LockValidatorPthreads
import SpinLocks

#if canImport(Glibc)
    import Glibc
#endif

func tenths(_ value: Double) -> String { String((value * 10).rounded() / 10) }

/// Makes one lock, locks and unlocks it once, and returns it.
func makeSpinLock() -> AnyObject {
    let lock = SpinLock("bench.short-lived.spinlock")
    lock.withLock {}
    return lock
}

final class AnnotatedBox {
    let id = LockID("bench.short-lived.annotated", sleeps: true)
    init() {
        LockValidator.acquire(id)
        LockValidator.acquired(id)
        LockValidator.release(id)
    }
}

final class MutexBox {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() {
        pthread_mutex_init(mutex, nil)
        pthread_mutex_lock(mutex)
        pthread_mutex_unlock(mutex)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
}

func make(_ kind: String) -> AnyObject {
    switch kind {
    case "spinlock": return makeSpinLock()
    case "annotated": return AnnotatedBox()
    case "pthread": return MutexBox()
    default:
        print("unknown kind \(kind)")
        exit(2)
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
    print("usage: ShortLivedLocks churn|live spinlock|annotated|pthread")
    exit(2)
}
let kind = arguments[1]
_ = make(kind)  // the class, the thread's state, the interposer's tables: made before measuring
switch arguments[0] {
case "churn":
    let before = bench_resident_mb()
    var line: [String] = []
    for made in 1...1_000_000 {
        _ = make(kind)
        if made == 100_000 || made == 500_000 || made == 1_000_000 {
            line.append(tenths(bench_resident_mb() - before))
        }
    }
    print(line.joined(separator: " "))
case "live":
    let count = 100_000
    var kept: [AnyObject] = []
    kept.reserveCapacity(count)
    let before = bench_resident_mb()
    for _ in 0..<count { kept.append(make(kind)) }
    print(tenths((bench_resident_mb() - before) * 1_048_576 / Double(count)))
    withExtendedLifetime(kept) {}
default:
    print("usage: ShortLivedLocks churn|live spinlock|annotated|pthread")
    exit(2)
}
