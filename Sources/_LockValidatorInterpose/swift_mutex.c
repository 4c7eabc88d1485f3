// Synchronization.Mutex, validated through the Mutex overlay (`lockval overlay`): a copy of the
// toolchain's Synchronization module whose inlined `_lock`, `_tryLock` and `_unlock` (the standard library
// inlines them into the program, so nothing can be interposed) call these hooks when a program linked
// with LockValidatorPthreads defines them: the overlay declares them weak, so a program without them
// runs the plain Mutex. Each hook's return address is in the program's own code, where the Mutex's
// `withLock` was inlined: the site reports show.
//
// A Mutex is a pthread mutex to the validator (the same lock table, classes, rules and reports), but for
// what its lock word allows: a thread that takes a Mutex it holds, or unlocks one it does not hold,
// would trap in the standard library (the futex refuses), so after the report the call is not made.
#define _GNU_SOURCE
#include "LockValidatorInterpose.h"
#include "LockValidatorShims.h"
#include "deadlock_watchdog.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALLER ((uintptr_t)__builtin_return_address(0))

/// FUTEX_TID_MASK: a Mutex's word holds its owner's thread id, with the kernel's waiter bits above.
#define OWNER_MASK 0x3fffffffu

static inline int validating(void) { return lv_pthreads_active() && lv_validation_enabled() && !lv_inside_validator(); }

/// The calling thread's state when this call is validated, else NULL (as interpose.c's).
__attribute__((always_inline)) static inline lv_thread_state *validating_thread(void) {
    if (!(lv_pthreads_active() && lv_validation_enabled())) return NULL;
    lv_thread_state *thread = lv_thread();
    return thread->inside_validator == 0 ? thread : NULL;
}

// MARK: Mutexes that die with their object
//
// A Mutex has no deinit to hook: its memory is freed with the object holding it. A Mutex moved after it
// was made (`self.state = Mutex(…)` in an init: the init hook saw a temporary) is known from its first
// lock, at an address a dead Mutex may have held: without forgetting the dead one, the new Mutex would be
// taken for it (its class, its orders: a false inversion between two unrelated Mutexes). So the class
// instances that die are checked for Mutexes, through a bitmap of the 16-byte granules that ever held one
// (a deallocation with none in its granules costs a load per granule).

enum { GRANULE_SHIFT = 4, GRANULE_BITS = 1 << 20 };
static uint64_t mutex_granules[GRANULE_BITS / 64];
static int any_mutex;

static inline uint32_t granule_of(uintptr_t address) {
    return (uint32_t)(address >> GRANULE_SHIFT) & (GRANULE_BITS - 1);
}

/// A Mutex's object was made for `word`.
static void note_mutex(const void *word) {
    uint32_t granule = granule_of((uintptr_t)word);
    uint64_t bit = 1ull << (granule & 63);
    if (!(__atomic_load_n(&mutex_granules[granule / 64], __ATOMIC_RELAXED) & bit)) {
        __atomic_fetch_or(&mutex_granules[granule / 64], bit, __ATOMIC_RELAXED);
    }
    if (!__atomic_load_n(&any_mutex, __ATOMIC_RELAXED)) __atomic_store_n(&any_mutex, 1, __ATOMIC_RELAXED);
}

/// The Mutexes known in `[start, start + size)` are forgotten (the memory is being freed).
static void forget_mutexes_in(uintptr_t start, size_t size) {
    uintptr_t end = start + size;
    for (uintptr_t granule = start & ~(uintptr_t)15; granule < end; granule += 16) {
        uint32_t index = granule_of(granule);
        if (!(__atomic_load_n(&mutex_granules[index / 64], __ATOMIC_RELAXED) & (1ull << (index & 63)))) continue;
        for (uintptr_t word = granule; word < granule + 16; word += 4) {
            if (word >= start && word < end && lv_pthreads_object((const void *)word)) {
                lv_pthreads_lock_freed((const void *)word);
            }
        }
    }
}

typedef void (*dealloc_class_instance_function)(void *, size_t, size_t);
static dealloc_class_instance_function real_dealloc_class_instance;

