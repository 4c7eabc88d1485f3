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

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

/// The Mutex is held: the thread is about to wait for it. Nonzero: do not (a reported self-deadlock).
int32_t lockvalidator_mutex_will_wait(void *word) {
    if (!validating()) return 0;
    uintptr_t caller = CALLER;
    lv_enter_validator();
    void *object = lv_pthreads_object_for(word, LV_PT_SWIFT_MUTEX, caller);
    if (object) note_mutex(word);
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
