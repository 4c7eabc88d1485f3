// The pthread interposer of LockValidatorPthreads: definitions of the pthread mutex, reader–writer lock,
// spin lock and condition-wait functions that tell the validator, and of the C library's calls that
// block (blocking_calls.c), then call the C library's own (found with dlsym(RTLD_NEXT, …)). Not API:
// everything here may change.
#ifndef LOCK_VALIDATOR_INTERPOSE_H
#define LOCK_VALIDATOR_INTERPOSE_H

#include <stdint.h>

#include "LockValidatorShims.h"

#ifdef __cplusplus
extern "C" {
#endif

/// What a pthread lock is, for the validator.
enum {
    LV_PT_MUTEX_NORMAL = 0,      ///< PTHREAD_MUTEX_NORMAL / DEFAULT (and ADAPTIVE)
    LV_PT_MUTEX_RECURSIVE = 1,   ///< PTHREAD_MUTEX_RECURSIVE: the holder may take it again
    LV_PT_MUTEX_ERRORCHECK = 2,  ///< PTHREAD_MUTEX_ERRORCHECK: taking it again fails with EDEADLK
    LV_PT_RWLOCK = 3,            ///< a reader–writer lock whose readers go ahead of waiting writers (glibc's default)
    LV_PT_RWLOCK_WRITER_FIRST = 4,  ///< PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP: readers queue behind writers
    LV_PT_SPIN = 5,              ///< pthread_spinlock_t
    LV_PT_DISPATCH_SERIAL = 6,   ///< a serial Dispatch queue, taken by dispatch_sync (a pseudo-lock)
    LV_PT_SWIFT_MUTEX = 7,       ///< a Synchronization.Mutex, seen through the Mutex overlay (swift_mutex.c)
};

/// The lock-table object of a lock the validator leaves alone.
#define LV_PT_UNTRACKED ((void *)1)

/// How a lock is being taken.
enum {
    LV_PT_EXCLUSIVE = 0,       ///< waited for: lock, wrlock, timedlock, a condition wait's re-acquire
    LV_PT_EXCLUSIVE_TRY = 1,   ///< a try-lock that succeeded
    LV_PT_SHARED = 2,          ///< rdlock, timedrdlock
    LV_PT_SHARED_TRY = 3,      ///< a tryrdlock that succeeded
};

/// Added to `how` by a caller that can be steered (DeadlockConfirmation, LOCKVALIDATOR_CONFIRM): the
/// interposer's own waiting acquires. lv_pthread_will_acquire may then hold the thread back before its
/// wait, and lv_pthread_took answer LV_PT_RETRY.
#define LV_PT_STEERABLE 0x100u

/// What the interposer does after the validator saw an acquire or release.
enum {
    LV_PT_PROCEED = 0,  ///< call the real function
    LV_PT_SKIP = 1,     ///< do not: return 0 (a reported self-deadlock on a lock that would hang, and its release)
    LV_PT_REFUSE = 2,   ///< do not: return EDEADLK (a reported self-deadlock the lock itself refuses with it)
    LV_PT_RETRY = 3,    ///< lv_pthread_took only: give the lock back and wait for it (to be held back first)
};

/// Whether interposed calls are validated: 1 once LockValidatorPthreads is installed and
/// `LOCKVALIDATOR_PTHREADS` is not `off`.
int lv_pthreads_active(void);

/// The validator object of a tracked lock, as the lock table holds it: the Swift side's state
/// (`PthreadLock`), which the C fast path of its uncontended pair reads in place.
typedef struct lv_pthread_object {
    lv_annotated_fast fast;
} lv_pthread_object;

/// A serial Dispatch queue's validator object: a lock's, then what only queues need (a mutex's object
/// does not carry these 40 bytes; queues are keyed apart from locks, at odd addresses, so an object found
/// for a queue is always one of these).
typedef struct lv_queue_object {
    lv_pthread_object object;
    int64_t queue_holder;   ///< the thread running one of its blocks, 0 when none
    uint32_t queue_queued;  ///< blocks `async` put there that have not started yet
    uint32_t queue_used;    ///< whether a `sync`, an `async` or a block used the queue yet
    int64_t queue_creator;  ///< the thread that made it, while no other used it (then 0)
    uint64_t queue_made_in; ///< the lock its creator held last when it made the queue (an instance; 0: none)
    uint32_t queue_made_depth; ///< how many locks its creator held then
} lv_queue_object;

// The lock table (lock address -> validator object) is the interposer's: it owns each object it keeps
// and destroys (lv_pthread_lock_destroyed) each one it drops.

/// The calling thread's kernel id, asked of the kernel once per thread (and again in a forked child).
int64_t lv_interposer_tid(void);

// Serial Dispatch queues (dispatch_queues.c): a block submitted to one holds it while it runs.

/// The validator object of serial queue `queue`, when calls are validated and it is one; else NULL. The
/// main queue is one, made when first used (by the code at `caller`).
void *lv_dispatch_serial_queue_object(const void *queue, uintptr_t caller);
/// A block that will hold the queue of `object` was submitted (lv_dispatch_queue_block_begins starts it).
void lv_dispatch_queue_block_submitted(void *object);
/// A block submitted at `caller` starts on this thread: it takes its queue's `object` (NULL: none).
/// Returns what to pass to lv_dispatch_queue_block_ends.
void *lv_dispatch_queue_block_begins(void *object, uintptr_t caller);
/// The block has returned: its queue is released.
void lv_dispatch_queue_block_ends(void *held, uintptr_t caller);
/// A block made by dispatch_block_create (a DispatchWorkItem, an `async` with a QoS or flags) starts on
/// this thread: it takes the serial queue it runs on, found now (Dispatch submits the made block itself),
/// unless this thread holds that queue already (a `sync` runs it). Returns what to pass to
/// lv_dispatch_queue_block_ends.
void *lv_dispatch_current_queue_block_begins(uintptr_t caller);
/// What a block wrapper keeps for a queue found when the block runs (lv_dispatch_current_queue_block_begins).
#define LV_DISPATCH_QUEUE_AT_RUN_TIME ((void *)2)

/// The validator object of the lock at `address`, made now (keyed by the code at `caller`) if the lock was
/// never seen; NULL when the lock is left untracked. Called inside the validator.
void *lv_pthreads_object_for(const void *address, uint32_t type, uintptr_t caller);
/// A lock of `type` was initialised at `address` by the code at `caller`: a new object, replacing any for
/// memory that held a lock before. Called inside the validator.
void lv_pthreads_lock_initialised(const void *address, uint32_t type, uintptr_t caller);

/// The validator object of the lock at `address`, or NULL when it has none (yet).
void *lv_pthreads_object(const void *address);

/// The memory of the lock at `address` was freed without the lock being destroyed (a Synchronization.Mutex
/// in a deallocated object): its object goes, as `pthread_mutex_destroy` would make it go. Called inside
/// the validator.
void lv_pthreads_lock_freed(const void *address);

/// Makes `object` (for the table to keep) the validator object of the lock at `address`. The
/// object it replaces, or `object` itself when the table is full, is destroyed.
void lv_pthreads_set_object(const void *address, void *object);

/// Whether a thread other than the caller holds the lock at `address` now, by what glibc keeps in it: a
/// mutex's owner (`type` LV_PT_MUTEX_NORMAL, for every mutex kind), a rwlock's writer or readers
/// (LV_PT_RWLOCK, for both kinds).
int lv_pthreads_lock_held_elsewhere(const void *address, uint32_t type);

/// What the mutex at `mutex` (a `pthread_mutex_t`) is: LV_PT_MUTEX_NORMAL, _RECURSIVE or _ERRORCHECK.
uint32_t lv_pthreads_mutex_type(const void *mutex);

/// What the reader–writer lock at `rwlock` (a `pthread_rwlock_t`) is: LV_PT_RWLOCK or _WRITER_FIRST.
uint32_t lv_pthreads_rwlock_type(const void *rwlock);

// Implemented by LockValidatorPthreads (Swift, `@_cdecl`); called with the thread marked inside the
// validator.

/// A new validator object (the table's to keep) for the lock at `address` of type `type`, created by `pthread_*_init`
/// (`at_init` 1) or first seen locked (0) by a call returning to `caller`; NULL to leave the lock untracked.
extern void *lv_pthread_lock_created(const void *address, uint32_t type, int at_init, uintptr_t caller);
/// A serial Dispatch queue was made with `label` (may be NULL) by the code at `caller`: its validator object
/// (the table's to keep), or NULL to leave it alone.
extern void *lv_dispatch_queue_created(const void *queue, const char *label, uintptr_t caller);
/// The main queue, first used by the code at `caller`: its validator object (the table's), or NULL.
extern void *lv_dispatch_main_queue_used(const void *queue, uintptr_t caller);
/// An acquire of the lock of `object` is about to wait (or, for a try-lock, succeeded); returns LV_PT_*.
extern uint32_t lv_pthread_will_acquire(void *object, uint32_t how, uintptr_t caller);
/// A waiting acquire of the lock of `object` took it at once (`how` is LV_PT_EXCLUSIVE or LV_PT_SHARED):
/// lv_pthread_will_acquire and lv_pthread_did_acquire in one; returns LV_PT_*.
extern uint32_t lv_pthread_took(void *object, uint32_t how, uintptr_t caller);
/// The acquire of `object` took the lock, after waiting `wait_cycles` TSC cycles for another holder (0: it
/// did not find the lock held), which lock_stat counts as a contention.
extern void lv_pthread_did_acquire(void *object, uintptr_t caller, uint64_t wait_cycles);
/// The acquire of `object` recorded by lv_pthread_will_acquire did not take the lock (a timeout, an error).
extern void lv_pthread_acquire_failed(void *object);
/// The lock of `object` is about to be released; returns LV_PT_PROCEED or LV_PT_SKIP.
extern uint32_t lv_pthread_will_release(void *object, uintptr_t caller);
/// The lock of `object` is destroyed (or its memory initialised again): reports a held lock, and
/// releases `object`.
extern void lv_pthread_lock_destroyed(void *object);
/// The lock of `object` is being destroyed: when another thread holds it, reports that and returns 1 (the
/// table keeps the object for the holder's unlock); else 0.
extern int lv_pthread_lock_destroyed_while_held_elsewhere(void *object);
/// `name` (a C library function that may block) was called from `caller` while the thread holds a spin
/// lock or runs above APC_LEVEL: reports `blocking-while-held`.
extern void lv_blocking_call_made(const char *name, uintptr_t caller);
/// Runs once, the first time an interposed call can be validated: installs the validator's side.
/// Returns 0 to leave interposition off.
extern int lv_pthread_install(void);

struct lv_deadlock_member;

/// The instance number of the lock of `object` (its held entries carry it), for the deadlock watchdog.
extern uint64_t lv_pthread_lock_instance(void *object);
/// Reports the deadlock of `members` (the calling thread first, each waiting for a lock the next one
/// holds), writes the report and ends the process.
extern void lv_pthread_deadlock(const struct lv_deadlock_member *members, uint32_t count);
/// The same for threads blocked in `sync` onto serial queues, found by the queue monitor (no member is
/// the calling thread).
extern void lv_dispatch_deadlock(const struct lv_deadlock_member *members, uint32_t count);

// Scopes carried to new threads, dispatched work and tasks. A token is a retained `ViolationScope`.

/// The scope of the running task, inherited from the code that created it (Task.detached), as a token;
/// NULL when it has none (or no task runs).
void *lv_scope_of_current_task(void);

// Implemented by LockValidatorPthreads (Swift, `@_cdecl`); called with the thread marked inside the
// validator.

/// The calling code's scope (its task-local one, else its task's, else its thread's) as a token, for
/// work it starts; NULL when it is in none.
extern void *lv_scope_capture(void);
/// The same for a task being created; NULL also when the task inherits the creator's task-locals
/// (`inherits_locals`) and finds the scope there.
extern void *lv_scope_capture_for_task(int inherits_locals);
/// Makes the calling thread inherit the scope of `token` (NULL: none); returns the token of the one it
/// inherited before, to pass to lv_scope_restore.
extern void *lv_scope_enter(void *token);
/// Puts back the scope the calling thread inherited before lv_scope_enter, taking its token.
extern void lv_scope_restore(void *previous);
extern void lv_scope_retain(void *token);
extern void lv_scope_release(void *token);
/// A thread started in a scope returns from its start routine: its exit is checked in that scope.
extern void lv_scope_thread_returning(void);

// Happens-before through thread start and join (the verdicts on cycles: HappensBefore).

/// Before the calling thread starts another: a token holding the clock the new thread begins with
/// (NULL when the calling thread is not tracked); the caller's epoch ends here.
extern void *lv_hb_fork(void);
/// In the new thread, first: it begins with the clock of `token`, which it takes over.
extern void lv_hb_start(void *token);
/// A token lv_hb_start will not take (the thread was not created).
extern void lv_hb_discard(void *token);
/// The calling thread returns from its start routine: its clock is kept for the thread that joins it.
extern void lv_hb_exit(void);
/// The calling thread joined the thread `handle`.
extern void lv_hb_joined(uintptr_t handle);

#ifdef __cplusplus
}
#endif

#endif
