// The deadlock watchdog for threads blocked in interposed pthread waits.
//
// A contended acquire does not make one blocking call: it waits in slices of the C library's timed
// variant (100 ms), so that between slices it can publish what it waits for, stop for good when another
// thread is reporting (its state then stays put for that thread to read), and, once blocked for a
// second, look for a wait-for cycle: the lock it waits for is held by a thread blocked on a lock held by
// ... this thread. Holders come from the lock itself where glibc records one (a mutex's owner, a
// rwlock's writer) and from the held-lock stacks the blocked threads published (a rwlock's readers, a
// spin lock's holder); both must agree where both exist.
//
// Only a real deadlock is reported. A cycle counts when a second reading, made after every member's
// wait was seen, finds each member still in the same wait (a wait's id is never reused) and each lock
// still held by the next member: a thread blocked throughout cannot release or take anything, so at
// that instant every member waits for the next, for good. A slow holder, a condition wait, a chain that
// ends at a running thread have a member that is not blocked here, and are never reported. A wait with
// the program's own deadline counts only while that deadline is more than 10 s away: it ends by itself.
#define _GNU_SOURCE
#include "deadlock_watchdog.h"

#include "LockValidatorInterpose.h"
#include "LockValidatorShims.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull
/// A slice of a wait: how long a blocked thread takes to notice a firing watchdog.
#define SLICE_NS (100 * 1000000ull)
/// How long a thread waits before it looks for a cycle through itself.
#define SEARCH_AFTER_NS NS_PER_S
/// A wait with its own deadline nearer than this is not a deadlock: it ends by itself.
#define TIMED_HORIZON_NS (10 * NS_PER_S)
/// How long the reporting thread waits for the others to stop (each does at the end of its slice; the
/// bound is for a machine so loaded that one does not run for seconds).
#define PARK_TIMEOUT_NS (5 * NS_PER_S)
/// Waits published at once; a wait that finds no slot waits unpublished (it cannot be reported).
#define MAX_WAITS 512
/// The longest cycle looked for.
#define MAX_CYCLE 32
/// glibc: the owner's thread id in a mutex's owner word, without the robust and PI flags.
#define OWNER_TID_MASK 0x3fffffff
/// glibc (2.25 and later): a rwlock's reader count starts at bit 3 of `__readers`; bit 0 is the write phase.
#define RWLOCK_READER_SHIFT 3
#define RWLOCK_WRITE_PHASE 1u

// MARK: Published waits

/// One thread's wait, written only by that thread: its fields while `wait_id` is 0, then `wait_id`
/// (release); readers check that `wait_id` is the same before and after they read (a sequence lock).
/// The held-lock snapshot cannot change while the wait lasts: a blocked thread takes and releases nothing.
typedef struct {
    uint32_t claimed;   ///< 1 while a thread owns the slot
    uint32_t how;       ///< LV_WAIT_*
    uint64_t wait_id;   ///< nonzero while the wait is published; unique per wait
    int64_t tid;
    uint32_t serial;
    uint32_t parked;    ///< 1 once the thread stopped for good, its stack written (release)
    const void *lock;
    void *object;
    uint64_t instance;
    uintptr_t caller;
    uint64_t since_ns;     ///< CLOCK_MONOTONIC_RAW when the wait began
    uint64_t deadline_ns;  ///< the program's own deadline on the same clock; 0 for none
    lv_thread_state *state;
    uint32_t held_count;
    uint64_t held_shared;  ///< bit i: held[i] is held for reading
    uint64_t held[LV_MAX_HELD];
    int32_t stack_depth;
    void *stack[LV_MAX_FRAMES];
} blocked_wait;

static blocked_wait waits[MAX_WAITS];
static uint64_t next_wait_id = 1;
static uint32_t firing;

#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define STORE(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)

/// What a reader saw of one published wait.
typedef struct {
    int slot;
    uint32_t how;
    uint64_t wait_id;
    int64_t tid;
    const void *lock;
    uint64_t instance;
    uint64_t deadline_ns;
} wait_view;

/// Reads the wait published in `slot`; 0 when there is none or it changed while being read.
static int read_wait(int slot, wait_view *view) {
    blocked_wait *wait = &waits[slot];
    uint64_t id = __atomic_load_n(&wait->wait_id, __ATOMIC_ACQUIRE);
    if (id == 0) return 0;
    view->slot = slot;
    view->how = LOAD(wait->how);
    view->tid = LOAD(wait->tid);
    view->lock = LOAD(wait->lock);
    view->instance = LOAD(wait->instance);
    view->deadline_ns = LOAD(wait->deadline_ns);
    view->wait_id = id;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return LOAD(wait->wait_id) == id;
}

/// Whether the wait `view` saw is still going on (the same wait: ids are never reused).
static int still_waiting(const wait_view *view) {
    return __atomic_load_n(&waits[view->slot].wait_id, __ATOMIC_ACQUIRE) == view->wait_id;
}

