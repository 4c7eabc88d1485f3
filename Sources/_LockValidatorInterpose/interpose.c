// Interposed pthread lock functions. Each one asks the validator (LockValidatorPthreads, in Swift)
// before and after calling the C library's own, unless the calling thread is inside the validator
// already (its own locks, the Swift runtime's, libunwind's are passed straight through), interposition
// is off, or the process has not reached this library's constructor yet.
#define _GNU_SOURCE
#include "LockValidatorInterpose.h"
#include "LockValidatorShims.h"
#include "blocking_calls.h"
#include "deadlock_watchdog.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

// MARK: The C library's functions

static struct {
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_trylock)(pthread_mutex_t *);
    int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
    int (*mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*mutex_destroy)(pthread_mutex_t *);
    int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
    int (*rwlock_rdlock)(pthread_rwlock_t *);
    int (*rwlock_wrlock)(pthread_rwlock_t *);
    int (*rwlock_tryrdlock)(pthread_rwlock_t *);
    int (*rwlock_trywrlock)(pthread_rwlock_t *);
    int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
    int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t, const struct timespec *);
    int (*rwlock_unlock)(pthread_rwlock_t *);
    int (*rwlock_destroy)(pthread_rwlock_t *);
    int (*spin_init)(pthread_spinlock_t *, int);
    int (*spin_lock)(pthread_spinlock_t *);
    int (*spin_trylock)(pthread_spinlock_t *);
    int (*spin_unlock)(pthread_spinlock_t *);
    int (*spin_destroy)(pthread_spinlock_t *);
    int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
    int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
    int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
} real;

static void *next_symbol(const char *name) {
    void *found = dlsym(RTLD_NEXT, name);
    if (!found) {
        fprintf(stderr, "LockValidatorPthreads: %s not found in the C library\n", name);
        abort();
    }
    return found;
}

// The condition functions have two versions in glibc; a plain dlsym finds the old one (2.2.5), whose
// condition variables are another layout. Ask for the current one by name first.
static void *next_condition_symbol(const char *name) {
    static const char *const versions[] = {"GLIBC_2.3.2", "GLIBC_2.17", "GLIBC_2.34"};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        void *found = dlvsym(RTLD_NEXT, name, versions[i]);
        if (found) return found;
    }
    return next_symbol(name);
}

#define RESOLVE(field, name) __atomic_store_n(&real.field, (__typeof__(real.field))next_symbol(name), __ATOMIC_RELAXED)

