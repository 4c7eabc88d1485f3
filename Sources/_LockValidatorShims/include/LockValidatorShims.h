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
///
/// An entry is pushed before the thread waits for the lock (so a new lock order is checked before a
/// deadlock can happen, as lockdep does); `acquired_tsc` stays 0 until the lock is actually taken.
typedef struct lv_held_lock {
    uint64_t instance;      ///< the lock instance's serial (never reused)
    uint32_t lock_class;    ///< the lock class id (the nesting subclass's, when nested)
    uint8_t kind;           ///< how it was acquired (AcquireKind raw value)
    uint8_t irql;           ///< the IRQL the lock runs at (current IRQL right after the acquire)
    uint8_t flags;          ///< LV_HELD_* bits
    uint8_t nesting;        ///< declared nesting level (subclass)
    uint64_t acquired_tsc;  ///< TSC when the hold began; 0 while waiting for the lock, or not timed
    void *queue_node;       ///< the MCS node of a queued acquire
    const char *file;       ///< #fileID of the acquire call; "" when `line` is a code address
    uint64_t line;          ///< #line of the acquire call, or the return address of an interposed pthread call
    uint8_t deferred_irql;  ///< with LV_HELD_DEFERRED_IRQL: the IRQL an earlier out-of-order release owed
    uint8_t snapshot_switches;  ///< below `snapshot_own_below`: the low bits of the involuntary switches at the snapshot
    uint16_t snapshot_faults;  ///< below `snapshot_own_below`: the low bits of the page-fault count at the snapshot
    /// The class of `stat_line`, 0 for none: the thread's lock_stat line kept by an earlier release at this
    /// depth. A push leaves both alone, so a lock taken again at the same depth finds its line with no
    /// lookup (`lv_held_stat_line`); nonzero only beside a line of the thread's that is alive.
    uint32_t stat_class;
    uint64_t prev_chain_key;  ///< the thread's chain key before this entry was pushed; 0 starts a context
    /// Below the thread's `snapshot_own_below`: the (TSC, CPU time) snapshot the hold began under, kept
    /// when the thread took a newer one; above it the hold began under the thread's own snapshot.
    uint64_t snapshot_tsc;
    uint64_t snapshot_cpu_ns;
    uint64_t validator_cycles;  ///< the thread's validator_cycles at the acquire
    void *lock_object;      ///< the lock wrapper (unretained), to release it if the thread exits holding it
    uint64_t *stat_line;    ///< with `stat_class`: the thread's lock_stat line for that class
} lv_held_lock;

/// The entry stands for a recursive acquire that was reported and not performed.
#define LV_HELD_RECURSIVE 0x1
/// The entry was taken by a successful try-acquire: no lock-order edge leads into it.
#define LV_HELD_TRY 0x2
/// The entry's class is the overflow class past the class cap: no edge leads from or into it.
#define LV_HELD_UNTRACKED 0x4
/// Held for reading (shared with other readers).
#define LV_HELD_SHARED 0x8
/// Acquired as a recursive reader: it waits only for a writer, never behind other readers.
#define LV_HELD_RECURSIVE_READ 0x10
/// A second hold of a lock the thread already holds that is legal (a recursive read, a reentrant
/// lock): held, but it adds no edge and leaves the chain key alone.
#define LV_HELD_NESTED 0x20
/// `deferred_irql` holds the IRQL an out-of-order release below this entry could not lower to yet.
#define LV_HELD_DEFERRED_IRQL 0x40
/// The hold began while its class had a suspect site: exact snapshot, acquire stack kept until release.
#define LV_HELD_TRACED 0x80

/// In an entry's `nesting` byte: the hold is its lock instance's first (the one-shot hold-time rule's). Set by
/// the Swift acquire that first holds an instance (never a fast path: an instance's first acquire is never
/// one), and the byte is written whole by every push, so no older hold's mark stays behind.
#define LV_NESTING_FIRST_HOLD 0x80
#define LV_NESTING_LEVEL 0x7f

/// A thread's table of its lock_stat lines: a directory of leaves of line pointers by class id, made on
/// first use; class ids from LV_STAT_DIRECTORY_SIZE * LV_STAT_LEAF_SIZE on are not in it (the Swift steps
/// find their lines). A held entry keeps the line it last used (`stat_class`, `stat_line`).
#define LV_STAT_LEAF_SIZE 512
#define LV_STAT_DIRECTORY_SIZE 512

/// An MCS queue node; Swift binds this memory to its own node type with atomics.
typedef struct lv_queue_node {
    uintptr_t next;
    uintptr_t locked;
} lv_queue_node;

