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
#include "blocking_calls.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    long (*semaphore_wait)(void *, uint64_t);
    long (*group_wait)(void *, uint64_t);
    uint64_t (*time)(uint64_t, int64_t);
    void *(*current_queue)(void);
    const void *concurrent;  // DISPATCH_QUEUE_CONCURRENT
    void *main;              // the main queue (_dispatch_main_q): a serial queue made by no call
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
    dq.semaphore_wait = (__typeof__(dq.semaphore_wait))dlsym(RTLD_NEXT, "dispatch_semaphore_wait");
    dq.group_wait = (__typeof__(dq.group_wait))dlsym(RTLD_NEXT, "dispatch_group_wait");
    dq.time = (__typeof__(dq.time))dlsym(RTLD_NEXT, "dispatch_time");
    dq.current_queue = (__typeof__(dq.current_queue))dlsym(RTLD_NEXT, "dispatch_get_current_queue");
    dq.concurrent = dlsym(RTLD_DEFAULT, "_dispatch_queue_attr_concurrent");
    dq.main = dlsym(RTLD_DEFAULT, "_dispatch_main_q");
}

static inline void queue_functions_resolved(void) { pthread_once(&dq_once, resolve_queue_functions); }

#define CALLER ((uintptr_t)__builtin_return_address(0))

/// Whether this call is validated (as the pthread functions decide).
static inline int validating(void) { return lv_pthreads_active() && lv_validation_enabled() && !lv_inside_validator(); }

/// The calling thread's state when this call is validated, else NULL: the thread-local reached once.
__attribute__((always_inline)) static inline lv_thread_state *validating_thread(void) {
    if (!(lv_pthreads_active() && lv_validation_enabled())) return NULL;
    lv_thread_state *thread = lv_thread();
    return thread->inside_validator == 0 ? thread : NULL;
}

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

/// A queue made: a serial one gets a validator object, and any other is marked untracked, replacing what
/// a freed queue at its address had (a concurrent queue made where a serial one was is no lock).
static void *queue_made(void *queue, const char *label, const void *attribute, uintptr_t caller) {
    if (queue == NULL || !lv_pthreads_active()) return queue;
    if (is_concurrent(attribute) || !validating()) {
        if (lv_pthreads_object(queue_key(queue)) != NULL) lv_pthreads_set_object(queue_key(queue), LV_PT_UNTRACKED);
        return queue;
    }
    lv_enter_validator();
    void *object = lv_dispatch_queue_created(queue, label, caller);
    if (object) {
        // Published by the table's store. The lock held last now tells a temporary queue (see below).
        lv_pthread_object *made = object;
        lv_thread_state *thread = lv_thread();
        made->queue_creator = lv_interposer_tid();
        made->queue_made_depth = thread->depth;
        made->queue_made_in = thread->depth > 0 ? thread->held[thread->depth - 1].instance : 0;
    }
    lv_pthreads_set_object(queue_key(queue), object ? object : LV_PT_UNTRACKED);
    lv_leave_validator();
    return queue;
}

/// The main queue's validator object, made when it is first used (no call makes the main queue).
__attribute__((noinline, cold)) static void *main_queue_object(uintptr_t caller) {
    void *object = lv_pthreads_object(queue_key(dq.main));
    if (object != NULL || !validating()) return object;
    static pthread_mutex_t making = PTHREAD_MUTEX_INITIALIZER;
    lv_enter_validator();
    pthread_mutex_lock(&making);  // inside the validator: not validated
    object = lv_pthreads_object(queue_key(dq.main));
    if (object == NULL) {
        object = lv_dispatch_main_queue_used(dq.main, caller);
        lv_pthreads_set_object(queue_key(dq.main), object ? object : LV_PT_UNTRACKED);
    }
    pthread_mutex_unlock(&making);
    lv_leave_validator();
    return object;
}

/// The validator object of `queue` when it is a known serial queue (the main queue's made on first use).
static inline void *serial_queue_object(const void *queue, uintptr_t caller) {
    void *object = lv_pthreads_object(queue_key(queue));
    if (__builtin_expect(object == NULL && queue == dq.main && queue != NULL, 0)) object = main_queue_object(caller);
    return object;
}