static void resolve_real_functions(void) {
    RESOLVE(mutex_init, "pthread_mutex_init");
    RESOLVE(mutex_lock, "pthread_mutex_lock");
    RESOLVE(mutex_trylock, "pthread_mutex_trylock");
    RESOLVE(mutex_timedlock, "pthread_mutex_timedlock");
    RESOLVE(mutex_clocklock, "pthread_mutex_clocklock");
    RESOLVE(mutex_unlock, "pthread_mutex_unlock");
    RESOLVE(mutex_destroy, "pthread_mutex_destroy");
    RESOLVE(rwlock_init, "pthread_rwlock_init");
    RESOLVE(rwlock_rdlock, "pthread_rwlock_rdlock");
    RESOLVE(rwlock_wrlock, "pthread_rwlock_wrlock");
    RESOLVE(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
    RESOLVE(rwlock_trywrlock, "pthread_rwlock_trywrlock");
    RESOLVE(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
    RESOLVE(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
    RESOLVE(rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
    RESOLVE(rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
    RESOLVE(rwlock_unlock, "pthread_rwlock_unlock");
    RESOLVE(rwlock_destroy, "pthread_rwlock_destroy");
    RESOLVE(spin_init, "pthread_spin_init");
    RESOLVE(spin_lock, "pthread_spin_lock");
    RESOLVE(spin_trylock, "pthread_spin_trylock");
    RESOLVE(spin_unlock, "pthread_spin_unlock");
    RESOLVE(spin_destroy, "pthread_spin_destroy");
    __atomic_store_n(&real.cond_wait, next_condition_symbol("pthread_cond_wait"), __ATOMIC_RELAXED);
    __atomic_store_n(&real.cond_timedwait, next_condition_symbol("pthread_cond_timedwait"), __ATOMIC_RELAXED);
    __atomic_store_n(&real.cond_clockwait, next_symbol("pthread_cond_clockwait"), __ATOMIC_RELAXED);
}

// Before this library's constructor (another library's constructor may lock first), resolve on demand.
#define REAL(field) \
    (__builtin_expect(__atomic_load_n(&real.field, __ATOMIC_RELAXED) == NULL, 0) ? resolve_real_functions() : (void)0, \
     real.field)

// MARK: State

enum { NOT_STARTED = 0, ACTIVE = 1, OFF = 2 };
static int interposer_state = NOT_STARTED;

int lv_pthreads_active(void) { return __atomic_load_n(&interposer_state, __ATOMIC_RELAXED) == ACTIVE; }

/// The calling thread's state when this call is validated, else NULL: the lock and unlock paths reach the
/// thread-local state once (a call to __tls_get_addr in a shared library). The hot helpers here are always
/// inlined, even in an unoptimised build.
__attribute__((always_inline)) static inline lv_thread_state *validating_thread(void) {
    if (!(__builtin_expect(__atomic_load_n(&interposer_state, __ATOMIC_RELAXED) == ACTIVE, 1) &&
          lv_validation_enabled())) {
        return NULL;
    }
    lv_thread_state *thread = lv_thread();
    return thread->inside_validator == 0 ? thread : NULL;
}

/// Whether this call is validated.
__attribute__((always_inline)) static inline int validating(void) { return validating_thread() != NULL; }

// MARK: Runtime code, whose locks are passed through

// The Swift runtime takes its own locks while it builds metadata, and the validator (Swift) may need
// metadata: a runtime lock validated would call back into the runtime under that lock and deadlock.
// Locks the runtime (or Dispatch) creates or first takes are left untracked, as TSan ignores
// uninstrumented modules.
#define MAX_RUNTIME_RANGES 64
static struct { uintptr_t start, end; } runtime_ranges[MAX_RUNTIME_RANGES];
static int runtime_range_count;

static int is_runtime_library(const char *path) {
    const char *file = strrchr(path, '/');
    file = file ? file + 1 : path;
    return strncmp(file, "libswift", 8) == 0 || strncmp(file, "libdispatch", 11) == 0 ||
           strncmp(file, "libBlocksRuntime", 16) == 0 || strncmp(file, "libunwind", 9) == 0;
}

static int note_runtime_library(struct dl_phdr_info *info, size_t size, void *unused) {
    (void)size;
    (void)unused;
    if (!info->dlpi_name || !is_runtime_library(info->dlpi_name)) return 0;
    for (int i = 0; i < info->dlpi_phnum && runtime_range_count < MAX_RUNTIME_RANGES; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        runtime_ranges[runtime_range_count].start = start;
        runtime_ranges[runtime_range_count].end = start + segment->p_memsz;
        runtime_range_count++;
    }
    return 0;
}

static int called_from_runtime(uintptr_t caller) {
    for (int i = 0; i < runtime_range_count; i++) {
        if (caller >= runtime_ranges[i].start && caller < runtime_ranges[i].end) return 1;
    }
    return 0;
}

int lv_called_from_runtime(uintptr_t caller) { return called_from_runtime(caller); }

// A child forked from a threaded process may find one of the validator's own locks held by a thread
// that does not exist in it: it locks on, unvalidated (TSan's die_after_fork names the same hazard).
static void stop_in_forked_child(void) { __atomic_store_n(&interposer_state, OFF, __ATOMIC_RELAXED); }

/// The table's mark for a lock that is left untracked.
#define UNTRACKED LV_PT_UNTRACKED

/// Whether an on/off setting says `off` (in any case, white space around it ignored, as the validator's
/// configuration reads it).
static int setting_is_off(const char *setting) {
    if (setting == NULL) return 0;
    while (isspace((unsigned char)*setting)) setting++;
    if (strncasecmp(setting, "off", 3) != 0) return 0;
    setting += 3;
    while (isspace((unsigned char)*setting)) setting++;
    return *setting == 0;
}

// Resolves the C library's functions, notes the runtime's code, reads LOCKVALIDATOR_PTHREADS and installs
// the validator's side. The default priority, so that it runs after the image's Swift metadata is
// registered (swiftrt's constructor comes first in link order): the validator's side is Swift.
__attribute__((constructor)) static void start_interposer(void) {
    resolve_real_functions();
    lv_blocking_calls_resolve();
    dl_iterate_phdr(note_runtime_library, NULL);
    // Only `off` turns interposition off: a typo must not switch a check off. The validator's configuration
    // reports a value that is neither on nor off, in one line, when it is read.
    if (setting_is_off(getenv("LOCKVALIDATOR_PTHREADS"))) {
        __atomic_store_n(&interposer_state, OFF, __ATOMIC_RELAXED);
        return;
    }
    pthread_atfork(NULL, NULL, stop_in_forked_child);
    lv_enter_validator();
    int installed = lv_pthread_install();
    lv_leave_validator();
    __atomic_store_n(&interposer_state, installed ? ACTIVE : OFF, __ATOMIC_RELEASE);
}

// MARK: The lock table: lock address -> validator object

// Open addressing with linear probing. Lookups take no lock; inserts and removals take `table_lock` and
// remove by shifting entries back, so a lookup racing with one may miss, and a miss looks again under the
// lock before creating anything.
//
// The table grows: it starts at 2^12 slots (64 KB) and doubles at three quarters load, up to 2^20 (16 MB,
// 786,432 locks), so that a program's few locks do not cost it the whole table's pages (a fixed 16 MB,
// touched by hashed slots: 167 bytes a lock at 100,000 locks). A table is a mapping of its own whose
// first slot holds its mask (so that a lookup reads the table and its size from one pointer, never a
// mismatched pair); a replaced one is emptied with madvise(MADV_DONTNEED) and stays mapped, reading as
// zeros, as the chain cache's do: a lookup still probing it misses, sees that the table changed, and
// looks again in the current one. The cost of the old tables is address space only (less than the
// current one's).
#define TABLE_FIRST_BITS 12
#define TABLE_MAX_BITS 20

typedef struct {
    uintptr_t key;
    void *object;
} table_slot;

/// The table before the first insert (or when no table could be mapped): one empty slot, mask 0, so that
/// a lookup needs no test for a missing table.
static table_slot empty_table[2];
static table_slot *table = &empty_table[1];  // the current table's slots; its mask is in table[-1].key
static uint32_t table_count;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;  // locked through `real`, never validated
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/// A new, empty table of 2^bits slots, or NULL.
static table_slot *map_table(uint32_t bits) {
    size_t slots = (size_t)1 << bits;
    void *memory =
        mmap(NULL, sizeof(table_slot) * (slots + 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return NULL;
    table_slot *table = (table_slot *)memory + 1;
    table[-1].key = slots - 1;
    return table;
}

static void make_table(void) {
    table_slot *made = map_table(TABLE_FIRST_BITS);
    if (made) __atomic_store_n(&table, made, __ATOMIC_RELEASE);
}

/// The home slot of `key` in a table of mask `mask`: the multiplicative hash's bits from 32 on, which an
/// immediate shift reaches (a table's size is at most 2^32).
__attribute__((always_inline)) static inline uintptr_t slot_of(uintptr_t key, uintptr_t mask) {
    return (uintptr_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/// The object of `key`, or NULL. The common case (a hit) costs what a table of one fixed size did: the
/// mask's load and `and` replace the test for a missing table. No call on the way (a miss looks again in
/// a loop): a call would keep more registers, which the interposed function saves on its every call.
__attribute__((always_inline)) static inline void *table_lookup(uintptr_t key) {
    table_slot *slots = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
    uintptr_t hash = (uintptr_t)((key * 0x9E3779B97F4A7C15ull) >> 32);
    for (;;) {
        // Written before the table was published; 0 in a replaced table (emptied): one probe, then a look
        // again.
        uintptr_t mask = slots[-1].key;
        uintptr_t i = hash & mask;
        for (;;) {
            uintptr_t found = __atomic_load_n(&slots[i].key, __ATOMIC_ACQUIRE);
            if (__builtin_expect(found == key, 1)) {
                void *object = __atomic_load_n(&slots[i].object, __ATOMIC_ACQUIRE);
                // A removal may have moved another entry here meanwhile.
                if (__atomic_load_n(&slots[i].key, __ATOMIC_ACQUIRE) == key) return object;
                break;
            }
            if (found == 0) break;
            i = (i + 1) & mask;
        }
        // A miss: in the current table, the answer; in a replaced one (grown meanwhile), none yet.
        table_slot *current = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
        if (__builtin_expect(current == slots, 1)) return NULL;
        slots = current;
    }
}

static void table_lock_acquire(void) {
    pthread_once(&table_once, make_table);
    REAL(mutex_lock)(&table_lock);
}

static void table_lock_release(void) { REAL(mutex_unlock)(&table_lock); }

/// With table_lock held: the slot holding `key` in `slots`, or the empty slot ending its probe.
static uintptr_t locked_find_in(table_slot *slots, uintptr_t key) {
    uintptr_t mask = slots[-1].key;
    uintptr_t i = slot_of(key, mask);
    while (slots[i].key != 0 && slots[i].key != key) i = (i + 1) & mask;
    return i;
}

static uintptr_t locked_find(uintptr_t key) { return locked_find_in(table, key); }

/// With table_lock held: doubles the table when one more entry would pass three quarters of it; false
/// when it cannot (at 2^TABLE_MAX_BITS slots, or out of memory) and it is that full.
static int locked_make_room(void) {
    uintptr_t size = table[-1].key + 1;
    if (table_count < size / 4 * 3) return 1;
    if (size >= ((uintptr_t)1 << TABLE_MAX_BITS)) return 0;
    uint32_t bits = (uint32_t)__builtin_ctzll(size) + 1;
    table_slot *grown = map_table(bits);
    if (!grown) return 0;
    for (uintptr_t i = 0; i < size; i++) {
        if (table[i].key == 0) continue;
        grown[locked_find_in(grown, table[i].key)] = table[i];
    }
    table_slot *old = table;
    __atomic_store_n(&table, grown, __ATOMIC_RELEASE);
    if (old != &empty_table[1]) madvise(old - 1, sizeof(table_slot) * (size + 1), MADV_DONTNEED);
    return 1;
}

/// Enters `object` for `key`. An entry for `key` already there is replaced (and returned) when `replace`
/// is set, else kept (and returned); `object` itself is returned when the table is full.
static void *table_insert(uintptr_t key, void *object, int replace) {
    table_lock_acquire();
    void *replaced = object;
    uintptr_t i = locked_find(key);
    if (table[i].key == key) {
        replaced = table[i].object;
        if (replace) __atomic_store_n(&table[i].object, object, __ATOMIC_RELEASE);
    } else if (locked_make_room()) {
        i = locked_find(key);  // the table may have grown
        table_count++;
        __atomic_store_n(&table[i].object, object, __ATOMIC_RELEASE);
        __atomic_store_n(&table[i].key, key, __ATOMIC_RELEASE);
        replaced = NULL;
    }
    table_lock_release();
    return replaced;
}

void lv_pthreads_set_object(const void *address, void *object) {
    void *replaced = table_insert((uintptr_t)address, object, 1);
    if (replaced == object) {  // the table is full
        if (object != UNTRACKED) lv_pthread_lock_destroyed(object);
    } else if (replaced && replaced != UNTRACKED) {
        lv_pthread_lock_destroyed(replaced);
    }
}

/// Removes the entry for `key`; returns its object, or NULL.
static void *table_remove(uintptr_t key) {
    table_lock_acquire();
    void *removed = NULL;
    uintptr_t mask = table[-1].key;
    uintptr_t hole = locked_find(key);
    if (table[hole].key == key) {
        removed = table[hole].object;
        table_count--;
        __atomic_store_n(&table[hole].key, 0, __ATOMIC_RELEASE);
        // Shift back the entries of the same probe run that the hole would hide (Knuth's Algorithm R).
        for (uintptr_t j = (hole + 1) & mask; table[j].key != 0; j = (j + 1) & mask) {
            uintptr_t home = slot_of(table[j].key, mask);
            int between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (between) continue;
            __atomic_store_n(&table[hole].object, table[j].object, __ATOMIC_RELEASE);
            __atomic_store_n(&table[hole].key, table[j].key, __ATOMIC_RELEASE);
            __atomic_store_n(&table[j].key, 0, __ATOMIC_RELEASE);
            hole = j;
        }
    }
    table_lock_release();
    return removed;
}

void *lv_pthreads_object(const void *address) {
    void *object = table_lookup((uintptr_t)address);
    return object == UNTRACKED ? NULL : object;
}

/// The object of the lock at `address`, made now if the lock was never seen (a statically initialised
/// lock, or one initialised before interposition began): its class is then keyed by this first lock.
static void *lv_object_for(const void *address, uint32_t type, uintptr_t caller) {
    void *object = table_lookup((uintptr_t)address);
    if (__builtin_expect(object != NULL, 1)) return object == UNTRACKED ? NULL : object;
    table_lock_acquire();
    uintptr_t i = locked_find((uintptr_t)address);
    object = table[i].key == (uintptr_t)address ? table[i].object : NULL;
    table_lock_release();
    if (object) return object == UNTRACKED ? NULL : object;
    if (called_from_runtime(caller)) {
        table_insert((uintptr_t)address, UNTRACKED, 0);
        return NULL;
    }
    void *made = lv_pthread_lock_created(address, type, 0, caller);
    if (!made) {
        table_insert((uintptr_t)address, UNTRACKED, 0);
        return NULL;
    }
    void *existing = table_insert((uintptr_t)address, made, 0);
    if (existing == NULL) return made;
    // Another thread's first lock of the same lock won (keep its object), or the table is full (untracked).
    lv_pthread_lock_destroyed(made);
    return existing == made || existing == UNTRACKED ? NULL : existing;
}

/// A lock was initialised: a new object, replacing any for memory that held a lock before.
static void lock_initialised(const void *address, uint32_t type, uintptr_t caller) {
    void *made = called_from_runtime(caller) ? UNTRACKED : lv_pthread_lock_created(address, type, 1, caller);
    lv_pthreads_set_object(address, made ? made : UNTRACKED);
}

void *lv_pthreads_object_for(const void *address, uint32_t type, uintptr_t caller) {
    return lv_object_for(address, type, caller);
}

void lv_pthreads_lock_initialised(const void *address, uint32_t type, uintptr_t caller) {
    lock_initialised(address, type, caller);
}

static void lock_destroyed(const void *address) {
    // Destroyed while another thread holds it: reported now, and kept, so that the holder's unlock still
    // finds it and its held entry goes (else that thread would exit "holding" a lock it released).
    void *known = table_lookup((uintptr_t)address);
    if (known && known != UNTRACKED && lv_pthread_lock_destroyed_while_held_elsewhere(known)) return;
    void *removed = table_remove((uintptr_t)address);
    if (removed && removed != UNTRACKED) lv_pthread_lock_destroyed(removed);
}

void lv_pthreads_lock_freed(const void *address) { lock_destroyed(address); }

static inline uint32_t mutex_type(const pthread_mutex_t *mutex) {
    // glibc: the low two bits of __kind are the type (PTHREAD_MUTEX_KIND_MASK_NP).
    switch (mutex->__data.__kind & 3) {
    case PTHREAD_MUTEX_RECURSIVE: return LV_PT_MUTEX_RECURSIVE;
    case PTHREAD_MUTEX_ERRORCHECK: return LV_PT_MUTEX_ERRORCHECK;
    default: return LV_PT_MUTEX_NORMAL;
    }
}

static inline uint32_t rwlock_type(const pthread_rwlock_t *rwlock) {
    return rwlock->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP ? LV_PT_RWLOCK_WRITER_FIRST
                                                                                   : LV_PT_RWLOCK;
}

uint32_t lv_pthreads_mutex_type(const void *mutex) { return mutex_type(mutex); }

uint32_t lv_pthreads_rwlock_type(const void *rwlock) { return rwlock_type(rwlock); }

int lv_pthreads_lock_held_elsewhere(const void *address, uint32_t type) {
    int64_t self = lv_interposer_tid();
    if (type == LV_PT_RWLOCK) {
        const pthread_rwlock_t *rwlock = address;
        int64_t writer = __atomic_load_n(&rwlock->__data.__cur_writer, __ATOMIC_RELAXED);
        if (writer != 0) return writer != self;
        unsigned readers = __atomic_load_n(&rwlock->__data.__readers, __ATOMIC_RELAXED);
        return !(readers & 1u) && (readers >> 3) > 0;  // glibc 2.25+: bit 0 the write phase, readers from bit 3
    }
    if (type == LV_PT_SWIFT_MUTEX) {  // its futex word: the owner's thread id, the kernel's waiter bits above
        int64_t owner = __atomic_load_n((const uint32_t *)address, __ATOMIC_RELAXED) & 0x3fffffff;
        return owner != 0 && owner != self;
    }
    const pthread_mutex_t *mutex = address;
    // The owner's thread id, without the robust and PI flags.
    int64_t owner = __atomic_load_n(&mutex->__data.__owner, __ATOMIC_RELAXED) & 0x3fffffff;
    return owner != 0 && owner != self;
}

// MARK: Acquire and release, shared by every kind of lock

#define CALLER ((uintptr_t)__builtin_return_address(0))

/// Before a waiting acquire: the lock's object (NULL: untracked) and what to do.
static inline void *lv_before_wait(const void *address, uint32_t type, uint32_t how, uintptr_t caller,
                                   uint32_t *action) {
    lv_enter_validator();
    void *object = lv_object_for(address, type, caller);
    *action = object ? lv_pthread_will_acquire(object, how, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    return object;
}

/// After the real acquire returned `result`; `taken` says whether that means the lock is held, after a wait
/// of `wait_cycles` (0: the lock was free).
static inline int lv_after_wait(void *object, int result, int taken, uint64_t wait_cycles, uintptr_t caller) {
    if (!object) return result;
    lv_enter_validator();
    if (taken) {
        lv_pthread_did_acquire(object, caller, wait_cycles);
    } else {
        lv_pthread_acquire_failed(object);
    }
    lv_leave_validator();
    return result;
}

/// After a try-acquire succeeded: held, with no lock-order edge into it.
static inline void lv_after_try(const void *address, uint32_t type, uint32_t how, uintptr_t caller) {
    lv_enter_validator();
    void *object = lv_object_for(address, type, caller);
    if (object && lv_pthread_will_acquire(object, how, caller) == LV_PT_PROCEED) {
        lv_pthread_did_acquire(object, caller, 0);
    }
    lv_leave_validator();
}

/// An unlock of the mutex at `address`, which the validator never saw: reported (release-not-held) when no
/// thread holds it (glibc's lock word and owner are 0), for it was initialised statically and never
/// locked (Helgrind's "unlocked a not-locked lock"); passed through when it is held (it was locked before
/// interposition began). Out of line, so that the unlock of a known lock keeps its registers.
__attribute__((noinline, cold)) static uint32_t release_of_unseen_mutex(const pthread_mutex_t *mutex, uintptr_t caller) {
    if (__atomic_load_n(&mutex->__data.__lock, __ATOMIC_RELAXED) != 0 ||
        __atomic_load_n(&mutex->__data.__owner, __ATOMIC_RELAXED) != 0) {
        return LV_PT_PROCEED;
    }
    lv_enter_validator();
    void *object = lv_object_for(mutex, mutex_type(mutex), caller);
    uint32_t action = object ? lv_pthread_will_release(object, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    return action;
}

/// Before a release of the lock at `address`: whether to call the real unlock. A lock the validator never
/// saw is passed through, unless it is a mutex (`is_mutex`) no thread holds (`release_of_unseen_mutex`).
__attribute__((always_inline)) static inline uint32_t lv_before_release(lv_thread_state *thread,
                                                                      const void *address, int is_mutex,
                                                                      uintptr_t caller) {
    void *object = table_lookup((uintptr_t)address);
    if (__builtin_expect(object == NULL, 0) && is_mutex) return release_of_unseen_mutex(address, caller);
    if (object && object != UNTRACKED && lv_annotated_release_fast(&((lv_pthread_object *)object)->fast, thread)) {
        return LV_PT_PROCEED;
    }
    lv_enter_validator();
    uint32_t action = object && object != UNTRACKED ? lv_pthread_will_release(object, caller) : LV_PT_PROCEED;
    lv_leave_validator();
    return action;
}

static inline int refused(uint32_t action) { return action == LV_PT_REFUSE ? EDEADLK : 0; }

// A mutex that was robust and whose owner died is taken with EOWNERDEAD.
static inline int mutex_taken(int result) { return result == 0 || result == EOWNERDEAD; }

static inline int rwlock_taken(int result) { return result == 0; }

/// The C library's calls an acquire of one kind of lock makes, and what its result means.
typedef struct {
    int (*lock)(void *lock);  ///< the untimed acquire
    int (*try_lock)(void *lock);
    int (*unlock)(void *lock);
    int (*taken)(int result);  ///< whether an acquire's result means the lock is held
} lock_calls;

static int mutex_lock_call(void *lock) { return real.mutex_lock(lock); }
static int mutex_trylock_call(void *lock) { return real.mutex_trylock(lock); }
static int mutex_unlock_call(void *lock) { return real.mutex_unlock(lock); }
static int read_lock_call(void *lock) { return real.rwlock_rdlock(lock); }
static int read_trylock_call(void *lock) { return real.rwlock_tryrdlock(lock); }
static int write_lock_call(void *lock) { return real.rwlock_wrlock(lock); }
static int write_trylock_call(void *lock) { return real.rwlock_trywrlock(lock); }
static int rwlock_unlock_call(void *lock) { return real.rwlock_unlock(lock); }
static int spin_lock_call(void *lock) { return real.spin_lock(lock); }
static int spin_trylock_call(void *lock) { return real.spin_trylock(lock); }
static int spin_unlock_call(void *lock) { return real.spin_unlock(lock); }

static const lock_calls mutex_calls = {mutex_lock_call, mutex_trylock_call, mutex_unlock_call, mutex_taken};
static const lock_calls read_calls = {read_lock_call, read_trylock_call, rwlock_unlock_call, rwlock_taken};
static const lock_calls write_calls = {write_lock_call, write_trylock_call, rwlock_unlock_call, rwlock_taken};
static const lock_calls spin_calls = {spin_lock_call, spin_trylock_call, spin_unlock_call, rwlock_taken};

/// try_first's answer when the lock was not taken at once: the caller waits for it (lv_wait_for).
#define MUST_WAIT (-2)

/// A waiting acquire of a known lock first tries the real lock: taken at once, it cannot have
/// deadlocked, so the validator checks it afterwards in one call (as a waiting acquire: its lock-order
/// edges are the same), and the acquire is done: the answer is its result. LV_PT_PROCEED keeps the lock;
/// anything else gives it back (the validator reported a self-deadlock it does not let happen) and the
/// answer is what the lock would return. A lock left untracked (the runtime's) is taken with the plain
/// call. MUST_WAIT: held by another thread, or not known yet. Inlined: the uncontended acquire's path.
__attribute__((always_inline)) static inline int try_first(lv_thread_state *thread, void *lock, uint32_t how,
                                                          const lock_calls *calls, uintptr_t caller) {
    void *known = table_lookup((uintptr_t)lock);
    if (known == UNTRACKED) return calls->lock(lock);
    if (__builtin_expect(known == NULL, 0)) return MUST_WAIT;
    int tried = calls->try_lock(lock);
    if (tried != 0 && !calls->taken(tried)) return MUST_WAIT;  // 0 is taken for every kind: no call for it
    // The common case, in C: a build without the optimiser (a user's `swift test`) costs about what an
    // optimised one does.
    if (how == LV_PT_EXCLUSIVE && lv_annotated_took_fast(&((lv_pthread_object *)known)->fast, thread, caller)) {
        return tried;
    }
    lv_enter_validator();
    uint32_t action = lv_pthread_took(known, how | LV_PT_STEERABLE, caller);
    lv_leave_validator();
    if (__builtin_expect(action == LV_PT_PROCEED, 1)) return tried;
    calls->unlock(lock);
    // Confirmation mode holds this acquire back before it takes the lock: it waits for it (lv_wait_for).
    if (action == LV_PT_RETRY) return MUST_WAIT;
    return refused(action);
}

/// A waiting acquire of the lock at `lock` (of `type`): checked before the wait, then waited for in slices
/// of `slice` on `clock` (lv_wait_blocked: `wait` is its LV_WAIT_* kind, `timed` and `deadline` the
/// program's own deadline), recorded once it ends. A lock that refuses timed waits is taken with the
/// plain call; a wait with a deadline of its own never needs one.
///
/// lock_stat: a tracked lock is tried first (as lockdep's lock_contended follows a failed fast path), and
/// only an acquire that finds it held is a contention, whose wait is timed: the clock is read on the
/// contended path alone.
static int lv_wait_for(void *lock, uint32_t type, uint32_t how, const lock_calls *calls, uint32_t wait,
                       clockid_t clock, int timed, const struct timespec *deadline, lv_timed_attempt slice,
                       uintptr_t caller) {
    uint32_t action;
    void *object = lv_before_wait(lock, type, how | LV_PT_STEERABLE, caller, &action);
    if (action != LV_PT_PROCEED) return refused(action);
    int result = object ? calls->try_lock(lock) : EBUSY;
    uint64_t wait_cycles = 0;
    if (!calls->taken(result)) {
        uint64_t started = lv_rdtsc();
        result = lv_wait_blocked(lock, object, wait, clock, timed, deadline, slice, caller);
        if (result == LV_WAIT_UNSUPPORTED) result = timed ? EINVAL : calls->lock(lock);
        uint64_t waited = lv_rdtsc() - started;
        wait_cycles = waited != 0 ? waited : 1;  // a contention, however short
    }
    return lv_after_wait(object, result, calls->taken(result), wait_cycles, caller);
}

// MARK: One slice of a contended wait (lv_wait_blocked, the deadlock watchdog)

// A wait without a deadline of its own waits in slices on CLOCK_REALTIME, the clock every glibc takes
// for every mutex kind (a priority-inheritance mutex's clocklock may refuse CLOCK_MONOTONIC); a clock
// jump only lengthens or shortens a slice.
static int mutex_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    (void)clock;
    return real.mutex_timedlock((pthread_mutex_t *)lock, deadline);
}

static int mutex_clock_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    return real.mutex_clocklock((pthread_mutex_t *)lock, clock, deadline);
}

static int read_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    (void)clock;
    return real.rwlock_timedrdlock((pthread_rwlock_t *)lock, deadline);
}

static int read_clock_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    return real.rwlock_clockrdlock((pthread_rwlock_t *)lock, clock, deadline);
}

static int write_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    (void)clock;
    return real.rwlock_timedwrlock((pthread_rwlock_t *)lock, deadline);
}

static int write_clock_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    return real.rwlock_clockwrlock((pthread_rwlock_t *)lock, clock, deadline);
}

// A pthread spin lock has no timed variant: try, pause, and yield now and then (so that a holder on an
// oversubscribed machine runs), until the deadline. The lock word is not read: its meaning is glibc's
// (on x86, 1 is free).
static int spin_slice(const void *lock, clockid_t clock, const struct timespec *deadline) {
    pthread_spinlock_t *spin = (pthread_spinlock_t *)lock;
    for (unsigned round = 1;; round++) {
        if (real.spin_trylock(spin) == 0) return 0;
        for (int spins = 0; spins < 64; spins++) lv_pause();
        if (round % 16 == 0) {
            sched_yield();
            struct timespec now;
            clock_gettime(clock, &now);
            if (now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec)) {
                return ETIMEDOUT;
            }
        }
    }
}

// MARK: Mutexes

int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attributes) {
    int result = REAL(mutex_init)(mutex, attributes);
    if (result == 0 && validating()) {
        lv_enter_validator();
        lock_initialised(mutex, mutex_type(mutex), CALLER);
        lv_leave_validator();
    }
    return result;
}

int pthread_mutex_lock(pthread_mutex_t *mutex) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return REAL(mutex_lock)(mutex);
    int result = try_first(thread, mutex, LV_PT_EXCLUSIVE, &mutex_calls, CALLER);
    if (result != MUST_WAIT) return result;
    return lv_wait_for(mutex, mutex_type(mutex), LV_PT_EXCLUSIVE, &mutex_calls, LV_WAIT_MUTEX, CLOCK_REALTIME, 0, NULL,
                       mutex_slice, CALLER);
}

int pthread_mutex_timedlock(pthread_mutex_t *mutex, const struct timespec *deadline) {
    if (!validating()) return REAL(mutex_timedlock)(mutex, deadline);
    return lv_wait_for(mutex, mutex_type(mutex), LV_PT_EXCLUSIVE, &mutex_calls, LV_WAIT_MUTEX, CLOCK_REALTIME, 1,
                       deadline, mutex_slice, CALLER);
}

int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clock, const struct timespec *deadline) {
    if (!validating()) return REAL(mutex_clocklock)(mutex, clock, deadline);
    return lv_wait_for(mutex, mutex_type(mutex), LV_PT_EXCLUSIVE, &mutex_calls, LV_WAIT_MUTEX, clock, 1, deadline,
                       mutex_clock_slice, CALLER);
}

int pthread_mutex_trylock(pthread_mutex_t *mutex) {
    int result = REAL(mutex_trylock)(mutex);
    if (mutex_taken(result) && validating()) lv_after_try(mutex, mutex_type(mutex), LV_PT_EXCLUSIVE_TRY, CALLER);
    return result;
}

int pthread_mutex_unlock(pthread_mutex_t *mutex) {
    lv_thread_state *thread = validating_thread();
    if (thread && lv_before_release(thread, mutex, 1, CALLER) == LV_PT_SKIP) return 0;
    return REAL(mutex_unlock)(mutex);
}

int pthread_mutex_destroy(pthread_mutex_t *mutex) {
    if (validating()) {
        lv_enter_validator();
        lock_destroyed(mutex);
        lv_leave_validator();
    }
    return REAL(mutex_destroy)(mutex);
}

// MARK: Reader–writer locks

int pthread_rwlock_init(pthread_rwlock_t *rwlock, const pthread_rwlockattr_t *attributes) {
    int result = REAL(rwlock_init)(rwlock, attributes);
    if (result == 0 && validating()) {
        lv_enter_validator();
        lock_initialised(rwlock, rwlock_type(rwlock), CALLER);
        lv_leave_validator();
    }
    return result;
}

int pthread_rwlock_rdlock(pthread_rwlock_t *rwlock) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return REAL(rwlock_rdlock)(rwlock);
    int result = try_first(thread, rwlock, LV_PT_SHARED, &read_calls, CALLER);
    if (result != MUST_WAIT) return result;
    return lv_wait_for(rwlock, rwlock_type(rwlock), LV_PT_SHARED, &read_calls, LV_WAIT_READ, CLOCK_REALTIME, 0, NULL,
                       read_slice, CALLER);
}