/// Whether the thread of the wait `view` holds lock `instance`, for reading (`shared` 1) or writing (0),
/// by the held-lock stack it published.
static int wait_holds(const wait_view *view, uint64_t instance, int shared) {
    blocked_wait *wait = &waits[view->slot];
    uint32_t count = LOAD(wait->held_count);
    uint64_t shared_bits = LOAD(wait->held_shared);
    int found = 0;
    for (uint32_t index = 0; index < count && index < LV_MAX_HELD; index++) {
        if (LOAD(wait->held[index]) == instance && (int)((shared_bits >> index) & 1) == shared) found = 1;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return found && LOAD(wait->wait_id) == view->wait_id;
}

// MARK: Who keeps a waiting thread waiting

/// What the lock a thread waits for says about its holders, read from the lock itself.
typedef struct {
    int64_t owner;     ///< the thread id of the exclusive holder, 0 if the lock does not say
    int read_held;     ///< a rwlock held by readers (who they are, only the held stacks say)
    int spin;          ///< a spin lock: who holds it, only the held stacks say
} lock_state;

static lock_state read_lock_state(const wait_view *waiter) {
    lock_state state = {0, 0, 0};
    switch (waiter->how) {
    case LV_WAIT_MUTEX: {
        const pthread_mutex_t *mutex = waiter->lock;
        state.owner = LOAD(mutex->__data.__owner) & OWNER_TID_MASK;
        break;
    }
    case LV_WAIT_SWIFT_MUTEX:  // the futex word: the owner's thread id, the kernel's waiter bits above
        state.owner = LOAD(*(const uint32_t *)waiter->lock) & OWNER_TID_MASK;
        break;
    case LV_WAIT_READ:
    case LV_WAIT_WRITE: {
        const pthread_rwlock_t *rwlock = waiter->lock;
        state.owner = LOAD(rwlock->__data.__cur_writer);
        unsigned readers = LOAD(rwlock->__data.__readers);
        state.read_held = state.owner == 0 && !(readers & RWLOCK_WRITE_PHASE) && (readers >> RWLOCK_READER_SHIFT) > 0;
        break;
    }
    case LV_WAIT_SPIN: state.spin = 1; break;  // its word says nothing portable (x86 glibc: 1 is free)
    }
    return state;
}

/// Whether the thread of wait `holder` keeps the thread of wait `waiter` waiting, given the lock's `state`.
static int keeps_waiting(const wait_view *waiter, lock_state state, const wait_view *holder) {
    if (holder->slot == waiter->slot && holder->wait_id == waiter->wait_id) return 0;
    switch (waiter->how) {
    case LV_WAIT_MUTEX:
    case LV_WAIT_SWIFT_MUTEX: return state.owner == holder->tid && wait_holds(holder, waiter->instance, 0);
    case LV_WAIT_READ:  // a reader waits only for a writer
        return state.owner != 0 && state.owner == holder->tid && wait_holds(holder, waiter->instance, 0);
    case LV_WAIT_WRITE:
        if (state.owner != 0) return state.owner == holder->tid && wait_holds(holder, waiter->instance, 0);
        return state.read_held && wait_holds(holder, waiter->instance, 1);
    case LV_WAIT_SPIN: return state.spin && wait_holds(holder, waiter->instance, 0);
    }
    return 0;
}

/// The published waits whose threads keep `waiter`'s thread waiting, at most `capacity`.
static int find_holders(const wait_view *waiter, wait_view *holders, int capacity) {
    lock_state state = read_lock_state(waiter);
    if (state.owner == 0 && !state.read_held && !state.spin) return 0;
    int count = 0;
    for (int slot = 0; slot < MAX_WAITS && count < capacity; slot++) {
        if (read_wait(slot, &holders[count]) && keeps_waiting(waiter, state, &holders[count])) count++;
    }
    return count;
}

// MARK: Finding a cycle, and confirming it

#define MAX_HOLDERS 8

/// Looks for a wait-for cycle through the wait `self`: fills `cycle` (self first, each member waiting
/// for a lock the next one holds) and returns its length, 0 when there is none. A depth-first search;
/// a rwlock's readers make more than one way on.
static int find_cycle(const wait_view *self, wait_view *cycle) {
    int tried[MAX_CYCLE];
    uint64_t visited[MAX_WAITS / 64] = {0};
    int depth = 0;
    cycle[0] = *self;
    tried[0] = 0;
    visited[self->slot / 64] |= 1ull << (self->slot % 64);
    while (depth >= 0) {
        wait_view holders[MAX_HOLDERS];
        int count = find_holders(&cycle[depth], holders, MAX_HOLDERS);
        if (tried[depth] >= count) {
            if (--depth >= 0) tried[depth]++;
            continue;
        }
        const wait_view *next = &holders[tried[depth]];
        if (next->slot == self->slot) return depth + 1;
        if (depth + 1 >= MAX_CYCLE || visited[next->slot / 64] & (1ull << (next->slot % 64))) {
            tried[depth]++;
            continue;
        }
        visited[next->slot / 64] |= 1ull << (next->slot % 64);
        cycle[++depth] = *next;
        tried[depth] = 0;
    }
    return 0;
}

/// Whether `cycle` is a deadlock: read again after every member's wait was seen, each member is still
/// in that wait and its lock still held by the next member, and no member's own deadline is near.
static int confirm_cycle(const wait_view *cycle, int length) {
    for (int index = 0; index < length; index++) {
        if (!still_waiting(&cycle[index])) return 0;
    }
    for (int index = 0; index < length; index++) {
        const wait_view *holder = &cycle[(index + 1) % length];
        if (!keeps_waiting(&cycle[index], read_lock_state(&cycle[index]), holder)) return 0;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint64_t now = lv_monotonic_ns();
    for (int index = 0; index < length; index++) {
        if (!still_waiting(&cycle[index])) return 0;
        if (cycle[index].deadline_ns != 0 && cycle[index].deadline_ns < now + TIMED_HORIZON_NS) return 0;
    }
    return 1;
}

// MARK: Stopping, and reporting

/// Keeps the calling thread's stack in its published wait (if it has one).
static void lv_keep_wait_stack(int slot) __attribute__((noinline));
static void lv_keep_wait_stack(int slot) {
    if (slot < 0) return;
    waits[slot].stack_depth = lv_backtrace(waits[slot].stack, LV_MAX_FRAMES);
}

/// Stops this waiting thread for good, once another thread reports: its state stays as it is for that
/// thread to read.
static void lv_park_blocked(int slot) __attribute__((noreturn, noinline));
static void lv_park_blocked(int slot) {
    lv_enter_validator();  // its sleep is the validator's, not a blocking call of the program's
    lv_keep_wait_stack(slot);
    if (slot >= 0) __atomic_store_n(&waits[slot].parked, 1, __ATOMIC_RELEASE);
    for (;;) sleep(1000);
}

static lv_deadlock_member members[MAX_CYCLE];  // static: too large for a small thread stack

/// Reports `cycle` (the calling thread's wait first) and ends the process; another thread reporting
/// first parks this one instead.
static void lv_report_deadlock(const wait_view *cycle, int length) __attribute__((noreturn, noinline));
static void lv_report_deadlock(const wait_view *cycle, int length) {
    lv_enter_validator();  // from here on validator code: its waits and writes are not the program's
    uint32_t idle = 0;
    if (!__atomic_compare_exchange_n(&firing, &idle, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        lv_park_blocked(cycle[0].slot);
    }
    lv_keep_wait_stack(cycle[0].slot);
    // Every other member parks at the end of its current slice.
    uint64_t give_up = lv_monotonic_ns() + PARK_TIMEOUT_NS;
    for (int index = 1; index < length; index++) {
        while (!__atomic_load_n(&waits[cycle[index].slot].parked, __ATOMIC_ACQUIRE) && lv_monotonic_ns() < give_up) {
            usleep(1000);
        }
    }
    uint64_t now = lv_monotonic_ns();
    for (int index = 0; index < length; index++) {
        blocked_wait *wait = &waits[cycle[index].slot];
        lv_deadlock_member *member = &members[index];
        member->parked = index == 0 || __atomic_load_n(&wait->parked, __ATOMIC_ACQUIRE);
        // A thread that did not stop may run on and exit: its state is not read.
        member->state = member->parked ? LOAD(wait->state) : NULL;
        member->serial = LOAD(wait->serial);
        member->how = cycle[index].how;
        member->os_thread_id = cycle[index].tid;
        member->lock_object = LOAD(wait->object);
        member->instance = cycle[index].instance;
        member->caller = LOAD(wait->caller);
        member->blocked_ns = now - LOAD(wait->since_ns);
        member->deadline_ns = cycle[index].deadline_ns ? cycle[index].deadline_ns - now : 0;
        member->stack_depth = member->parked ? wait->stack_depth : 0;
        for (int frame = 0; frame < member->stack_depth; frame++) member->stack[frame] = wait->stack[frame];
        member->scope = NULL;  // the reporting thread is the first member: its own scope is the deadlock's
    }
    lv_enter_validator();
    lv_pthread_deadlock(members, (uint32_t)length);
    abort();  // not reached: the report ends the process
}

/// Searches for a cycle through the wait in `slot`, and reports it when it is confirmed.
static void lv_look_for_deadlock(int slot) {
    wait_view cycle[MAX_CYCLE];
    wait_view self;
    if (!read_wait(slot, &self)) return;
    int length = find_cycle(&self, cycle);
    if (length > 0 && confirm_cycle(cycle, length)) lv_report_deadlock(cycle, length);
}

// MARK: Publishing a wait

/// Publishes the calling thread's wait in a free slot; returns the slot, or -1 when none is free.
static int publish_wait(const void *lock, void *object, uint32_t how, uint64_t since_ns, uint64_t deadline_ns,
                        uintptr_t caller) {
    int64_t tid = lv_os_thread_id();
    int slot = -1;
    for (int probe = 0; probe < MAX_WAITS && slot < 0; probe++) {
        int candidate = (int)((uint64_t)(tid + probe) % MAX_WAITS);
        uint32_t free_slot = 0;
        if (__atomic_compare_exchange_n(&waits[candidate].claimed, &free_slot, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            slot = candidate;
        }
    }
    if (slot < 0) return -1;
    lv_enter_validator();
    uint64_t instance = lv_pthread_lock_instance(object);
    lv_leave_validator();
    blocked_wait *wait = &waits[slot];
    lv_thread_state *state = lv_thread();
    STORE(wait->how, how);
    STORE(wait->tid, tid);
    STORE(wait->serial, state->serial);
    STORE(wait->parked, 0);
    STORE(wait->lock, lock);
    STORE(wait->object, object);
    STORE(wait->instance, instance);
    STORE(wait->caller, caller);
    STORE(wait->since_ns, since_ns);
    STORE(wait->deadline_ns, deadline_ns);
    STORE(wait->state, state);
    // What it holds, but not the entry its acquire pushed before waiting (the newest, for this lock).
    uint32_t depth = state->depth;
    if (depth > 0 && state->held[depth - 1].instance == instance) depth--;
    uint32_t count = 0;
    uint64_t shared = 0;
    for (uint32_t index = 0; index < depth && count < LV_MAX_HELD; index++) {
        const lv_held_lock *entry = &state->held[index];
        if (entry->flags & LV_HELD_RECURSIVE) continue;  // a reported re-acquire: not taken
        if (entry->flags & LV_HELD_SHARED) shared |= 1ull << count;
        STORE(wait->held[count], entry->instance);
        count++;
    }
    STORE(wait->held_count, count);
    STORE(wait->held_shared, shared);
    __atomic_store_n(&wait->wait_id, __atomic_fetch_add(&next_wait_id, 1, __ATOMIC_RELAXED), __ATOMIC_RELEASE);
    return slot;
}

static void end_wait(int slot) {
    if (slot < 0) return;
    __atomic_store_n(&waits[slot].wait_id, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&waits[slot].claimed, 0, __ATOMIC_RELEASE);
}

// MARK: The wait

static int before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static uint64_t nanoseconds_until(const struct timespec *deadline, const struct timespec *now) {
    if (!before(now, deadline)) return 0;
    return (uint64_t)(deadline->tv_sec - now->tv_sec) * NS_PER_S + (uint64_t)deadline->tv_nsec - (uint64_t)now->tv_nsec;
}

int lv_wait_blocked(const void *lock, void *object, uint32_t how, clockid_t clock, int timed,
                    const struct timespec *deadline, lv_timed_attempt attempt, uintptr_t caller) {
    struct timespec now;
    // An untracked lock, or a deadline or clock the C library refuses: its own call, as before.
    if (!object || (timed && (!deadline || deadline->tv_nsec < 0 || deadline->tv_nsec >= (long)NS_PER_S)) ||
        clock_gettime(clock, &now) != 0) {
        return timed ? attempt(lock, clock, deadline) : LV_WAIT_UNSUPPORTED;
    }
    uint64_t started = lv_monotonic_ns();
    uint64_t deadline_ns = timed ? started + nanoseconds_until(deadline, &now) : 0;
    int slot = -1;
    for (int slice_count = 0;; slice_count++) {
        struct timespec slice_end = now;
        slice_end.tv_nsec += (long)SLICE_NS;
        if (slice_end.tv_nsec >= (long)NS_PER_S) {
            slice_end.tv_sec++;
            slice_end.tv_nsec -= (long)NS_PER_S;
        }
        int last = timed && !before(&slice_end, deadline);
        int result = attempt(lock, clock, last ? deadline : &slice_end);
        if (result == EINVAL && !timed && slice_count == 0) return LV_WAIT_UNSUPPORTED;
        if (result != ETIMEDOUT || last) {
            end_wait(slot);
            return result;
        }
        if (__atomic_load_n(&firing, __ATOMIC_RELAXED)) lv_park_blocked(slot);
        if (slot < 0) slot = publish_wait(lock, object, how, started, deadline_ns, caller);
        if (slot >= 0 && lv_monotonic_ns() - started >= SEARCH_AFTER_NS) lv_look_for_deadlock(slot);
        clock_gettime(clock, &now);
    }
}