/// Whether this thread is the main thread, on which the main queue's blocks run.
static inline int on_main_thread(int64_t tid) { return tid == (int64_t)getpid(); }

void *dispatch_queue_create(const char *label, const void *attribute) {
    queue_functions_resolved();
    return queue_made(dq.queue_create(label, attribute), label, attribute, CALLER);
}

void *dispatch_queue_create_with_target(const char *label, const void *attribute, void *target) {
    queue_functions_resolved();
    return queue_made(dq.queue_create_with_target(label, attribute, target), label, attribute, CALLER);
}

// MARK: Deadlocks among queues

// A `sync` cannot wait in timed slices as a pthread wait does (deadlock_watchdog.c): Dispatch has no
// timed or cancellable `sync`. So each thread waiting in a validated `sync` publishes its wait, each
// queue whose block runs publishes the thread running it, and a monitor thread (started by the first
// such wait) looks every 200 ms for a wait-for cycle among waits older than a second: thread A waits
// for queue Q1, whose block runs on thread B, which waits for Q2, whose block runs on A. A cycle counts
// when a second reading 100 ms later finds every member in the same wait (a wait's id is never reused)
// and every queue still run by the same thread: blocked in `sync`, none of them can move. Then it is
// reported (`deadlock`), the report written and the process ended, as for pthread locks.

#define MAX_QUEUE_WAITS 256
#define MAX_QUEUE_CYCLE 32
#define QUEUE_SEARCH_AFTER_NS 1000000000ull

typedef struct {
    uint32_t claimed;          // 1 while a thread owns the slot
    uint64_t wait_id;          // nonzero while published (written last, release)
    int64_t tid;
    uint32_t serial;
    lv_thread_state *state;    // the waiting thread's state: its held locks, read while it is blocked
    void *object;              // the queue it waits for
    uintptr_t caller;
    int32_t stack_depth;
    void *stack[LV_MAX_FRAMES];
    // The scope of the code that waits, captured with its stack (a contended `sync`), so that a deadlock
    // the monitor finds is the waiting test's. Kept until the slot's thread captures another or exits:
    // the monitor reads it from a wait that stayed put, without taking a reference of its own.
    void *scope;
} queue_wait;

static queue_wait queue_waits[MAX_QUEUE_WAITS];
/// The monitor's own record of when it first saw each slot's wait (publishing reads no clock).
static uint64_t seen_wait_id[MAX_QUEUE_WAITS];
static uint64_t seen_since_ns[MAX_QUEUE_WAITS];
/// A thread's own: in one thread-local variable, reached once a call (a shared library reaches each
/// thread-local variable through __tls_get_addr).
static __thread struct {
    int64_t tid;         // the kernel's id for it, asked once (lv_interposer_tid)
    int wait_slot;       // its slot in queue_waits + 1, kept until it exits; 0 before its first wait
    int wait_published;  // whether its wait is published now
    uint32_t waits;      // waits so far: a wait's id is its thread's id and this count, never reused
} queue_thread;

// Each queue's validator object (lv_pthread_object) keeps the thread running its block and the count of
// blocks `async` put there that have not started: one load away from the object the lock table gives.

static inline void set_queue_holder(void *object, int64_t tid) {
    __atomic_store_n(&((lv_pthread_object *)object)->queue_holder, tid, __ATOMIC_RELEASE);
}

static inline int64_t queue_holder(void *object) {
    return __atomic_load_n(&((lv_pthread_object *)object)->queue_holder, __ATOMIC_ACQUIRE);
}

/// The thread running a block of the queue (0: none), and whether a block `async` put there waits to start.
static inline int64_t queue_state(void *object, int *queued) {
    *queued = __atomic_load_n(&((lv_pthread_object *)object)->queue_queued, __ATOMIC_ACQUIRE) != 0;
    return queue_holder(object);
}

/// The queue is used by thread `tid` (0: by an `async`, for any thread): it is no longer its creator's
/// alone when `tid` is another. Returns whether this was its first use, by its creator.
static inline int queue_used_by(void *object, int64_t tid) {
    lv_pthread_object *queue = object;
    int64_t creator = __atomic_load_n(&queue->queue_creator, __ATOMIC_RELAXED);
    if (__builtin_expect(creator == 0, 1)) return 0;
    if (creator != tid) __atomic_store_n(&queue->queue_creator, 0, __ATOMIC_RELAXED);
    int first = !__atomic_load_n(&queue->queue_used, __ATOMIC_RELAXED);
    if (first) __atomic_store_n(&queue->queue_used, 1, __ATOMIC_RELAXED);
    return first && creator == tid;
}

