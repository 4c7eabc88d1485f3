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

#include <stdint.h>

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

void lockvalidator_mutex_init(void *word) {
    if (!validating()) return;
    lv_enter_validator();
    lv_pthreads_lock_initialised(word, LV_PT_SWIFT_MUTEX, CALLER);
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
    if (object && trylock) {
        if (lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE_TRY, caller) == LV_PT_PROCEED) {
            lv_pthread_did_acquire(object, caller, 0);
        }
    } else if (object) {
        (void)lv_pthread_took(object, LV_PT_EXCLUSIVE, caller);
    }
    lv_leave_validator();
}

/// The Mutex is held: the thread is about to wait for it. Nonzero: do not (a reported self-deadlock).
int32_t lockvalidator_mutex_will_wait(void *word) {
    if (!validating()) return 0;
    uintptr_t caller = CALLER;
    lv_enter_validator();
    void *object = lv_pthreads_object_for(word, LV_PT_SWIFT_MUTEX, caller);
    uint32_t action = object ? lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    return action != LV_PT_PROCEED;
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