/// The Swift runtime's, for every class instance whose deinit is compiled in the program (its deallocating
/// deinit calls this through the PLT); the Mutexes in the instance are forgotten first.
void swift_deallocClassInstance(void *object, size_t allocated_size, size_t allocated_align_mask) {
    dealloc_class_instance_function real = __atomic_load_n(&real_dealloc_class_instance, __ATOMIC_RELAXED);
    if (__builtin_expect(real == NULL, 0)) {
        real = (dealloc_class_instance_function)dlsym(RTLD_NEXT, "swift_deallocClassInstance");
        if (!real) abort();  // every Swift program has the runtime's
        __atomic_store_n(&real_dealloc_class_instance, real, __ATOMIC_RELAXED);
    }
    if (__atomic_load_n(&any_mutex, __ATOMIC_RELAXED) && object && validating()) {
        lv_enter_validator();
        forget_mutexes_in((uintptr_t)object, allocated_size);
        lv_leave_validator();
    }
    real(object, allocated_size, allocated_align_mask);
}

// MARK: The hooks

void lockvalidator_mutex_init(void *word) {
    if (!validating()) return;
    lv_enter_validator();
    lv_pthreads_lock_initialised(word, LV_PT_SWIFT_MUTEX, CALLER);
    note_mutex(word);
    lv_leave_validator();
}

/// The Mutex was free and is now held (its compare-and-swap succeeded, or a try-lock did).
void lockvalidator_mutex_took(void *word, int32_t trylock) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return;
    uintptr_t caller = CALLER;
    // The common case, in C, as an uncontended pthread mutex's (LockValidatorAnnotatedFastPath.h).
    lv_pthread_object *known = lv_pthreads_object(word);
    if (known && !trylock && lv_annotated_took_fast(&known->fast, thread, caller)) return;
    lv_enter_validator();
    void *object = lv_pthreads_object_for(word, LV_PT_SWIFT_MUTEX, caller);
    if (object) note_mutex(word);
    if (object && trylock) {
        if (lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE_TRY, caller) == LV_PT_PROCEED) {
            lv_pthread_did_acquire(object, caller, 0);
        }
    } else if (object) {
        (void)lv_pthread_took(object, LV_PT_EXCLUSIVE, caller);
    }
    lv_leave_validator();
}

/// Gives back a Mutex this thread took a moment ago, as the standard library's unlock does (a thread that
/// began to wait meanwhile set the kernel's waiter bit: the kernel hands the Mutex on).
static void give_back(uint32_t *word) {
    uint32_t self = (uint32_t)lv_interposer_tid();
    if (__atomic_compare_exchange_n(word, &self, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) return;
    syscall(SYS_futex, word, FUTEX_UNLOCK_PI_PRIVATE);
}

/// `_lock()`'s compare-and-swap took the Mutex. Nonzero (confirmation mode only): the Mutex was given back
/// because this acquire is to be held back before it (DeadlockConfirmation): the caller waits for it
/// (lockvalidator_mutex_will_wait, which pauses first). `took` with trylock 0 is what overlays written
/// before this hook call, and is never steered.
int32_t lockvalidator_mutex_locked(void *word) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return 0;
    uintptr_t caller = CALLER;
    // Not in confirmation mode: its locks are never eligible for the C fast path (LockTracking).
    lv_pthread_object *known = lv_pthreads_object(word);
    if (known && lv_annotated_took_fast(&known->fast, thread, caller)) return 0;
    lv_enter_validator();
    void *object = lv_pthreads_object_for(word, LV_PT_SWIFT_MUTEX, caller);
    if (object) note_mutex(word);
    uint32_t action = object ? lv_pthread_took(object, LV_PT_EXCLUSIVE | LV_PT_STEERABLE, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    if (action != LV_PT_RETRY) return 0;
    give_back(word);
    return 1;
}

/// One slice of a wait for a Mutex (lv_wait_blocked): its compare-and-swap, then the kernel's
/// priority-inheritance lock the standard library's `_lockSlow` uses, until `deadline` (CLOCK_REALTIME,
/// the clock FUTEX_LOCK_PI measures). 0 once held; ETIMEDOUT to go on waiting.
static int mutex_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    (void)clock;
    uint32_t *word = (uint32_t *)lock;
    uint32_t free_word = 0;
    if (__atomic_compare_exchange_n(word, &free_word, (uint32_t)lv_interposer_tid(), 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
        return 0;
    }
    if (syscall(SYS_futex, word, FUTEX_LOCK_PI_PRIVATE, 0, deadline) == 0) return 0;
    int error = errno;
    if (error == EDEADLK && deadline) {
        // The kernel's priority-inheritance chain closes on this thread: a deadlock (the validator has
        // reported an acquire of a Mutex this thread holds already, and not made it). The standard
        // library would trap with "Recursive call to lock Mutex"; the slice is slept instead, so that
        // the deadlock watchdog reports the cycle, its threads and their stacks.
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, deadline, NULL) == EINTR) {}
        return ETIMEDOUT;
    }
    // EINTR, EAGAIN (the owner is exiting): another slice. Anything else the standard library would trap on.
    return error == EINTR || error == EAGAIN ? ETIMEDOUT : error;
}