/// Whether the queue is a temporary of `thread` (`tid`): made while it held a lock it still holds, and
/// used by no other thread since (GRDB's Database.erase() makes an in-memory database, whose queue it
/// reads inside the erased one's block). No other thread has the queue, so this thread's `sync` onto it
/// cannot wait.
static inline int temporary_of(void *object, int64_t tid, const lv_thread_state *thread) {
    const lv_pthread_object *queue = object;
    uint32_t depth = queue->queue_made_depth;
    return __atomic_load_n(&queue->queue_creator, __ATOMIC_RELAXED) == tid && depth > 0 && thread->depth >= depth &&
           thread->held[depth - 1].instance == queue->queue_made_in;
}

void lv_dispatch_queue_block_submitted(void *object) {
    (void)queue_used_by(object, 0);
    __atomic_add_fetch(&((lv_pthread_object *)object)->queue_queued, 1, __ATOMIC_RELEASE);
}

static void queued_block_starts(void *object) {
    uint32_t *queued = &((lv_pthread_object *)object)->queue_queued;
    if (__atomic_load_n(queued, __ATOMIC_RELAXED) != 0) __atomic_sub_fetch(queued, 1, __ATOMIC_RELEASE);
}

// MARK: A queue's owner setting it up in its init, and flushing it in its deinit

// GRDB's SerializedDatabase syncs onto its private queue in its deinit, sometimes with a lock held (the
// last reference dropped under it), while blocks `async` put on that queue take the lock: lock -> queue
// against queue -> lock. Yet no block can be queued or running then: each block the owner submits holds
// the owner, which is being deinitialised. Its init syncs onto the queue it has just made, sometimes inside
// another queue's block (a database made while another is written): no other thread knows that queue yet.
// Neither `sync` can wait. So a `sync` made in a Swift class's deinit onto a queue with no block running or
// queued, or in a class's init onto a queue this thread made and nothing used yet, is taken as a try-lock
// is: it orders nothing into the queue (what its block takes is still ordered after the queue). A busy
// queue's, or a queue used before, is an acquire as any other.

/// Whether the calling code runs in a Swift class's deinit (a frame of a deallocating deinit, `…CfD`),
/// when `deinit` is set, or in a class's init (`…fc`), when `init` is.
__attribute__((noinline, cold)) static int in_owner_lifecycle(int init, int deinit) {
    void *frames[LV_MAX_FRAMES];
    int depth = lv_backtrace(frames, LV_MAX_FRAMES);
    for (int index = 0; index < depth; index++) {
        const char *name = NULL;
        uintptr_t start = 0;
        if (lv_symbol_covering((uintptr_t)frames[index] - 1, 1, &name, &start) != 0 || name == NULL) continue;
        size_t length = strlen(name);
        if (length < 5 || name[0] != '$' || name[1] != 's') continue;
        if (deinit && strcmp(name + length - 3, "CfD") == 0) return 1;
        if (init && strcmp(name + length - 2, "fc") == 0) return 1;
    }
    return 0;
}

/// The calling thread's kernel id, asked once per thread (a system call each time would double what an
/// uncontended `sync` costs); a forked child asks again.
static void forget_tid_in_child(void) { queue_thread.tid = 0; }
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_tid_in_child); }

int64_t lv_interposer_tid(void) {
    if (__builtin_expect(queue_thread.tid == 0, 0)) {
        pthread_once(&tid_once, register_fork_handler);
        queue_thread.tid = lv_os_thread_id();
    }
    return queue_thread.tid;
}

static pthread_once_t monitor_once = PTHREAD_ONCE_INIT;
static void start_queue_monitor(void);
static int monitor_started;

/// Frees a thread's wait slot when it exits (its value is the slot + 1).
static pthread_key_t wait_slot_key;
static pthread_once_t wait_slot_key_once = PTHREAD_ONCE_INIT;