int pthread_rwlock_wrlock(pthread_rwlock_t *rwlock) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return REAL(rwlock_wrlock)(rwlock);
    int result = try_first(thread, rwlock, LV_PT_EXCLUSIVE, &write_calls, CALLER);
    if (result != MUST_WAIT) return result;
    return lv_wait_for(rwlock, rwlock_type(rwlock), LV_PT_EXCLUSIVE, &write_calls, LV_WAIT_WRITE, CLOCK_REALTIME, 0,
                       NULL, write_slice, CALLER);
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t *rwlock, const struct timespec *deadline) {
    if (!validating()) return REAL(rwlock_timedrdlock)(rwlock, deadline);
    return lv_wait_for(rwlock, rwlock_type(rwlock), LV_PT_SHARED, &read_calls, LV_WAIT_READ, CLOCK_REALTIME, 1,
                       deadline, read_slice, CALLER);
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t *rwlock, const struct timespec *deadline) {
    if (!validating()) return REAL(rwlock_timedwrlock)(rwlock, deadline);
    return lv_wait_for(rwlock, rwlock_type(rwlock), LV_PT_EXCLUSIVE, &write_calls, LV_WAIT_WRITE, CLOCK_REALTIME, 1,
                       deadline, write_slice, CALLER);
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t *rwlock, clockid_t clock, const struct timespec *deadline) {
    if (!validating()) return REAL(rwlock_clockrdlock)(rwlock, clock, deadline);
    return lv_wait_for(rwlock, rwlock_type(rwlock), LV_PT_SHARED, &read_calls, LV_WAIT_READ, clock, 1, deadline,
                       read_clock_slice, CALLER);
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t *rwlock, clockid_t clock, const struct timespec *deadline) {
    if (!validating()) return REAL(rwlock_clockwrlock)(rwlock, clock, deadline);
    return lv_wait_for(rwlock, rwlock_type(rwlock), LV_PT_EXCLUSIVE, &write_calls, LV_WAIT_WRITE, clock, 1, deadline,
                       write_clock_slice, CALLER);
}