/// Everything one thread ("processor") keeps: IRQL, pended interrupts and DPCs, held locks.
typedef struct lv_thread_state {
    uint32_t serial;              ///< 0 until the thread is first seen, then a process-unique number
    // `irql`, `delivering` and `spin_holds` make one 32-bit word, which an interposed call that may
    // block reads in one load (lv_must_not_block).
    uint8_t irql;                 ///< the current IRQL
    uint8_t delivering;           ///< pended work is being delivered (no re-entry)
    uint16_t spin_holds;          ///< entries in `held` of a spin lock (any kind but annotated)
    uint32_t pending;             ///< bit n: work pended at IRQL n (interrupts at DIRQL, DPCs at 2)
    uint32_t overflow;            ///< acquires not tracked because `held` was full
    /// Entries below this index carry the snapshot their hold began under; the rest began under the
    /// thread's current one. A refresh copies the old snapshot into the entries that need it, so an
    /// acquire copies none.
    uint16_t snapshot_own_below;
    uint16_t depth;               ///< entries used in `held`
    uint64_t chain_key;           ///< hash of the held classes in order (lockdep's chain key); 0 when none
    void *processor;              ///< retained Swift object holding pended work, or NULL
    uint64_t queue_nodes_in_use;  ///< bit i: queue_nodes[i] is lent to a LockQueueHandle
    lv_held_lock held[LV_MAX_HELD];
    lv_queue_node queue_nodes[LV_MAX_QUEUE_NODES];
    void *stack_scratch[LV_MAX_FRAMES];  ///< where stacks are captured before they are kept
    uint64_t validator_cycles;    ///< TSC cycles this thread spent in validator slow paths, in all
    uint64_t snapshot_tsc;        ///< when the thread's CPU time was last read (TSC)
    uint64_t snapshot_cpu_ns;     ///< the thread's CPU time then
    uint64_t snapshot_validator_cycles;  ///< validator_cycles then: a slow path since makes it stale
    uint8_t exit_checked;         ///< thread exit was checked (by ProcessorThread) already
    uint8_t waiting_reported;     ///< this thread's long wait has been noted
    uint16_t untracked_annotated; ///< annotated holds taken while `held` was full, not yet released
    uint32_t waiting_owner;       ///< serial of the thread holding the lock this one spins on, 0 if none
    uint64_t waiting_instance;    ///< the lock instance this thread spins on, 0 if none
    uint32_t waiting_class;       ///< its class
    uint32_t waiting_line;        ///< the acquire's #line
    const char *waiting_file;     ///< the acquire's #fileID
    uint64_t waiting_since_tsc;   ///< when the spin began
    uint64_t waiting_excused_base;  ///< the validator's reporting time (SpinWatchdog) when the spin began
    uint32_t parked;              ///< 1 once this thread stopped for a firing watchdog (it never runs on)
    uint32_t snapshot_faults;     ///< the thread's page faults (minor and major) at the snapshot
    int32_t waiting_stack_depth;  ///< frames in waiting_stack, captured once the wait is long
    void *waiting_stack[LV_MAX_FRAMES];
    uint32_t inside_validator;    ///< > 0 while the validator runs on this thread: pthread calls are not tracked
    uint32_t snapshot_major_faults;          ///< the thread's major page faults at the snapshot
    uint32_t snapshot_involuntary_switches;  ///< the thread's involuntary context switches at the snapshot
    uint64_t snapshot_system_ns;  ///< the thread's system time at the snapshot, as the kernel accounts it
    /// Mixed into an outermost hold's chain key (0 for none): each thread, and each of its happens-before
    /// epochs (a thread start or join since), validates a chain once, so that the verdicts on cycles
    /// learn every thread and epoch that takes an edge. Changed only by HappensBefore.
    uint64_t chain_seed;
    uint32_t hb_epoch;            ///< the thread's own entry of its vector clock (HappensBefore), 0 if none
    /// 1 once the thread's exit hook folded its lock_stat lines into their classes' totals: a hold after
    /// that (another key's destructor) counts in a line folded at once, and no table is made again.
    uint32_t stat_exited;
    /// Every lock_stat line of the thread (LockStatisticsArena) by class id (LV_STAT_LEAF_SIZE a leaf), or
    /// NULL: a hold's counters go to a line per (thread, class), not per lock instance, so a lock costs no
    /// statistics.
    uint64_t ***stat_directory;
} lv_thread_state;

