// C support for LockValidator: per-thread state in `__thread` storage, the TSC, the pause hint,
// thread ids and names, and stack capture through libunwind. Not API: everything here may change.
#ifndef LOCK_VALIDATOR_SHIMS_H
#define LOCK_VALIDATOR_SHIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Return addresses captured per stack.
#define LV_MAX_FRAMES 64
/// Held locks tracked per thread, as lockdep's MAX_LOCK_DEPTH.
#define LV_MAX_HELD 48
/// In-stack queued handles a thread can hold at once through `LockQueueHandle`.
#define LV_MAX_QUEUE_NODES 64

/// One entry of a thread's held-lock stack.
typedef struct lv_held_lock {
    uint64_t instance;      ///< the lock instance's serial (never reused)
    uint32_t lock_class;    ///< the lock class id
    uint8_t kind;           ///< how it was acquired (AcquireKind raw value)
    uint8_t irql;           ///< the IRQL the lock runs at (current IRQL right after the acquire)
    uint8_t flags;          ///< LV_HELD_* bits
    uint8_t nesting;        ///< declared nesting level (subclass)
    uint64_t acquired_tsc;  ///< TSC at acquire, 0 when not measured
    void *queue_node;       ///< the MCS node of a queued acquire
    const char *file;       ///< #fileID of the acquire call
    uint32_t line;          ///< #line of the acquire call
    uint32_t reserved;
    uint64_t chain_key;     ///< the thread's chain key before this entry was pushed
} lv_held_lock;

/// The entry stands for a recursive acquire that was reported and not performed.
#define LV_HELD_RECURSIVE 0x1
/// The entry was taken by a successful try-acquire: no lock-order edge leads into it.
#define LV_HELD_TRY 0x2

/// An MCS queue node; Swift binds this memory to its own node type with atomics.
typedef struct lv_queue_node {
    uintptr_t next;
    uintptr_t locked;
} lv_queue_node;

/// Everything one thread ("processor") keeps: IRQL, pended interrupts and DPCs, held locks.
typedef struct lv_thread_state {
    uint32_t serial;              ///< 0 until the thread is first seen, then a process-unique number
    uint8_t irql;                 ///< the current IRQL
    uint8_t delivering;           ///< pended work is being delivered (no re-entry)
    uint16_t depth;               ///< entries used in `held`
    uint32_t pending;             ///< bit n: work pended at IRQL n (interrupts at DIRQL, DPCs at 2)
    uint32_t overflow;            ///< acquires not tracked because `held` was full
    uint64_t chain_key;           ///< hash of the held classes in order (lockdep's chain key); 0 when none
    void *processor;              ///< retained Swift object holding pended work, or NULL
    uint64_t queue_nodes_in_use;  ///< bit i: queue_nodes[i] is lent to a LockQueueHandle
    lv_held_lock held[LV_MAX_HELD];
    lv_queue_node queue_nodes[LV_MAX_QUEUE_NODES];
    void *stack_scratch[LV_MAX_FRAMES];  ///< where stacks are captured before they are kept
} lv_thread_state;

extern __thread lv_thread_state lv_tls_state;

/// 0 when `LOCKVALIDATOR=off` (or the configuration says so): locks skip every check.
extern int lv_validation_enabled_flag;

/// Whether the checks run; one relaxed load.
static inline int lv_validation_enabled(void) { return __atomic_load_n(&lv_validation_enabled_flag, __ATOMIC_RELAXED); }

/// Turns the checks on or off.
static inline void lv_set_validation_enabled(int enabled) {
    __atomic_store_n(&lv_validation_enabled_flag, enabled, __ATOMIC_RELAXED);
}

/// This thread's state; about a nanosecond.
static inline lv_thread_state *lv_thread(void) { return &lv_tls_state; }

/// This thread's buffer for stack captures (LV_MAX_FRAMES entries).
static inline void **lv_stack_scratch(void) { return lv_tls_state.stack_scratch; }

/// The time-stamp counter.
static inline uint64_t lv_rdtsc(void) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#else
    uint64_t value;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#endif
}

/// The spin-wait hint (`pause` on x86, `yield` on ARM).
static inline void lv_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Gives up the processor (sched_yield).
void lv_yield(void);

/// The kernel thread id (gettid).
int64_t lv_os_thread_id(void);

/// Copies the thread's name into `buffer` (at least 16 bytes); returns 0 on success.
int lv_thread_name(char *buffer, size_t length);

/// Sets this thread's name (truncated to 15 bytes by the kernel); returns 0 on success.
int lv_set_thread_name(const char *name);

/// Captures up to `capacity` return addresses with libunwind's `unw_backtrace`, starting at the
/// caller's caller (the caller's own frame and libunwind's are dropped).
int lv_backtrace(void **buffer, int capacity);

/// Names the function containing `address` through libunwind (`.symtab` aware); returns 0 on success.
int lv_proc_name(uintptr_t address, char *buffer, size_t length, uintptr_t *offset);

/// Base address and path of the object file holding `address` (dladdr); returns 0 when found.
int lv_image_of(uintptr_t address, uintptr_t *base, const char **path);

/// Runs `file` (searched on PATH) with `argv`, its standard output captured into a malloc'd buffer
/// (`*output`, `*length`, NUL-terminated; free it) and its standard error discarded. Returns the exit
/// status, or -1 when it could not be started.
int lv_run_capturing_output(const char *file, char *const argv[], char **output, size_t *length);

/// 1 when the ELF file at `path` is position independent (addresses are relative to its load base),
/// 0 when it is a fixed-address executable, -1 when it cannot be read.
int lv_elf_is_position_independent(const char *path);

/// Called once per thread that registered itself, when it exits, with its state.
typedef void (*lv_thread_exit_hook)(lv_thread_state *state);

/// Arranges for `hook` (the same for every thread) to run when the calling thread exits; returns 0 on
/// success.
int lv_register_thread(lv_thread_exit_hook hook);

#ifdef __cplusplus
}
#endif

#endif