int pthread_rwlock_tryrdlock(pthread_rwlock_t *rwlock) {
    int result = REAL(rwlock_tryrdlock)(rwlock);
    if (result == 0 && validating()) lv_after_try(rwlock, rwlock_type(rwlock), LV_PT_SHARED_TRY, CALLER);
    return result;
}

int pthread_rwlock_trywrlock(pthread_rwlock_t *rwlock) {
    int result = REAL(rwlock_trywrlock)(rwlock);
    if (result == 0 && validating()) lv_after_try(rwlock, rwlock_type(rwlock), LV_PT_EXCLUSIVE_TRY, CALLER);
    return result;
}

int pthread_rwlock_unlock(pthread_rwlock_t *rwlock) {
    lv_thread_state *thread = validating_thread();
    if (thread && lv_before_release(thread, rwlock, 0, CALLER) == LV_PT_SKIP) return 0;
    return REAL(rwlock_unlock)(rwlock);
}

int pthread_rwlock_destroy(pthread_rwlock_t *rwlock) {
    if (validating()) {
        lv_enter_validator();
        lock_destroyed(rwlock);
        lv_leave_validator();
    }
    return REAL(rwlock_destroy)(rwlock);
}

// MARK: Spin locks

int pthread_spin_init(pthread_spinlock_t *lock, int shared) {
    int result = REAL(spin_init)(lock, shared);
    if (result == 0 && validating()) {
        lv_enter_validator();
        lock_initialised((const void *)lock, LV_PT_SPIN, CALLER);
        lv_leave_validator();
    }
    return result;
}