/// `thread`'s lock_stat line for class `class_id`, from its table; NULL when the thread has none yet (the
/// Swift steps make it: `lv_stat_table_insert`). Only `thread` reads and writes its table.
static inline __attribute__((always_inline)) uint64_t *lv_stat_line(lv_thread_state *thread, uint32_t class_id) {
    uint64_t ***directory = thread->stat_directory;
    uint32_t leaf_index = class_id / LV_STAT_LEAF_SIZE;
    if (directory == NULL || leaf_index >= LV_STAT_DIRECTORY_SIZE || directory[leaf_index] == NULL) return NULL;
    return directory[leaf_index][class_id % LV_STAT_LEAF_SIZE];
}

/// `lv_held_stat_line` when the entry kept another class's line: out of line, so that the fast paths that
/// inline the rest stay small (and inlined where they are called).
uint64_t *lv_held_stat_line_found(lv_thread_state *thread, lv_held_lock *entry, uint32_t class_id);

/// `thread`'s lock_stat line for the hold `entry` (on its held stack) of class `class_id`: the one the entry
/// kept from an earlier hold of the class at its depth, else `lv_stat_line`'s (kept in the entry); NULL when
/// the thread has none yet. A lock taken and released at one depth, or a chain taken again, finds it with a
/// compare and a load.
static inline __attribute__((always_inline)) uint64_t *lv_held_stat_line(lv_thread_state *thread,
                                                                        lv_held_lock *entry, uint32_t class_id) {
    if (__builtin_expect(entry->stat_class == class_id, 1)) return entry->stat_line;
    return lv_held_stat_line_found(thread, entry, class_id);
}

/// Keeps `line` as `thread`'s line for class `class_id`, in its table (when the id fits).
void lv_stat_table_insert(lv_thread_state *thread, uint32_t class_id, uint64_t *line);

/// Frees `thread`'s table and empties its held entries' lines (its lines are being freed: it is exiting).
void lv_stat_table_free(lv_thread_state *thread);


extern __thread lv_thread_state lv_tls_state;

/// 0 when `LOCKVALIDATOR=off` (or the configuration says so): locks skip every check. Otherwise the
/// validator's generation, 1 to LV_GENERATION_LAST, which `LockValidator.reset()` advances: a spin lock's
/// fast acquire compares it with the generation of the instance's last first hold (`LockTracking.heldBefore`),
/// in the compare that tests it for 0, so that a lock's first hold since a reset takes the Swift steps,
/// which mark it (`LV_NESTING_FIRST_HOLD`).
extern int lv_validation_enabled_flag;
/// The generation the checks run in when on (`lv_validation_enabled_flag`'s value then).
extern int lv_validation_generation;
/// The last generation; `LockTracking.heldBefore` is one more (0xffff) for an instance never held.
#define LV_GENERATION_LAST 0xfffe

/// Whether the checks run; one relaxed load.
static inline __attribute__((always_inline)) int lv_validation_enabled(void) {
    return __atomic_load_n(&lv_validation_enabled_flag, __ATOMIC_RELAXED);
}

/// Turns the checks on or off.
static inline void lv_set_validation_enabled(int enabled) {
    __atomic_store_n(&lv_validation_enabled_flag,
                     enabled ? __atomic_load_n(&lv_validation_generation, __ATOMIC_RELAXED) : 0, __ATOMIC_RELAXED);
}

/// Starts a new generation (`LockValidator.reset()`): every lock's next hold is its first again.
void lv_advance_generation(void);

/// Asks for the cache line at `address` ahead of its use, for writing; never faults, so a stale
/// address costs only the line.
static inline void lv_prefetch(uintptr_t address) { __builtin_prefetch((const void *)address, 1, 3); }

/// Grows the anonymous mapping at `address` from `old_size` to `new_size` bytes, moving it if it must
/// (`mremap`, which Swift cannot call: it is variadic): the pages move, nothing is copied and nothing is left
/// behind. NULL when the kernel refuses.
void *lv_remap(void *address, size_t old_size, size_t new_size);

/// This thread's state; about a nanosecond.
static inline __attribute__((always_inline)) lv_thread_state *lv_thread(void) { return &lv_tls_state; }

_Static_assert(offsetof(lv_thread_state, irql) % 4 == 0 &&
                   offsetof(lv_thread_state, spin_holds) == offsetof(lv_thread_state, irql) + 2,
               "irql, delivering and spin_holds make one aligned word");

/// Whether the calling thread must not block (Linux's might_sleep context): it holds a spin lock, or
/// runs above APC_LEVEL. One load of the word `irql` starts: the IRQL in its low byte, `spin_holds` in
/// its high half, `delivering` masked out. Registered or not, a thread reads zeros until it holds one.
static inline int lv_must_not_block(void) {
    uint32_t word;
    __builtin_memcpy(&word, &lv_tls_state.irql, sizeof word);
    return (word & 0xFFFF00FFu) > 1;  // 1: APC_LEVEL
}

