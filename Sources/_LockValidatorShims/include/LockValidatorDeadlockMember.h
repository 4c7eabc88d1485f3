// What the pthread interposer's deadlock watchdog hands the validator about one thread of a wait-for
// cycle, in a header of its own (the interposer fills it, the engine reports it).
#ifndef LOCK_VALIDATOR_DEADLOCK_MEMBER_H
#define LOCK_VALIDATOR_DEADLOCK_MEMBER_H

/// How a thread waits for a lock.
enum {
    LV_WAIT_MUTEX = 0,  ///< pthread_mutex_lock, timedlock, clocklock
    LV_WAIT_READ = 1,   ///< pthread_rwlock_rdlock and its timed variants
    LV_WAIT_WRITE = 2,  ///< pthread_rwlock_wrlock and its timed variants
    LV_WAIT_SPIN = 3,   ///< pthread_spin_lock: it spins rather than sleeps
    LV_WAIT_QUEUE = 4,  ///< dispatch_sync onto a serial queue: waits for the thread running its block
    LV_WAIT_SWIFT_MUTEX = 5,  ///< a Synchronization.Mutex's `_lock` (the Mutex overlay): its word holds the owner
};

/// One thread of a deadlock: blocked in an interposed wait, and stopped for good (parked) by the time
/// the validator reads it, so its held stack no longer changes.
typedef struct lv_deadlock_member {
    lv_thread_state *state;   ///< its per-thread state, for its held locks
    uint32_t serial;          ///< its validator serial
    uint32_t how;             ///< LV_WAIT_*
    int64_t os_thread_id;     ///< its kernel thread id
    void *lock_object;        ///< the validator object of the lock it waits for
    uint64_t instance;        ///< that lock's instance (its pending held entry has it)
    uintptr_t caller;         ///< the return address of the interposed call
    uint64_t blocked_ns;      ///< how long it has been blocked
    uint64_t deadline_ns;     ///< for a wait with the program's own deadline: the time left, else 0
    uint32_t parked;          ///< 1 once it stopped for good (its held stack and `stack` can be read)
    int32_t stack_depth;      ///< frames in `stack`
    void *stack[LV_MAX_FRAMES];  ///< its stack while it waits
    /// For a wait the validator did not find on the waiting thread (a Dispatch `sync`): the scope the
    /// waiting code ran in (a token of lv_scope_capture, kept by the interposer), or NULL.
    void *scope;
} lv_deadlock_member;

#endif