int pthread_spin_lock(pthread_spinlock_t *lock) {
    lv_thread_state *thread = validating_thread();
    if (!thread) return REAL(spin_lock)(lock);
    int result = try_first(thread, (void *)lock, LV_PT_EXCLUSIVE, &spin_calls, CALLER);
    if (result != MUST_WAIT) return result;
    return lv_wait_for((void *)lock, LV_PT_SPIN, LV_PT_EXCLUSIVE, &spin_calls, LV_WAIT_SPIN, CLOCK_MONOTONIC, 0, NULL,
                       spin_slice, CALLER);
}

int pthread_spin_trylock(pthread_spinlock_t *lock) {
    int result = REAL(spin_trylock)(lock);
    if (result == 0 && validating()) lv_after_try((const void *)lock, LV_PT_SPIN, LV_PT_EXCLUSIVE_TRY, CALLER);
    return result;
}

int pthread_spin_unlock(pthread_spinlock_t *lock) {
    lv_thread_state *thread = validating_thread();
    if (thread && lv_before_release(thread, (const void *)lock, 0, CALLER) == LV_PT_SKIP) return 0;
    return REAL(spin_unlock)(lock);
}

int pthread_spin_destroy(pthread_spinlock_t *lock) {
    if (validating()) {
        lv_enter_validator();
        lock_destroyed((const void *)lock);
        lv_leave_validator();
    }
    return REAL(spin_destroy)(lock);
}

// MARK: Condition waits: the mutex is released for the wait and taken again after it

/// Before the wait: the mutex's object, released on the held stack (NULL: untracked).
static inline void *lv_release_for_wait(pthread_mutex_t *mutex, uintptr_t caller) {
    lv_enter_validator();
    void *object = table_lookup((uintptr_t)mutex);
    if (object == UNTRACKED) object = NULL;
    if (object) lv_pthread_will_release(object, caller);
    lv_leave_validator();
    return object;
}

/// After the wait: the mutex is held again (whatever the wait returned), a waited-for acquire.
static inline int reacquired_lv_after_wait(void *object, int result, uintptr_t caller) {
    if (!object) return result;
    lv_enter_validator();
    // Woken by the condition, not made to wait by another holder: not a contention.
    if (lv_pthread_will_acquire(object, LV_PT_EXCLUSIVE, caller) == LV_PT_PROCEED) {
        lv_pthread_did_acquire(object, caller, 0);
    }
    lv_leave_validator();
    return result;
}

int pthread_cond_wait(pthread_cond_t *condition, pthread_mutex_t *mutex) {
    if (__builtin_expect(lv_must_not_block(), 0)) lv_blocking_call("pthread_cond_wait", CALLER);
    if (!validating()) return REAL(cond_wait)(condition, mutex);
    void *object = lv_release_for_wait(mutex, CALLER);
    int result = REAL(cond_wait)(condition, mutex);
    return reacquired_lv_after_wait(object, result, CALLER);
}

int pthread_cond_timedwait(pthread_cond_t *condition, pthread_mutex_t *mutex, const struct timespec *deadline) {
    if (__builtin_expect(lv_must_not_block(), 0)) lv_blocking_call("pthread_cond_timedwait", CALLER);
    if (!validating()) return REAL(cond_timedwait)(condition, mutex, deadline);
    void *object = lv_release_for_wait(mutex, CALLER);
    int result = REAL(cond_timedwait)(condition, mutex, deadline);
    return reacquired_lv_after_wait(object, result, CALLER);
}

int pthread_cond_clockwait(pthread_cond_t *condition, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *deadline) {
    if (__builtin_expect(lv_must_not_block(), 0)) lv_blocking_call("pthread_cond_clockwait", CALLER);
    if (!validating()) return REAL(cond_clockwait)(condition, mutex, clock, deadline);
    void *object = lv_release_for_wait(mutex, CALLER);
    int result = REAL(cond_clockwait)(condition, mutex, clock, deadline);
    return reacquired_lv_after_wait(object, result, CALLER);
}

// MARK: Scopes carried to new threads, dispatched work and tasks

// A violation belongs to the scope (a test) of the code that caused it. Task-local values carry a scope
// through structured tasks; here it is carried across pthread_create, Dispatch's asynchronous entry
// points and swift_task_create: the starting code's scope (a retained token from lv_scope_capture) goes
// with the work, and the thread running it inherits that scope while it runs. Calls from the Swift
// concurrency runtime (its executor's jobs belong to tasks, which carry their own) and from Dispatch
// itself are passed through, as are calls made inside the validator or before the constructor.

static struct {
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    void (*dispatch_async)(void *, const void *);
    void (*dispatch_async_f)(void *, void *, void (*)(void *));
    void (*dispatch_barrier_async)(void *, const void *);
    void (*dispatch_barrier_async_f)(void *, void *, void (*)(void *));
    void (*dispatch_group_async)(void *, void *, const void *);
    void (*dispatch_group_async_f)(void *, void *, void *, void (*)(void *));
    void (*dispatch_group_notify)(void *, void *, const void *);
    void (*dispatch_group_notify_f)(void *, void *, void *, void (*)(void *));
    void (*dispatch_after)(uint64_t, void *, const void *);
    void (*dispatch_after_f)(uint64_t, void *, void *, void (*)(void *));
    void (*dispatch_apply)(size_t, void *, const void *);
    void (*dispatch_apply_f)(size_t, void *, void *, void (*)(void *, size_t));
    void *(*dispatch_block_create)(unsigned long, const void *);
    void *(*dispatch_block_create_with_qos_class)(unsigned long, unsigned int, int, const void *);
    void (*dispatch_source_set_event_handler)(void *, const void *);
    void (*dispatch_source_set_cancel_handler)(void *, const void *);
    void (*dispatch_source_set_registration_handler)(void *, const void *);
    void *(*block_copy)(const void *);
    void (*block_release)(const void *);
    void *stack_block_isa;
} scoped_real;