#include "LockValidatorHeldEntry.h"
#include "LockValidatorDeadlockMember.h"


/// Marks the calling thread as running validator code (nested calls count): pthread locks it takes
/// meanwhile — the validator's own, the Swift runtime's, libunwind's — are passed straight through by
/// LockValidatorPthreads instead of being validated, which would re-enter the validator.
static inline __attribute__((always_inline)) void lv_enter_validator(void) { lv_tls_state.inside_validator++; }
static inline __attribute__((always_inline)) void lv_leave_validator(void) { lv_tls_state.inside_validator--; }
static inline __attribute__((always_inline)) int lv_inside_validator(void) {
    return lv_tls_state.inside_validator != 0;
}

/// The TSC cycles a hold may last before the release checks it: UINT64_MAX for none (until calibrated), never
/// 0, so that the release's check is one comparison.
extern uint64_t lv_hold_budget_cycles_value;
static inline uint64_t lv_hold_budget_cycles(void) {
    return __atomic_load_n(&lv_hold_budget_cycles_value, __ATOMIC_RELAXED);
}
static inline void lv_set_hold_budget_cycles(uint64_t cycles) {
    __atomic_store_n(&lv_hold_budget_cycles_value, cycles != 0 ? cycles : UINT64_MAX, __ATOMIC_RELAXED);
}

/// TSC cycles a spin wait may last before it is a spin-timeout (UINT64_MAX until configured).
extern uint64_t lv_spin_timeout_cycles_value;
static inline uint64_t lv_spin_timeout_cycles(void) {
    return __atomic_load_n(&lv_spin_timeout_cycles_value, __ATOMIC_RELAXED);
}
static inline void lv_set_spin_timeout_cycles(uint64_t cycles) {
    __atomic_store_n(&lv_spin_timeout_cycles_value, cycles, __ATOMIC_RELAXED);
}

/// TSC cycles after which a thread's CPU-time snapshot is refreshed at its next acquire.
extern uint64_t lv_snapshot_refresh_cycles_value;
static inline uint64_t lv_snapshot_refresh_cycles(void) {
    return __atomic_load_n(&lv_snapshot_refresh_cycles_value, __ATOMIC_RELAXED);
}
static inline void lv_set_snapshot_refresh_cycles(uint64_t cycles) {
    __atomic_store_n(&lv_snapshot_refresh_cycles_value, cycles, __ATOMIC_RELAXED);
}

/// The calling thread's CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID; a system call).
uint64_t lv_thread_cpu_ns(void);
/// What `getrusage(RUSAGE_THREAD)` says of the calling thread: the evidence of a long hold's page faults.
typedef struct lv_thread_usage {
    uint32_t faults;                ///< page faults, minor and major
    uint32_t major_faults;          ///< of which major (the page was read from storage)
    uint32_t involuntary_switches;  ///< times the scheduler took the CPU away
    uint32_t reserved;
    uint64_t system_ns;  ///< system time; exact only on kernels that account CPU time at each kernel entry
} lv_thread_usage;

/// The calling thread's usage so far (all zero if `getrusage` fails).
lv_thread_usage lv_thread_usage_now(void);

/// CLOCK_MONOTONIC_RAW in nanoseconds.
uint64_t lv_monotonic_ns(void);

/// Relaxed atomic access to fields other threads read (the watchdog reads a waiting thread's state).
static inline void lv_store_relaxed_u64(uint64_t *field, uint64_t value) {
    __atomic_store_n(field, value, __ATOMIC_RELAXED);
}
static inline uint64_t lv_load_relaxed_u64(const uint64_t *field) { return __atomic_load_n(field, __ATOMIC_RELAXED); }
static inline void lv_store_relaxed_u32(uint32_t *field, uint32_t value) {
    __atomic_store_n(field, value, __ATOMIC_RELAXED);
}
static inline uint32_t lv_load_relaxed_u32(const uint32_t *field) { return __atomic_load_n(field, __ATOMIC_RELAXED); }
/// Release / acquire pairs: what a thread wrote before the store is visible to a thread after the load.
static inline void lv_store_release_u32(uint32_t *field, uint32_t value) {
    __atomic_store_n(field, value, __ATOMIC_RELEASE);
}
static inline uint32_t lv_load_acquire_u32(const uint32_t *field) { return __atomic_load_n(field, __ATOMIC_ACQUIRE); }

/// This thread's buffer for stack captures (LV_MAX_FRAMES entries).
static inline void **lv_stack_scratch(void) { return lv_tls_state.stack_scratch; }

