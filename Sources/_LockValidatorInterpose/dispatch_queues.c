// Serial Dispatch queues as locks, lockdep's pseudo-locks (its `flush_work` lock maps): `dispatch_sync`
// onto a serial queue waits for the queue as a lock waits for its holder, and runs its block holding it.
// So `a.sync { b.sync {} }` on one path and `b.sync { a.sync {} }` on another are an ABBA in the lock-order
// graph, beside the program's other locks, and `q.sync` from a block running on `q` (through `sync`) is a
// recursive acquire: reported before it deadlocks, and the block run on the spot, so the program goes on.
//
// A queue is a serial one when it is made with no attribute or a serial one; the concurrent attributes
// are DISPATCH_QUEUE_CONCURRENT and those libdispatch derives from it (with a QoS, inactive, an
// autorelease frequency), followed here as they are made. Each serial queue's validator object is kept in
// the interposer's lock table at the queue's address + 1, which no pthread lock can have.
#define _GNU_SOURCE
#include "LockValidatorInterpose.h"
#include "LockValidatorShims.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>

static struct {
    void *(*queue_create)(const char *, const void *);
    void *(*queue_create_with_target)(const char *, const void *, void *);
    const void *(*attr_with_qos_class)(const void *, unsigned int, int);
    const void *(*attr_initially_inactive)(const void *);
    const void *(*attr_with_autorelease_frequency)(const void *, unsigned long);
    void (*sync)(void *, const void *);
    void (*sync_f)(void *, void *, void (*)(void *));
    void (*barrier_sync)(void *, const void *);
    void (*barrier_sync_f)(void *, void *, void (*)(void *));
    const void *concurrent;  // DISPATCH_QUEUE_CONCURRENT
} dq;

static pthread_once_t dq_once = PTHREAD_ONCE_INIT;

static void resolve_queue_functions(void) {
    dq.queue_create = (__typeof__(dq.queue_create))dlsym(RTLD_NEXT, "dispatch_queue_create");
    dq.queue_create_with_target =
        (__typeof__(dq.queue_create_with_target))dlsym(RTLD_NEXT, "dispatch_queue_create_with_target");
    dq.attr_with_qos_class =
        (__typeof__(dq.attr_with_qos_class))dlsym(RTLD_NEXT, "dispatch_queue_attr_make_with_qos_class");
    dq.attr_initially_inactive =
        (__typeof__(dq.attr_initially_inactive))dlsym(RTLD_NEXT, "dispatch_queue_attr_make_initially_inactive");
    dq.attr_with_autorelease_frequency = (__typeof__(dq.attr_with_autorelease_frequency))dlsym(
        RTLD_NEXT, "dispatch_queue_attr_make_with_autorelease_frequency");
    dq.sync = (__typeof__(dq.sync))dlsym(RTLD_NEXT, "dispatch_sync");
    dq.sync_f = (__typeof__(dq.sync_f))dlsym(RTLD_NEXT, "dispatch_sync_f");
    dq.barrier_sync = (__typeof__(dq.barrier_sync))dlsym(RTLD_NEXT, "dispatch_barrier_sync");
    dq.barrier_sync_f = (__typeof__(dq.barrier_sync_f))dlsym(RTLD_NEXT, "dispatch_barrier_sync_f");
    dq.concurrent = dlsym(RTLD_DEFAULT, "_dispatch_queue_attr_concurrent");
}

static inline void queue_functions_resolved(void) { pthread_once(&dq_once, resolve_queue_functions); }

#define CALLER ((uintptr_t)__builtin_return_address(0))

/// Whether this call is validated (as the pthread functions decide).
static inline int validating(void) { return lv_pthreads_active() && lv_validation_enabled() && !lv_inside_validator(); }

// MARK: Which attributes make concurrent queues

#define MAX_CONCURRENT_ATTRIBUTES 64
static const void *concurrent_attributes[MAX_CONCURRENT_ATTRIBUTES];

static int is_concurrent(const void *attribute) {
    if (attribute == NULL) return 0;
    if (attribute == dq.concurrent) return 1;
    for (int i = 0; i < MAX_CONCURRENT_ATTRIBUTES; i++) {
        const void *known = __atomic_load_n(&concurrent_attributes[i], __ATOMIC_ACQUIRE);
        if (known == NULL) return 0;
        if (known == attribute) return 1;
    }
    return 0;
}

/// `made`, derived from `from`: concurrent when `from` is (libdispatch interns attributes: a few at most).
static const void *derived(const void *from, const void *made) {
    if (made == NULL || !is_concurrent(from) || is_concurrent(made)) return made;
    for (int i = 0; i < MAX_CONCURRENT_ATTRIBUTES; i++) {
        const void *expected = NULL;
        if (__atomic_compare_exchange_n(&concurrent_attributes[i], &expected, made, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_ACQUIRE) ||
            expected == made) {
            break;
        }
    }
    return made;
}

const void *dispatch_queue_attr_make_with_qos_class(const void *attribute, unsigned int qos, int priority) {
    queue_functions_resolved();
    return derived(attribute, dq.attr_with_qos_class(attribute, qos, priority));
}

const void *dispatch_queue_attr_make_initially_inactive(const void *attribute) {
    queue_functions_resolved();
    return derived(attribute, dq.attr_initially_inactive(attribute));
}

const void *dispatch_queue_attr_make_with_autorelease_frequency(const void *attribute, unsigned long frequency) {
    queue_functions_resolved();
    return derived(attribute, dq.attr_with_autorelease_frequency(attribute, frequency));
}