/// Code of the libraries whose calls are passed through: the concurrency runtime, Dispatch, Blocks.
#define MAX_SCHEDULER_RANGES 16
static struct { uintptr_t start, end; } scheduler_ranges[MAX_SCHEDULER_RANGES];
static int scheduler_range_count;
/// Dispatch's own code: a block whose invoke function is there was made by dispatch_block_create.
static uintptr_t dispatch_text_start, dispatch_text_end;

static int note_scheduler_library(struct dl_phdr_info *info, size_t size, void *unused) {
    (void)size;
    (void)unused;
    if (!info->dlpi_name) return 0;
    const char *file = strrchr(info->dlpi_name, '/');
    file = file ? file + 1 : info->dlpi_name;
    int is_dispatch = strncmp(file, "libdispatch", 11) == 0;
    if (!is_dispatch && strncmp(file, "libswift_Concurrency", 20) != 0 && strncmp(file, "libBlocksRuntime", 16) != 0) {
        return 0;
    }
    for (int i = 0; i < info->dlpi_phnum && scheduler_range_count < MAX_SCHEDULER_RANGES; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || !(segment->p_flags & PF_X)) continue;
        uintptr_t start = info->dlpi_addr + segment->p_vaddr;
        scheduler_ranges[scheduler_range_count].start = start;
        scheduler_ranges[scheduler_range_count].end = start + segment->p_memsz;
        scheduler_range_count++;
        if (is_dispatch) {
            dispatch_text_start = start;
            dispatch_text_end = start + segment->p_memsz;
        }
    }
    return 0;
}

static void *default_symbol(const char *name) { return dlsym(RTLD_DEFAULT, name); }

#define RESOLVE_SCOPED(field, name) scoped_real.field = (__typeof__(scoped_real.field))next_symbol(name)

static pthread_once_t scoped_once = PTHREAD_ONCE_INIT;

/// Resolves what a Dispatch entry point needs: the library is loaded, since its caller links it.
static void resolve_dispatch(void) {
    RESOLVE_SCOPED(dispatch_async, "dispatch_async");
    RESOLVE_SCOPED(dispatch_async_f, "dispatch_async_f");
    RESOLVE_SCOPED(dispatch_barrier_async, "dispatch_barrier_async");
    RESOLVE_SCOPED(dispatch_barrier_async_f, "dispatch_barrier_async_f");
    RESOLVE_SCOPED(dispatch_group_async, "dispatch_group_async");
    RESOLVE_SCOPED(dispatch_group_async_f, "dispatch_group_async_f");
    RESOLVE_SCOPED(dispatch_group_notify, "dispatch_group_notify");
    RESOLVE_SCOPED(dispatch_group_notify_f, "dispatch_group_notify_f");
    RESOLVE_SCOPED(dispatch_after, "dispatch_after");
    RESOLVE_SCOPED(dispatch_after_f, "dispatch_after_f");
    RESOLVE_SCOPED(dispatch_apply, "dispatch_apply");
    RESOLVE_SCOPED(dispatch_apply_f, "dispatch_apply_f");
    RESOLVE_SCOPED(dispatch_block_create, "dispatch_block_create");
    RESOLVE_SCOPED(dispatch_block_create_with_qos_class, "dispatch_block_create_with_qos_class");
    RESOLVE_SCOPED(dispatch_source_set_event_handler, "dispatch_source_set_event_handler");
    RESOLVE_SCOPED(dispatch_source_set_cancel_handler, "dispatch_source_set_cancel_handler");
    RESOLVE_SCOPED(dispatch_source_set_registration_handler, "dispatch_source_set_registration_handler");
    scoped_real.block_copy = (void *(*)(const void *))default_symbol("_Block_copy");
    scoped_real.block_release = (void (*)(const void *))default_symbol("_Block_release");
    scoped_real.stack_block_isa = default_symbol("_NSConcreteStackBlock");
    dl_iterate_phdr(note_scheduler_library, NULL);
}

static inline void dispatch_resolved(void) { pthread_once(&scoped_once, resolve_dispatch); }

static int from_scheduler(uintptr_t caller) {
    for (int i = 0; i < scheduler_range_count; i++) {
        if (caller >= scheduler_ranges[i].start && caller < scheduler_ranges[i].end) return 1;
    }
    return 0;
}

/// The calling code's scope, retained, for work it starts; NULL to pass the call through.
static void *scope_for_work(int passed_through) {
    if (!validating() || passed_through) return NULL;
    lv_enter_validator();
    void *scope = lv_scope_capture();
    lv_leave_validator();
    return scope;
}

static void release_scope(void *scope) {
    if (!scope) return;
    lv_enter_validator();
    lv_scope_release(scope);
    lv_leave_validator();
}

/// Runs the statement `work` with the calling thread inheriting `scope`, then puts back what it had.
#define IN_SCOPE(scope, work)                          \
    do {                                               \
        lv_enter_validator();                          \
        void *previous_scope = lv_scope_enter(scope);  \
        lv_leave_validator();                          \
        work;                                          \
        lv_enter_validator();                          \
        lv_scope_restore(previous_scope);              \
        lv_leave_validator();                          \
    } while (0)

// MARK: pthread_create: the new thread inherits the scope for its whole life

typedef struct {
    void *(*routine)(void *);
    void *argument;
    void *scope;
    void *clock;  ///< the creator's happens-before clock (lv_hb_fork), or NULL
} scoped_start;

static void *start_in_scope(void *argument) {
    scoped_start start = *(scoped_start *)argument;
    free(argument);
    lv_enter_validator();
    if (start.clock) lv_hb_start(start.clock);
    if (start.scope) {
        void *previous = lv_scope_enter(start.scope);  // the thread keeps its own reference until it exits
        lv_scope_release(start.scope);
        if (previous) lv_scope_release(previous);
    }
    lv_leave_validator();
    void *result = start.routine(start.argument);
    // A thread that took no lock was never registered, and can hold none.
    if (lv_tls_state.serial != 0) {
        lv_enter_validator();
        if (start.scope) lv_scope_thread_returning();
        if (start.clock) lv_hb_exit();
        lv_leave_validator();
    }
    return result;
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*routine)(void *), void *argument) {
    if (__builtin_expect(scoped_real.pthread_create == NULL, 0)) {
        __atomic_store_n(&scoped_real.pthread_create,
                         (__typeof__(scoped_real.pthread_create))next_symbol("pthread_create"), __ATOMIC_RELAXED);
    }
    int passed_through = called_from_runtime(CALLER);
    void *scope = scope_for_work(passed_through);
    // A start is a happens-before edge (the verdicts on cycles); the runtime's own threads, started with
    // its locks held, are left alone: a thread with no start clock is only ordered less.
    void *clock = NULL;
    if (!passed_through && validating()) {
        lv_enter_validator();
        clock = lv_hb_fork();
        lv_leave_validator();
    }
    scoped_start *start = scope || clock ? malloc(sizeof *start) : NULL;
    if (!start) {
        release_scope(scope);
        if (clock) {
            lv_enter_validator();
            lv_hb_discard(clock);
            lv_leave_validator();
        }
        return scoped_real.pthread_create(thread, attributes, routine, argument);
    }
    *start = (scoped_start){routine, argument, scope, clock};
    int result = scoped_real.pthread_create(thread, attributes, start_in_scope, start);
    if (result != 0) {
        free(start);
        release_scope(scope);
        if (clock) {
            lv_enter_validator();
            lv_hb_discard(clock);
            lv_leave_validator();
        }
    }
    return result;
}

// MARK: Dispatch: blocks and functions wrapped to run in their submitter's scope

// The Blocks ABI (clang's Block-ABI-Apple, which libBlocksRuntime implements): a block begins with this
// header, its captures follow. Blocks are built and called here without -fblocks, which SwiftPM does not
// let a package set for its dependents.
enum { BLOCK_HAS_COPY_DISPOSE = 1 << 25 };

typedef struct {
    unsigned long reserved;
    unsigned long size;
    void (*copy)(void *destination, const void *source);
    void (*dispose)(const void *block);
} block_descriptor;

typedef struct {
    void *isa;
    int flags;
    int reserved;
    void (*invoke)(void);  // called as the block's own signature
    const block_descriptor *descriptor;
} block_header;

/// A block that runs `inner` with its thread inheriting `scope`. Built on the stack: the callee copies it
/// (libBlocksRuntime copies it to the heap and calls `copy`), or runs it before returning (apply).
typedef struct {
    block_header header;
    const block_header *inner;
    void *scope;         // NULL: the submitter is in no scope
    void *queue_object;  // the serial queue it runs on (dispatch_queues.c), held while it runs; NULL, or
                         // LV_DISPATCH_QUEUE_AT_RUN_TIME (dispatch_block_create's: found when it runs)
    uintptr_t caller;    // where it was submitted
} scoped_block;