/// The time-stamp counter.
static inline __attribute__((always_inline)) uint64_t lv_rdtsc(void) {
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
/// The kernel thread id of the thread this thread's state was registered for (0 before): another one
/// is a task cloned without a thread of its own (the Swift crash handler's memory server), sharing it.
int64_t lv_registered_os_thread_id(void);

/// Copies the thread's name into `buffer` (at least 16 bytes); returns 0 on success.
int lv_thread_name(char *buffer, size_t length);

/// Copies the name of the thread with pthread handle `handle` (a `pthread_t`) into `buffer`.
int lv_thread_name_of(uintptr_t handle, char *buffer, size_t length);

/// The calling thread's pthread handle.
uintptr_t lv_thread_handle(void);

/// Sets this thread's name (truncated to 15 bytes by the kernel); returns 0 on success.
int lv_set_thread_name(const char *name);

/// Captures up to `capacity` return addresses, starting at the caller's caller (the caller's own
/// frame is dropped). Frame pointers are followed while each function on the way keeps one (checked
/// once per return address, from its prologue); libunwind unwinds on from the first that does not,
/// so the stack is the one `lv_unwind_backtrace` gives, in a fraction of the time.
int lv_backtrace(void **buffer, int capacity);

/// `lv_backtrace` by libunwind alone (`unw_backtrace`): the reference the tests compare it with.
int lv_unwind_backtrace(void **buffer, int capacity);

/// Whether the function containing return address `address` keeps a frame pointer (its prologue is
/// `push rbp; mov rbp, rsp`), as `lv_backtrace` decides it: 1, 0, or -1 when undecided (its start
/// unknown, or no room left to keep the answer: libunwind takes over there).
int lv_keeps_frame_pointer(uintptr_t address);

/// The image (executable or library) holding `address`: its load bias (`address - bias` is the address in
/// its file, what `llvm-symbolizer --obj` takes) and absolute path, valid for the life of the process;
/// returns 0 when found, -1 for an address in no image (the heap, a stack).
int lv_image_of(uintptr_t address, uintptr_t *bias, const char **path);

/// The GNU build id of the image holding `address`, in hex ("" when it has none); NULL when in no image.
const char *lv_image_build_id(uintptr_t address);

/// The GNU build id of the ELF file at `path`, in hex into `hex` (129 bytes; "" when it has none): what
/// tells whether a file is still the one a report's process ran. 0, or -1 when it is no ELF file.
int lv_file_build_id(const char *path, char *hex);

/// The symbol covering `address` in its image's symbol table (`.symtab`, else `.dynsym`): a function
/// when `function` is 1, a variable when 0; its (mangled) name, valid for the life of the process, and
/// its start address. Returns 0 when found, -1 when no symbol covers it (a stripped library's internal
/// function past the end of the export before it is covered by none).
int lv_symbol_covering(uintptr_t address, int function, const char **name, uintptr_t *start);

/// Asks a long-running `llvm-symbolizer` (started on first use, one per process; a forked child
/// starts its own) about `lines` addresses: `request` is one `"<object file>" 0x<address>` line per
/// address, the answer one JSON line each (a malloc'd, NUL-terminated buffer; free it). Returns 0, or
/// -1 when no symbolizer is on PATH, it died, or it did not answer within `timeout_ms`: from then on
/// every call fails at once (names come from the symbol table alone). Calls must be serialised.
int lv_symbolizer_ask(const char *request, size_t length, int lines, int timeout_ms, char **answer,
                      size_t *answer_length);

/// The C++ demangling of `mangled` (`_ZN…`), malloc'd (free it), or NULL when it is not one.
char *lv_cxx_demangle(const char *mangled);


/// Called once per thread that registered itself, when it exits, with its state.
typedef void (*lv_thread_exit_hook)(lv_thread_state *state);

/// Arranges for `hook` (the same for every thread) to run when the calling thread exits; returns 0 on
/// success.
int lv_register_thread(lv_thread_exit_hook hook);

/// Run once when the process exits.
typedef void (*lv_process_exit_hook)(void);

/// Sets the hook the process-exit handler runs. The handler itself is registered with `atexit` when
/// the program starts, so it runs after every exit handler registered later (a test runner's, a
/// library's): the report it writes and the status it sets come last.
void lv_set_process_exit_hook(lv_process_exit_hook hook);

/// Flushes every stdio stream, then ends the process with `status` at once (`_exit`): for an exit
/// handler that must change the exit status without losing buffered output.
void lv_flush_and_exit(int status) __attribute__((noreturn));

#include "LockValidatorAnnotatedFastPath.h"

#ifdef __cplusplus
}
#endif

#endif