static void free_wait_slot(void *value) {
    int slot = (int)(intptr_t)value - 1;
    __atomic_store_n(&queue_waits[slot].wait_id, 0, __ATOMIC_RELEASE);
    void *scope = queue_waits[slot].scope;
    queue_waits[slot].scope = NULL;
    if (scope) {
        lv_enter_validator();
        lv_scope_release(scope);
        lv_leave_validator();
    }
    __atomic_store_n(&queue_waits[slot].claimed, 0, __ATOMIC_RELEASE);
}

static void make_wait_slot_key(void) { pthread_key_create(&wait_slot_key, free_wait_slot); }

/// Claims a slot for the calling thread, kept until it exits (none left: -1, its waits go unpublished).
__attribute__((noinline, cold)) static int claim_wait_slot(int64_t tid) {
    pthread_once(&wait_slot_key_once, make_wait_slot_key);
    for (int probe = 0; probe < MAX_QUEUE_WAITS; probe++) {
        int slot = (int)((uint64_t)(tid + probe) % MAX_QUEUE_WAITS);
        uint32_t free_slot = 0;
        if (__atomic_compare_exchange_n(&queue_waits[slot].claimed, &free_slot, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            pthread_setspecific(wait_slot_key, (void *)(intptr_t)(slot + 1));
            queue_thread.wait_slot = slot + 1;
            return slot;
        }
    }
    return -1;
}

/// Publishes the calling thread's wait for `object` (before the real `sync`); `busy`: a block of the queue
/// runs now, so this `sync` is likely to wait, and its stack is kept (an uncontended `sync` pays no
/// unwinding: a deadlock's members are all contended).
static void publish_queue_wait(void *object, uintptr_t caller, int busy, int64_t tid, lv_thread_state *thread) {
    if (__builtin_expect(!__atomic_load_n(&monitor_started, __ATOMIC_ACQUIRE), 0)) {
        pthread_once(&monitor_once, start_queue_monitor);
        __atomic_store_n(&monitor_started, 1, __ATOMIC_RELEASE);
    }
    int slot = queue_thread.wait_slot - 1;
    if (__builtin_expect(slot < 0, 0) && (slot = claim_wait_slot(tid)) < 0) return;
    queue_wait *wait = &queue_waits[slot];
    wait->tid = tid;
    wait->serial = thread->serial;
    wait->state = thread;
    wait->object = object;
    wait->caller = caller;
    wait->stack_depth = 0;
    if (busy) {
        lv_enter_validator();
        wait->stack_depth = lv_backtrace(wait->stack, LV_MAX_FRAMES);
        void *previous = wait->scope;
        wait->scope = lv_scope_capture();
        if (previous) lv_scope_release(previous);
        lv_leave_validator();
    }
    __atomic_store_n(&wait->wait_id, ((uint64_t)tid << 32) | ++queue_thread.waits, __ATOMIC_RELEASE);
    queue_thread.wait_published = 1;
}

/// The calling thread no longer waits (its block runs, or the `sync` returned).
static inline void withdraw_queue_wait(void) {
    if (!queue_thread.wait_published) return;
    queue_thread.wait_published = 0;
    __atomic_store_n(&queue_waits[queue_thread.wait_slot - 1].wait_id, 0, __ATOMIC_RELEASE);
}

typedef struct {
    int slot;
    uint64_t wait_id;
    int64_t holder;  // the thread running a block of the queue it waits for
} queue_wait_view;

/// The published wait of thread `tid`, if any.
static int wait_of_thread(int64_t tid, queue_wait_view *view) {
    for (int slot = 0; slot < MAX_QUEUE_WAITS; slot++) {
        uint64_t id = __atomic_load_n(&queue_waits[slot].wait_id, __ATOMIC_ACQUIRE);
        if (id == 0 || __atomic_load_n(&queue_waits[slot].tid, __ATOMIC_RELAXED) != tid) continue;
        view->slot = slot;
        view->wait_id = id;
        view->holder = queue_holder(__atomic_load_n(&queue_waits[slot].object, __ATOMIC_RELAXED));
        return 1;
    }
    return 0;
}

/// A cycle through the wait in `slot`, into `cycle`; its length, or 0.
static int find_queue_cycle(int slot, queue_wait_view *cycle) {
    uint64_t id = __atomic_load_n(&queue_waits[slot].wait_id, __ATOMIC_ACQUIRE);
    if (id == 0 || seen_wait_id[slot] != id || lv_monotonic_ns() - seen_since_ns[slot] < QUEUE_SEARCH_AFTER_NS) {
        return 0;
    }
    int64_t first = __atomic_load_n(&queue_waits[slot].tid, __ATOMIC_RELAXED);
    cycle[0] = (queue_wait_view){slot, id, queue_holder(__atomic_load_n(&queue_waits[slot].object, __ATOMIC_RELAXED))};
    for (int length = 1; length < MAX_QUEUE_CYCLE; length++) {
        int64_t holder = cycle[length - 1].holder;
        if (holder == 0) return 0;
        if (holder == first) return length;
        for (int earlier = 1; earlier < length; earlier++) {
            if (__atomic_load_n(&queue_waits[cycle[earlier].slot].tid, __ATOMIC_RELAXED) == holder) return 0;
        }
        if (!wait_of_thread(holder, &cycle[length])) return 0;
    }
    return 0;
}

static int queue_cycle_holds(const queue_wait_view *cycle, int length) {
    for (int index = 0; index < length; index++) {
        const queue_wait *wait = &queue_waits[cycle[index].slot];
        if (__atomic_load_n(&wait->wait_id, __ATOMIC_ACQUIRE) != cycle[index].wait_id ||
            queue_holder(__atomic_load_n(&wait->object, __ATOMIC_RELAXED)) != cycle[index].holder) {
            return 0;
        }
    }
    return 1;
}

static lv_deadlock_member queue_members[MAX_QUEUE_CYCLE];

static void report_queue_deadlock(const queue_wait_view *cycle, int length) {
    uint64_t now = lv_monotonic_ns();
    for (int index = 0; index < length; index++) {
        const queue_wait *wait = &queue_waits[cycle[index].slot];
        lv_deadlock_member *member = &queue_members[index];
        member->state = wait->state;
        member->serial = wait->serial;
        member->how = LV_WAIT_QUEUE;
        member->os_thread_id = wait->tid;
        member->lock_object = wait->object;
        member->instance = lv_pthread_lock_instance(wait->object);
        member->caller = wait->caller;
        member->blocked_ns = now - seen_since_ns[cycle[index].slot];
        member->deadline_ns = 0;
        member->parked = 1;  // blocked in `sync` for good: its held locks and stack stay put
        member->stack_depth = wait->stack_depth;
        for (int frame = 0; frame < wait->stack_depth; frame++) member->stack[frame] = wait->stack[frame];
        member->scope = wait->stack_depth > 0 ? wait->scope : NULL;  // captured with this wait's stack
    }
    lv_dispatch_deadlock(queue_members, (uint32_t)length);
}

static void *queue_monitor(void *unused) {
    (void)unused;
    lv_enter_validator();  // for good: its own calls are the validator's
    queue_wait_view cycle[MAX_QUEUE_CYCLE];
    for (;;) {
        struct timespec pause = {0, 200 * 1000000};
        nanosleep(&pause, NULL);
        uint64_t now = lv_monotonic_ns();
        for (int slot = 0; slot < MAX_QUEUE_WAITS; slot++) {
            uint64_t id = __atomic_load_n(&queue_waits[slot].wait_id, __ATOMIC_ACQUIRE);
            if (id != seen_wait_id[slot]) {
                seen_wait_id[slot] = id;
                seen_since_ns[slot] = now;
            }
        }
        for (int slot = 0; slot < MAX_QUEUE_WAITS; slot++) {
            int length = find_queue_cycle(slot, cycle);
            if (length == 0) continue;
            struct timespec settle = {0, 100 * 1000000};
            nanosleep(&settle, NULL);
            if (queue_cycle_holds(cycle, length)) report_queue_deadlock(cycle, length);
        }
    }
    return NULL;
}

static void start_queue_monitor(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    lv_enter_validator();
    pthread_create(&thread, &attributes, queue_monitor, NULL);
    lv_leave_validator();
    pthread_attr_destroy(&attributes);
}

// MARK: sync: the queue taken while its block runs

// The Blocks ABI's header (as interpose.c's): a block is called through its invoke function.
typedef struct {
    void *isa;
    int flags;
    int reserved;
    void (*invoke)(const void *block);
} queue_block_header;

/// One `sync`: the queue's object, the caller, the thread it was made on, and what the validator said when
/// its block started there.
typedef struct {
    void *object;
    uintptr_t caller;
    pthread_t thread;
    int pending;  // its acquire was checked before it waited (the queue was busy): taken when the block starts
    int idle;     // no block of the queue ran or waited to start when it was called
    int fresh;    // the queue's first use, by the thread that made it
    int64_t tid;  // the calling thread's kernel id
    lv_thread_state *state;  // and its validator state
    uint64_t wait_started;  // for a pending one: when its wait began (lock_stat's contention and wait time)
    int ran_here;
    const void *block;
    void *context;
    void (*function)(void *);
} queue_sync;

static void *queue_block_begins(void *object, uintptr_t caller);

/// Runs the work of `sync`: on the calling thread (where Dispatch runs a `sync` but for the main queue and
/// queues bound to a thread), holding the queue for its duration.
static void lv_run_holding_queue(queue_sync *sync) {
    int here = pthread_equal(pthread_self(), sync->thread);
    if (!here) {
        // The main queue's: the main thread runs the block, holding the queue as for a block `async` put there.
        void *held = queue_block_begins(sync->object, sync->caller);
        if (sync->block) {
            ((const queue_block_header *)sync->block)->invoke(sync->block);
        } else {
            sync->function(sync->context);
        }
        lv_dispatch_queue_block_ends(held, sync->caller);
        return;
    }
    withdraw_queue_wait();
    lv_pthread_object *object = sync->object;
    if (sync->pending) {
        uint64_t waited = lv_rdtsc() - sync->wait_started;
        lv_enter_validator();
        lv_pthread_did_acquire(object, sync->caller, waited != 0 ? waited : 1);
        lv_leave_validator();
    } else if (!lv_annotated_took_fast(&object->fast, sync->state, sync->caller)) {
        // Not the common case (the C fast path's): the Swift steps. An owner's deinit flushing its idle
        // queue with a lock held waits for nothing: a try-lock.
        lv_enter_validator();
        int waits_for_nothing =
            sync->state->depth > 0 &&
            (temporary_of(object, sync->tid, sync->state) ||
             ((sync->idle || sync->fresh) && in_owner_lifecycle(sync->fresh, sync->idle)));
        uint32_t how = waits_for_nothing ? LV_PT_EXCLUSIVE_TRY : LV_PT_EXCLUSIVE;
        (void)lv_pthread_took(object, how, sync->caller);
        lv_leave_validator();
    }
    sync->ran_here = 1;
    set_queue_holder(object, sync->tid);
    if (sync->block) {
        ((const queue_block_header *)sync->block)->invoke(sync->block);
    } else {
        sync->function(sync->context);
    }
    set_queue_holder(object, 0);
    if (!lv_annotated_release_fast(&object->fast, sync->state)) {
        lv_enter_validator();
        lv_pthread_will_release(object, sync->caller);
        lv_leave_validator();
    }
}

static void lv_run_sync_function(void *context) { lv_run_holding_queue(context); }

/// `sync` onto `queue`: passed through for a queue that is not a known serial one; else validated as an
/// acquire when its block starts. A `sync` from a block the queue runs on this thread is a recursive
/// acquire: reported before Dispatch would deadlock, and the block run here instead.
static void lv_queue_sync_call(void *queue, const void *block, void *context, void (*function)(void *),
                               void (*real_f)(void *, void *, void (*)(void *)), uintptr_t caller) {
    lv_thread_state *thread = validating_thread();
    void *object = thread ? serial_queue_object(queue, caller) : NULL;
    if (object == NULL) {
        if (block) {
            (real_f == dq.sync_f ? dq.sync : dq.barrier_sync)(queue, block);
        } else {
            real_f(queue, context, function);
        }
        return;
    }
    int queued = 0;
    int64_t holder = queue_state(object, &queued);
    int64_t tid = lv_interposer_tid();
    // The main queue's blocks run on the main thread: a `sync` onto it from there never starts. Outside a
    // block of the main queue, the main thread is taken to hold it for the call, so that it is recursion too.
    int main_here = queue == dq.main && on_main_thread(tid) && holder != tid;
    if (holder == tid || main_here) {
        lv_enter_validator();
        if (main_here) (void)lv_pthread_took(object, LV_PT_EXCLUSIVE, caller);
        (void)lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE, caller);
        lv_leave_validator();
        if (block) {
            ((const queue_block_header *)block)->invoke(block);
        } else {
            function(context);
        }
        lv_enter_validator();
        // The reported acquire's placeholder is released (and the main thread's hold).
        lv_pthread_will_release(object, caller);
        if (main_here) lv_pthread_will_release(object, caller);
        lv_leave_validator();
        return;
    }
    // A free queue is checked and taken in one step when the block starts (as an uncontended mutex is):
    // reading the clock for a wait would cost more than Dispatch's own `sync`. A busy one is checked before
    // the wait, so that an inversion is reported before a deadlock can form.
    // The main queue's `sync` always waits for the main thread.
    int pending = holder != 0 || queue == dq.main;
    int fresh = queue_used_by(object, tid);
    queue_sync sync = {object, caller, pthread_self(), pending, holder == 0 && !queued, fresh, tid, thread, 0, 0,
                       block, context, function};
    if (sync.pending) {
        lv_enter_validator();
        (void)lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE, caller);
        lv_leave_validator();
        sync.wait_started = lv_rdtsc();
    }
    publish_queue_wait(object, caller, holder != 0, tid, thread);
    real_f(queue, &sync, lv_run_sync_function);
    if (!sync.ran_here) withdraw_queue_wait();  // else its block did
    if (sync.pending && !sync.ran_here) {
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

void *lv_dispatch_serial_queue_object(const void *queue, uintptr_t caller) {
    if (queue == NULL || !validating()) return NULL;
    queue_functions_resolved();
    return serial_queue_object(queue, caller);
}

/// A block starts on this thread holding its queue's `object`.
static void *queue_block_begins(void *object, uintptr_t caller) {
    if (object == NULL || !validating()) return NULL;
    (void)queue_used_by(object, lv_interposer_tid());
    lv_enter_validator();
    // Recorded even when reported (a block of the queue already runs on this thread): its release follows.
    (void)lv_pthread_took(object, LV_PT_EXCLUSIVE, caller);
    lv_leave_validator();
    set_queue_holder(object, lv_interposer_tid());
    return object;
}

void *lv_dispatch_queue_block_begins(void *object, uintptr_t caller) {
    if (object != NULL) queued_block_starts(object);
    return queue_block_begins(object, caller);
}

void *lv_dispatch_current_queue_block_begins(uintptr_t caller) {
    if (!validating()) return NULL;
    queue_functions_resolved();
    void *queue = dq.current_queue ? dq.current_queue() : NULL;
    void *object = queue ? serial_queue_object(queue, caller) : NULL;
    if (object == NULL || queue_holder(object) == lv_interposer_tid()) return NULL;
    return queue_block_begins(object, caller);
}

void lv_dispatch_queue_block_ends(void *held, uintptr_t caller) {
    if (held == NULL) return;
    set_queue_holder(held, 0);
    lv_enter_validator();
    lv_pthread_will_release(held, caller);
    lv_leave_validator();
}

// MARK: Waits that block (blocking_calls.c's rule): a semaphore's or a group's

/// Whether a wait until `timeout` only looks: DISPATCH_TIME_NOW, or a deadline already past (`.now()`).
__attribute__((noinline, cold)) static int only_looks(uint64_t timeout) {
    return timeout == 0 || (dq.time && timeout <= dq.time(0, 0));
}

long dispatch_semaphore_wait(void *semaphore, uint64_t timeout) {
    queue_functions_resolved();
    if (__builtin_expect(lv_must_not_block(), 0) && !only_looks(timeout)) {
        lv_blocking_call("dispatch_semaphore_wait", CALLER);
    }
    return dq.semaphore_wait(semaphore, timeout);
}

long dispatch_group_wait(void *group, uint64_t timeout) {
    queue_functions_resolved();
    if (__builtin_expect(lv_must_not_block(), 0) && !only_looks(timeout)) {
        lv_blocking_call("dispatch_group_wait", CALLER);
    }
    return dq.group_wait(group, timeout);
}