static void run_inner_block(const scoped_block *block) {
    void *held = block->queue_object == LV_DISPATCH_QUEUE_AT_RUN_TIME
                     ? lv_dispatch_current_queue_block_begins(block->caller)
                     : lv_dispatch_queue_block_begins(block->queue_object, block->caller);
    ((void (*)(const block_header *))block->inner->invoke)(block->inner);
    lv_dispatch_queue_block_ends(held, block->caller);
}

static void scoped_block_invoke(const scoped_block *block) {
    if (block->scope) {
        IN_SCOPE(block->scope, run_inner_block(block));
    } else {
        run_inner_block(block);
    }
}

static void scoped_apply_invoke(const scoped_block *block, size_t index) {
    IN_SCOPE(block->scope, ((void (*)(const block_header *, size_t))block->inner->invoke)(block->inner, index));
}

static void scoped_block_copy(void *destination, const void *source) {
    scoped_block *copy = destination;
    const scoped_block *original = source;
    copy->inner = scoped_real.block_copy(original->inner);
    if (!original->scope) return;
    lv_enter_validator();
    lv_scope_retain(original->scope);
    lv_leave_validator();
}

static void scoped_block_dispose(const void *block) {
    const scoped_block *scoped = block;
    scoped_real.block_release(scoped->inner);
    release_scope(scoped->scope);
}

static const block_descriptor scoped_block_descriptor = {
    0, sizeof(scoped_block), scoped_block_copy, scoped_block_dispose};

/// What to pass for `block`: `wrapper`, made to run it in the caller's scope and holding `queue` when that
/// is a serial queue, or `block` itself (the caller is in no scope and the queue is no lock, the call is
/// passed through, or `block` came from dispatch_block_create, whose flags Dispatch reads from the block
/// itself: its inner block was wrapped when it was made).
static const void *scoped(scoped_block *wrapper, const void *block, void *queue, uintptr_t caller, int apply,
                          int at_run_time) {
    dispatch_resolved();
    if (!block || !scoped_real.block_copy || !scoped_real.stack_block_isa) return block;
    uintptr_t invoke = (uintptr_t)((const block_header *)block)->invoke;
    if (invoke >= dispatch_text_start && invoke < dispatch_text_end) return block;
    int passed_through = from_scheduler(caller);
    void *scope = scope_for_work(passed_through);
    void *queue_object = passed_through || apply ? NULL : lv_dispatch_serial_queue_object(queue, caller);
    // A block dispatch_block_create makes is submitted later, as itself: its queue is found when it runs.
    if (at_run_time && !passed_through && validating()) queue_object = LV_DISPATCH_QUEUE_AT_RUN_TIME;
    if (!scope && !queue_object) return block;
    if (queue_object && queue_object != LV_DISPATCH_QUEUE_AT_RUN_TIME) lv_dispatch_queue_block_submitted(queue_object);
    wrapper->header.isa = scoped_real.stack_block_isa;
    wrapper->header.flags = BLOCK_HAS_COPY_DISPOSE;
    wrapper->header.reserved = 0;
    wrapper->header.invoke = apply ? (void (*)(void))scoped_apply_invoke : (void (*)(void))scoped_block_invoke;
    wrapper->header.descriptor = &scoped_block_descriptor;
    wrapper->inner = block;
    wrapper->scope = scope;
    wrapper->queue_object = queue_object;
    wrapper->caller = caller;
    return wrapper;
}

/// After the call that was passed `passed`: drops the stack wrapper's reference (a copy keeps its own).
static void scoped_done(const scoped_block *wrapper, const void *passed) {
    if (passed == wrapper) release_scope(wrapper->scope);
}

#define SCOPED_BLOCK_CALL(block, queue, apply, call)                   \
    scoped_block wrapper;                                              \
    const void *passed = scoped(&wrapper, block, queue, CALLER, apply, 0); \
    call;                                     \
    scoped_done(&wrapper, passed)

void dispatch_async(void *queue, const void *block) {
    SCOPED_BLOCK_CALL(block, queue, 0, scoped_real.dispatch_async(queue, passed));
}

void dispatch_barrier_async(void *queue, const void *block) {
    SCOPED_BLOCK_CALL(block, queue, 0, scoped_real.dispatch_barrier_async(queue, passed));
}

void dispatch_group_async(void *group, void *queue, const void *block) {
    SCOPED_BLOCK_CALL(block, queue, 0, scoped_real.dispatch_group_async(group, queue, passed));
}

void dispatch_group_notify(void *group, void *queue, const void *block) {
    SCOPED_BLOCK_CALL(block, queue, 0, scoped_real.dispatch_group_notify(group, queue, passed));
}

void dispatch_after(uint64_t when, void *queue, const void *block) {
    SCOPED_BLOCK_CALL(block, queue, 0, scoped_real.dispatch_after(when, queue, passed));
}

void dispatch_apply(size_t iterations, void *queue, const void *block) {
    SCOPED_BLOCK_CALL(block, NULL, 1, scoped_real.dispatch_apply(iterations, queue, passed));
}

void dispatch_source_set_event_handler(void *source, const void *handler) {
    SCOPED_BLOCK_CALL(handler, NULL, 0, scoped_real.dispatch_source_set_event_handler(source, passed));
}

void dispatch_source_set_cancel_handler(void *source, const void *handler) {
    SCOPED_BLOCK_CALL(handler, NULL, 0, scoped_real.dispatch_source_set_cancel_handler(source, passed));
}

void dispatch_source_set_registration_handler(void *source, const void *handler) {
    SCOPED_BLOCK_CALL(handler, NULL, 0, scoped_real.dispatch_source_set_registration_handler(source, passed));
}

// A DispatchWorkItem, and `async` with a QoS or flags, make their block here: its inner block runs in
// the scope of the code that made it, holding the serial queue it runs on.
void *dispatch_block_create(unsigned long flags, const void *block) {
    scoped_block wrapper;
    const void *passed = scoped(&wrapper, block, NULL, CALLER, 0, 1);
    void *made = scoped_real.dispatch_block_create(flags, passed);
    scoped_done(&wrapper, passed);
    return made;
}

void *dispatch_block_create_with_qos_class(unsigned long flags, unsigned int qos, int relative_priority,
                                           const void *block) {
    scoped_block wrapper;
    const void *passed = scoped(&wrapper, block, NULL, CALLER, 0, 1);
    void *made = scoped_real.dispatch_block_create_with_qos_class(flags, qos, relative_priority, passed);
    scoped_done(&wrapper, passed);
    return made;
}

/// A function and its context, with the scope to run it in.
typedef struct {
    void *context;
    void (*work)(void *);
    void (*apply_work)(void *, size_t);
    void *scope;         // NULL: the submitter is in no scope
    void *queue_object;  // the serial queue it runs on, held while it runs; or NULL
    uintptr_t caller;
} scoped_call;

static void run_call_holding_queue(const scoped_call *call) {
    void *held = lv_dispatch_queue_block_begins(call->queue_object, call->caller);
    call->work(call->context);
    lv_dispatch_queue_block_ends(held, call->caller);
}

static void run_scoped_call(void *argument) {
    scoped_call call = *(scoped_call *)argument;
    free(argument);
    if (call.scope) {
        IN_SCOPE(call.scope, run_call_holding_queue(&call));
    } else {
        run_call_holding_queue(&call);
    }
    release_scope(call.scope);
}

static void run_scoped_apply(void *argument, size_t index) {
    const scoped_call *call = argument;
    IN_SCOPE(call->scope, call->apply_work(call->context, index));
}

/// A heap copy of `work(context)` to run in the caller's scope and holding `queue` when that is a serial
/// queue, or NULL to pass the call through.
static scoped_call *scoped_function(void *context, void (*work)(void *), void *queue, uintptr_t caller) {
    dispatch_resolved();
    int passed_through = from_scheduler(caller);
    void *scope = scope_for_work(passed_through);
    void *queue_object = passed_through ? NULL : lv_dispatch_serial_queue_object(queue, caller);
    if (!scope && !queue_object) return NULL;
    scoped_call *call = malloc(sizeof *call);
    if (!call) {
        release_scope(scope);
        return NULL;
    }
    *call = (scoped_call){context, work, NULL, scope, queue_object, caller};
    if (queue_object) lv_dispatch_queue_block_submitted(queue_object);
    return call;
}

#define SCOPED_FUNCTION_CALL(real_call, queue, ...)                           \
    scoped_call *call = scoped_function(context, work, queue, CALLER);        \
    if (call) {                                                               \
        real_call(__VA_ARGS__, call, run_scoped_call);                        \
    } else {                                                                  \
        real_call(__VA_ARGS__, context, work);                                \
    }

void dispatch_async_f(void *queue, void *context, void (*work)(void *)) {
    SCOPED_FUNCTION_CALL(scoped_real.dispatch_async_f, queue, queue);
}

void dispatch_barrier_async_f(void *queue, void *context, void (*work)(void *)) {
    SCOPED_FUNCTION_CALL(scoped_real.dispatch_barrier_async_f, queue, queue);
}