/// The Mutex is held: the thread is about to wait for it. Nonzero: the wait is done here, return (the
/// Mutex is held, or the acquire is a reported self-deadlock, not taken); 0: the standard library's
/// `_lockSlow` waits (a Mutex the validator does not track). Confirmation mode may hold the thread back
/// first. The wait is the deadlock watchdog's (lv_wait_blocked): a real deadlock through Mutexes is
/// reported and ends the run, as one through pthread mutexes does.
int32_t lockvalidator_mutex_will_wait(void *word) {
    if (!validating()) return 0;
    uintptr_t caller = CALLER;
    lv_enter_validator();
    void *object = lv_pthreads_object_for(word, LV_PT_SWIFT_MUTEX, caller);
    if (object) note_mutex(word);
    uint32_t action =
        object ? lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE | LV_PT_STEERABLE, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    if (action != LV_PT_PROCEED) return 1;
    if (!object) return 0;
    uint64_t started = lv_rdtsc();
    int result = lv_wait_blocked(word, object, LV_WAIT_SWIFT_MUTEX, CLOCK_REALTIME, 0, NULL, mutex_slice, caller);
    if (result != 0) {
        // A clock that failed (LV_WAIT_UNSUPPORTED), or an error the standard library traps on: its own wait.
        lv_enter_validator();
        lv_pthread_acquire_failed(object);
        lv_leave_validator();
        return 0;
    }
    uint64_t waited = lv_rdtsc() - started;
    lv_enter_validator();
    lv_pthread_did_acquire(object, caller, waited != 0 ? waited : 1);
    lv_leave_validator();
    return 1;
}

/// The wait is over: the Mutex is held.
void lockvalidator_mutex_waited(void *word) {
    if (!validating()) return;
    uintptr_t caller = CALLER;
    lv_enter_validator();
    void *object = lv_pthreads_object(word);
    if (object) lv_pthread_did_acquire(object, caller, 0);
    lv_leave_validator();
}

/// About to unlock. Nonzero: do not (the release of a reported self-deadlock, or an unlock by a thread
/// that does not hold the Mutex, which the standard library would trap on).
int32_t lockvalidator_mutex_will_unlock(void *word) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return 0;
    uintptr_t caller = CALLER;
    uint32_t owner = __atomic_load_n((uint32_t *)word, __ATOMIC_RELAXED) & OWNER_MASK;
    int held_here = owner == (uint32_t)lv_interposer_tid();
    lv_pthread_object *known = lv_pthreads_object(word);
    if (known && held_here && lv_annotated_release_fast(&known->fast, thread)) return 0;
    lv_enter_validator();
    void *object = lv_pthreads_object(word);
    uint32_t action = object ? lv_pthread_will_release(object, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    return action != LV_PT_PROCEED || !held_here;
}