// MARK: Queues made

static inline const void *queue_key(const void *queue) { return (const char *)queue + 1; }

/// A queue made: a serial one gets a validator object, replacing any of a queue that had its address.
static void *queue_made(void *queue, const char *label, const void *attribute, uintptr_t caller) {
    if (queue == NULL || is_concurrent(attribute) || !validating()) return queue;
    lv_enter_validator();
    void *object = lv_dispatch_queue_created(queue, label, caller);
    lv_pthreads_set_object(queue_key(queue), object ? object : LV_PT_UNTRACKED);
    lv_leave_validator();
    return queue;
}

void *dispatch_queue_create(const char *label, const void *attribute) {
    queue_functions_resolved();
    return queue_made(dq.queue_create(label, attribute), label, attribute, CALLER);
}

void *dispatch_queue_create_with_target(const char *label, const void *attribute, void *target) {
    queue_functions_resolved();
    return queue_made(dq.queue_create_with_target(label, attribute, target), label, attribute, CALLER);
}

// MARK: sync: the queue taken while its block runs

// The Blocks ABI's header (as interpose.c's): a block is called through its invoke function.
typedef struct {
    void *isa;
    int flags;
    int reserved;
    void (*invoke)(const void *block);
} queue_block_header;

/// One `sync`: the queue's object, the caller, the thread it was made on, and whether the block ran there
/// holding the queue.
typedef struct {
    void *object;
    uintptr_t caller;
    pthread_t thread;
    int held;
    const void *block;
    void *context;
    void (*function)(void *);
} queue_sync;

/// Runs the work of `sync`: on the calling thread (where Dispatch runs a `sync` but for the main queue and
/// queues bound to a thread), holding the queue for its duration.
static void lv_run_holding_queue(queue_sync *sync) {
    int here = pthread_equal(pthread_self(), sync->thread);
    if (here) {
        lv_enter_validator();
        lv_pthread_did_acquire(sync->object, sync->caller);
        lv_leave_validator();
        sync->held = 1;
    }
    if (sync->block) {
        ((const queue_block_header *)sync->block)->invoke(sync->block);
    } else {
        sync->function(sync->context);
    }
    if (here) {
        lv_enter_validator();
        lv_pthread_will_release(sync->object, sync->caller);
        lv_leave_validator();
    }
}

static void lv_run_sync_function(void *context) { lv_run_holding_queue(context); }

/// `sync` onto `queue`: passed through for a queue that is not a known serial one; else validated as an
/// acquire, and, when that acquire was reported as recursive (the calling thread runs a block of this
/// queue already), run here instead of deadlocking.
static void lv_queue_sync_call(void *queue, const void *block, void *context, void (*function)(void *),
                            void (*real_f)(void *, void *, void (*)(void *)), uintptr_t caller) {
    void *object = validating() ? lv_pthreads_object(queue_key(queue)) : NULL;
    if (object == NULL) {
        if (block) {
            (real_f == dq.sync_f ? dq.sync : dq.barrier_sync)(queue, block);
        } else {
            real_f(queue, context, function);
        }
        return;
    }
    lv_enter_validator();
    uint32_t action = lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE, caller);
    lv_leave_validator();
    queue_sync sync = {object, caller, pthread_self(), 0, block, context, function};
    if (action != LV_PT_PROCEED) {
        // Reported: the block runs on this thread, which runs one of the queue's already.
        if (block) {
            ((const queue_block_header *)block)->invoke(block);
        } else {
            function(context);
        }
        lv_enter_validator();
        lv_pthread_will_release(object, caller);  // the placeholder's release
        lv_leave_validator();
        return;
    }
    real_f(queue, &sync, lv_run_sync_function);
    if (!sync.held) {
        // Another thread ran it (the main queue's): this thread never held the queue.
        lv_enter_validator();
        lv_pthread_acquire_failed(object);
        lv_leave_validator();
    }
}

void dispatch_sync(void *queue, const void *block) {
    queue_functions_resolved();
    lv_queue_sync_call(queue, block, NULL, NULL, dq.sync_f, CALLER);
}

void dispatch_sync_f(void *queue, void *context, void (*function)(void *)) {
    queue_functions_resolved();
    lv_queue_sync_call(queue, NULL, context, function, dq.sync_f, CALLER);
}

void dispatch_barrier_sync(void *queue, const void *block) {
    queue_functions_resolved();
    lv_queue_sync_call(queue, block, NULL, NULL, dq.barrier_sync_f, CALLER);
}

void dispatch_barrier_sync_f(void *queue, void *context, void (*function)(void *)) {
    queue_functions_resolved();
    lv_queue_sync_call(queue, NULL, context, function, dq.barrier_sync_f, CALLER);
}

// MARK: async: a block holds its serial queue while it runs

void *lv_dispatch_serial_queue_object(const void *queue) {
    if (queue == NULL || !validating()) return NULL;
    queue_functions_resolved();
    return lv_pthreads_object(queue_key(queue));
}

void *lv_dispatch_queue_block_begins(void *object, uintptr_t caller) {
    if (object == NULL || !validating()) return NULL;
    lv_enter_validator();
    // Recorded even when reported (a block of the queue already runs on this thread): its release follows.
    (void)lv_pthread_took(object, LV_PT_EXCLUSIVE, caller);
    lv_leave_validator();
    return object;
}

void lv_dispatch_queue_block_ends(void *held, uintptr_t caller) {
    if (held == NULL) return;
    lv_enter_validator();
    lv_pthread_will_release(held, caller);
    lv_leave_validator();
}