void dispatch_group_async_f(void *group, void *queue, void *context, void (*work)(void *)) {
    SCOPED_FUNCTION_CALL(scoped_real.dispatch_group_async_f, queue, group, queue);
}

void dispatch_group_notify_f(void *group, void *queue, void *context, void (*work)(void *)) {
    SCOPED_FUNCTION_CALL(scoped_real.dispatch_group_notify_f, queue, group, queue);
}

void dispatch_after_f(uint64_t when, void *queue, void *context, void (*work)(void *)) {
    SCOPED_FUNCTION_CALL(scoped_real.dispatch_after_f, queue, when, queue);
}

void dispatch_apply_f(size_t iterations, void *queue, void *context, void (*work)(void *, size_t)) {
    dispatch_resolved();
    uintptr_t caller = CALLER;
    void *scope = scope_for_work(from_scheduler(caller));
    if (!scope) {
        scoped_real.dispatch_apply_f(iterations, queue, context, work);
        return;
    }
    // Synchronous: the iterations are done when it returns, so the wrapper can live on the stack.
    scoped_call call = {context, NULL, work, scope, NULL, caller};
    scoped_real.dispatch_apply_f(iterations, queue, &call, run_scoped_apply);
    release_scope(scope);
}

// MARK: swift_task_create: a task that does not inherit task-locals inherits its creator's scope

// Task.detached starts with no task-local values, so no scope. Its creation (swift_task_create, called
// from the client binary) maps the new task to its creator's scope here; the validator asks for the
// running task's entry when it has no task-local scope. Each entry keeps its task retained, so that its
// address is not reused while the entry exists; entries whose task only this table still holds (the
// task finished and nobody kept its handle) are dropped as the table grows.

typedef struct {
    void *task;
    void *context;
} task_and_context;

typedef __attribute__((swiftcall)) task_and_context (*task_create_function)(size_t, void *, const void *, void *,
                                                                             void *);
typedef __attribute__((swiftcall)) void *(*current_task_function)(void);
typedef __attribute__((swiftcall)) void (*async_let_begin_function)(void *, void *, const void *, void *, void *,
                                                                   void *);

/// TaskCreateFlags (swift/ABI/MetadataValues.h): a child task, and a task that copies the creator's
/// task-locals (Task.init), find the creator's task-local scope themselves.
enum { TASK_IS_CHILD = 1 << 8, TASK_COPIES_TASK_LOCALS = 1 << 10 };

typedef struct {
    void *task;
    void *scope;
} task_scope;

static struct {
    task_create_function create;
    async_let_begin_function async_let_begin;
    current_task_function current_task;
    void *(*retain)(void *);
    void (*release)(void *);
    size_t (*retain_count)(void *);
    pthread_mutex_t lock;  // locked through `real`, never validated
    int used;
    task_scope *entries;
    size_t count, capacity, prune_at;
} task_scopes = {.lock = PTHREAD_MUTEX_INITIALIZER, .prune_at = 64};

static pthread_once_t task_scopes_once = PTHREAD_ONCE_INIT;

static void resolve_task_functions(void) {
    task_scopes.create = (task_create_function)next_symbol("swift_task_create");
    task_scopes.async_let_begin = (async_let_begin_function)next_symbol("swift_asyncLet_begin");
    task_scopes.current_task = (current_task_function)default_symbol("swift_task_getCurrent");
    task_scopes.retain = (void *(*)(void *))default_symbol("swift_retain");
    task_scopes.release = (void (*)(void *))default_symbol("swift_release");
    task_scopes.retain_count = (size_t (*)(void *))default_symbol("swift_retainCount");
}

/// With the table locked: moves the entries of finished tasks to `dropped` (their count is returned).
static size_t prune_task_scopes(task_scope *dropped, size_t room) {
    size_t kept = 0, count = 0;
    for (size_t i = 0; i < task_scopes.count; i++) {
        task_scope entry = task_scopes.entries[i];
        if (count < room && task_scopes.retain_count(entry.task) <= 1) {
            dropped[count++] = entry;
        } else {
            task_scopes.entries[kept++] = entry;
        }
    }
    task_scopes.count = kept;
    task_scopes.prune_at = kept * 2 > 64 ? kept * 2 : 64;
    return count;
}

/// With the table locked: adds an entry for `task` (retaining it), taking `scope`; 0 if out of memory.
static int add_task_scope(void *task, void *scope) {
    if (task_scopes.count == task_scopes.capacity) {
        size_t capacity = task_scopes.capacity ? task_scopes.capacity * 2 : 64;
        task_scope *grown = realloc(task_scopes.entries, capacity * sizeof *grown);
        if (!grown) return 0;
        task_scopes.entries = grown;
        task_scopes.capacity = capacity;
    }
    task_scopes.retain(task);
    task_scopes.entries[task_scopes.count++] = (task_scope){task, scope};
    return 1;
}

/// The scope, as a token, for a task about to be created (NULL: create it as is); on a non-NULL return the
/// thread is inside the validator with the table locked, until created_in_scope.
static void *will_create_in_scope(int inherits_locals) {
    if (!validating() || !task_scopes.retain || !task_scopes.retain_count || !task_scopes.current_task) return NULL;
    lv_enter_validator();
    void *scope = lv_scope_capture_for_task(inherits_locals);
    if (!scope) {
        lv_leave_validator();
        return NULL;
    }
    __atomic_store_n(&task_scopes.used, 1, __ATOMIC_RELEASE);
    // Locked across the creation: the task may start on another thread at once, and its first violation
    // must find its entry (the lookup waits for the lock). Inside the validator, every call the runtime
    // makes meanwhile is passed through.
    REAL(mutex_lock)(&task_scopes.lock);
    return scope;
}

/// After will_create_in_scope: enters `task` (NULL: none was made) with `scope`, and unlocks.
static void created_in_scope(void *task, void *scope) {
    enum { PRUNE_ROOM = 256 };
    task_scope dropped[PRUNE_ROOM];
    size_t dropped_count = 0;
    if (task_scopes.count >= task_scopes.prune_at) dropped_count = prune_task_scopes(dropped, PRUNE_ROOM);
    int added = task && add_task_scope(task, scope);
    REAL(mutex_unlock)(&task_scopes.lock);
    if (!added) lv_scope_release(scope);
    for (size_t i = 0; i < dropped_count; i++) lv_scope_release(dropped[i].scope);
    lv_leave_validator();
    // Outside the validator: a finished task's result may run deinitialisers that take locks.
    for (size_t i = 0; i < dropped_count; i++) task_scopes.release(dropped[i].task);
}

__attribute__((swiftcall)) task_and_context swift_task_create(size_t flags, void *options, const void *result_type,
                                                              void *function, void *context) {
    pthread_once(&task_scopes_once, resolve_task_functions);
    void *scope = will_create_in_scope((flags & (TASK_IS_CHILD | TASK_COPIES_TASK_LOCALS)) != 0);
    task_and_context made = task_scopes.create(flags, options, result_type, function, context);
    if (scope) created_in_scope(made.task, scope);
    return made;
}

/// The task an `async let` began: AsyncLetImpl (stdlib/public/Concurrency/AsyncLet.cpp) is a
/// ChildTaskStatusRecord (flags, parent record, first child: the task) followed by the task again with
/// flags in its two low bits. Unless both agree and name a task (one with the creating task's metadata),
/// the layout is not this one, and NULL leaves the child unrecorded.
static void *async_let_task(void *const *async_let) {
    void *task = async_let[2];
    if (!task || ((uintptr_t)async_let[3] & ~(uintptr_t)3) != (uintptr_t)task) return NULL;
    void *creator = task_scopes.current_task();
    return creator && *(void *const *)creator == *(void *const *)task ? task : NULL;
}

// `async let` creates its child task inside the runtime, out of reach of the interposed swift_task_create.
__attribute__((swiftcall)) void swift_asyncLet_begin(void *async_let, void *options, const void *result_type,
                                                     void *function, void *context, void *result_buffer) {
    pthread_once(&task_scopes_once, resolve_task_functions);
    void *scope = will_create_in_scope(1);
    task_scopes.async_let_begin(async_let, options, result_type, function, context, result_buffer);
    if (scope) created_in_scope(async_let_task(async_let), scope);
}

void *lv_scope_of_current_task(void) {
    if (!__atomic_load_n(&task_scopes.used, __ATOMIC_ACQUIRE)) return NULL;
    void *task = task_scopes.current_task();
    if (!task) return NULL;
    void *scope = NULL;
    lv_enter_validator();
    REAL(mutex_lock)(&task_scopes.lock);
    for (size_t i = 0; i < task_scopes.count; i++) {
        if (task_scopes.entries[i].task == task) {
            scope = task_scopes.entries[i].scope;
            lv_scope_retain(scope);
            break;
        }
    }
    REAL(mutex_unlock)(&task_scopes.lock);
    lv_leave_validator();
    return scope;
}
