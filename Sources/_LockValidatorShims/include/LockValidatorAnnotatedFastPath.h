// The uncontended pair of an interposed sleeping lock (a pthread mutex, a writer's rwlock), in C: lockdep's
// lock_acquire + lock_acquired and lock_release when they teach the validator nothing. A user's plain
// `swift test` builds the validator unoptimised, where the Swift steps cost ten times what they cost
// optimised (every call zeroes its frame; generic and reference-counted code is not specialised); C costs
// about the same either way. Anything the fast path does not know to be routine goes to the Swift steps
// (LockTracking), which stay the definition of every check: the fast path only skips steps that would find
// nothing. Included by LockValidatorShims.h.
#ifndef LOCK_VALIDATOR_ANNOTATED_FAST_PATH_H
#define LOCK_VALIDATOR_ANNOTATED_FAST_PATH_H

/// AcquireKind.annotated: the kind of a sleeping annotated lock's held entries.
#define LV_KIND_ANNOTATED 5

/// The chain cache's current table (Swift's `ChainCache`): slot 0 holds the mask (capacity - 1), the
/// others the keys of validated chains, 0 for an empty slot. NULL until the first chain is validated;
/// published with a release store. A replaced table stays mapped but reads as zeros (a miss): see
/// ChainCache.
extern uint64_t *lv_chain_table;

static inline uint64_t *lv_chain_table_current(void) { return __atomic_load_n(&lv_chain_table, __ATOMIC_RELAXED); }
static inline void lv_chain_table_publish(uint64_t *table) {
    __atomic_store_n(&lv_chain_table, table, __ATOMIC_RELEASE);
}

/// `key` (a chain) extended by `element` (a class id and how it is held): splitmix64's finalizer of the
/// two, never 0 (an empty slot). The only definition: `ChainCache.extend` calls it.
static inline __attribute__((always_inline)) uint64_t lv_chain_extend(uint64_t key, uint32_t element) {
    uint64_t mixed = (key ^ ((uint64_t)element * 0x9E3779B97F4A7C15ull)) + 0x632BE59BD9B4E019ull;
    mixed = (mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9ull;
    mixed = (mixed ^ (mixed >> 27)) * 0x94D049BB133111EBull;
    mixed ^= mixed >> 31;
    return mixed == 0 ? 1 : mixed;
}

/// Whether the chain `key` was validated: one probe of the chain cache, lock-free.
static inline __attribute__((always_inline)) int lv_chain_contains(uint64_t key) {
    const uint64_t *table = __atomic_load_n(&lv_chain_table, __ATOMIC_ACQUIRE);
    if (table == NULL) return 0;
    uint64_t mask = __atomic_load_n(&table[0], __ATOMIC_RELAXED);
    for (uint64_t index = key & mask;; index = (index + 1) & mask) {
        uint64_t slot = __atomic_load_n(&table[1 + index], __ATOMIC_RELAXED);
        if (slot == key) return 1;
        if (slot == 0) return 0;
    }
}

// lock_stat (Swift's `LockStatisticsBlock`): one cache line of 64-bit slots per (thread, lock class), written
// only by its thread (relaxed loads and stores); slots 4 to 7 hold eight 32-bit short buckets. Slot 1 points to
// the line's cold slots (contentions, wait times, the full histogram), NULL until its first contention or hold
// outside the short buckets. A timed hold counts as an acquisition too (the holds are the buckets' sum): slot 0
// counts only the acquisitions with no timed hold (readers', untimed ones, untracked ones).
enum {
    LV_STAT_ACQUISITIONS = 0,
    LV_STAT_COLD = 1,
    LV_STAT_HOLD_TOTAL = 2,
    LV_STAT_HOLD_MAX = 3,
    LV_STAT_SHORT_BUCKETS = 4,
    LV_STAT_FIRST_SHORT_BUCKET = 5,
    LV_STAT_SHORT_BUCKET_COUNT = 8,
    // The cold slots.
    LV_STAT_CONTENTIONS = 0,
    LV_STAT_WAIT_TOTAL = 1,
    LV_STAT_WAIT_MAX = 2,
    LV_STAT_FIRST_BUCKET = 4,
    LV_STAT_BUCKETS = 48,
    LV_STAT_COLD_SLOTS = LV_STAT_FIRST_BUCKET + LV_STAT_BUCKETS,
};

static inline __attribute__((always_inline)) void lv_stat_add(uint64_t *slots, int slot, uint64_t amount) {
    __atomic_store_n(&slots[slot], __atomic_load_n(&slots[slot], __ATOMIC_RELAXED) + amount, __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline)) void lv_stat_raise(uint64_t *slots, int slot, uint64_t value) {
    if (value > __atomic_load_n(&slots[slot], __ATOMIC_RELAXED)) {
        __atomic_store_n(&slots[slot], value, __ATOMIC_RELAXED);
    }
}

/// The cold slots of the line `slots`, allocated zeroed on first use (any thread may ask: the first
/// pointer published wins).
uint64_t *lv_stat_cold(uint64_t *slots);

/// Frees the cold slots of `slots`, if any (the instance is gone).
void lv_stat_cold_free(uint64_t *slots);

/// Moves the short buckets' counts to their full buckets (once one reaches 2^31, so that none wraps).
void lv_stat_move_short_buckets(uint64_t *slots);

/// Counts one hold outside the short buckets (bucket `width`): a hold under 16 cycles (an empty critical
/// section, less the validator's own time) in the first short bucket, as if 16, so that a lock held for
/// nothing needs no cold slots; a longer one in the cold slots.
void lv_stat_record_long_hold(uint64_t *slots, int width);

/// Counts one completed hold of `cycles` in its log2 bucket (bucket i holds [2^(i-1), 2^i)); the holds
/// most locks have (16 to 4,095 cycles, and shorter ones as 16) in the line's short buckets. The same as Swift's
/// `LockStatisticsBlock.recordHold` (which does not call it: see there). The number of holds is the
/// buckets' sum: not counted apart.
static inline __attribute__((always_inline)) void lv_stat_record_hold(uint64_t *slots, uint64_t cycles) {
    lv_stat_add(slots, LV_STAT_HOLD_TOTAL, cycles);
    lv_stat_raise(slots, LV_STAT_HOLD_MAX, cycles);
    int width = cycles == 0 ? 0 : 64 - __builtin_clzll(cycles);  // the bucket's index
    uint64_t short_index = (uint64_t)(width - LV_STAT_FIRST_SHORT_BUCKET);
    if (__builtin_expect(short_index < LV_STAT_SHORT_BUCKET_COUNT, 1)) {
        uint32_t *bucket = (uint32_t *)&slots[LV_STAT_SHORT_BUCKETS] + short_index;
        uint32_t count = __atomic_load_n(bucket, __ATOMIC_RELAXED) + 1;
        __atomic_store_n(bucket, count, __ATOMIC_RELAXED);
        if (__builtin_expect(count >> 31, 0)) lv_stat_move_short_buckets(slots);
        return;
    }
    // A long hold once the cold slots exist, without a call (whether a hold is long depends on the machine's
    // load: a call here made the interposed pair's cost move with it in a debug build).
    uint64_t *cold = (uint64_t *)__atomic_load_n(&slots[LV_STAT_COLD], __ATOMIC_ACQUIRE);
    if (cold != NULL && width >= LV_STAT_FIRST_SHORT_BUCKET) {
        lv_stat_add(cold, LV_STAT_FIRST_BUCKET + (width < LV_STAT_BUCKETS - 1 ? width : LV_STAT_BUCKETS - 1), 1);
        return;
    }
    lv_stat_record_long_hold(slots, width);
}

/// Where a `LockClass` object keeps what the fast path reads of it (Swift lays a final class's stored
/// properties out in order after its 16-byte header; `PthreadLock.make` checks these against each class).
enum {
    LV_CLASS_ID_OFFSET = 16,              ///< `id` (uint32_t): the chain element of an exclusive hold
    LV_CLASS_LEVELS_USED_OFFSET = 22,     ///< `levelsUsed` (uint16_t, atomic): bit n, held at IRQL n
    LV_CLASS_CHAIN_KEY_ALONE_OFFSET = 24, ///< `chainKeyAlone` (uint64_t): an outermost hold's chain key
};

/// One interposed sleeping lock's state as Swift lays it out (`PthreadLock`, whose first field is its
/// `LockTracking`): the fast path reads it in place, so a lock needs no C copy of these fields (48 bytes a
/// lock). `PthreadLock.make` checks every offset the fast path reads against the Swift value it made.
typedef struct lv_annotated_fast {
    const uint8_t *lock_class;  ///< the `LockClass` object (its fields at the LV_CLASS_* offsets)
    uint64_t instance;          ///< the lock instance's serial
    uint32_t owner;             ///< the owner word (serial of the holding thread, 0 when free)
    uint8_t kinds_used;
    uint8_t policy;
    uint16_t held_before;       ///< the generation of the instance's first hold (`LockTracking.heldBefore`)
    uint32_t device_levels;     ///< bit n: the instance was held at device IRQL n
    uint32_t init_site;
    uint64_t hold_budget_cycles;
    uint8_t kind;
    uint8_t nesting;
    uint8_t eligible;           ///< 0: every acquire and release takes the Swift steps
    uint8_t unused2;
    const void *address;        ///< the pthread lock itself
} lv_annotated_fast;
_Static_assert(sizeof(lv_annotated_fast) == 56, "PthreadLock's size");

/// A field of the class of `lock` (an `lv_annotated_fast *`): read where used, with no local to keep (in a
/// debug build each local is a store; optimised, one kept across the chain probe cost a saved register).
#define LV_CLASS_FIELD(lock, type, offset) (*(const type *)((lock)->lock_class + (offset)))

/// An exclusive acquire of `lock` by `thread` (the calling thread's state) that took the lock without
/// waiting, at PASSIVE_LEVEL, holding only sleeping locks (none of them this one), with room on the held
/// stack, in a chain validated before, of a class used at PASSIVE_LEVEL before: pushes the held entry,
/// extends the chain key, and counts and stamps the hold (LockTracking's acquire steps 4 and 5, and
/// acquired, which find nothing then). Returns 0, having changed nothing, otherwise: the caller takes the
/// Swift steps.
static inline __attribute__((always_inline)) int lv_annotated_took_fast(const lv_annotated_fast *lock,
                                                                       lv_thread_state *thread,
                                                                       uintptr_t return_address) {
    uint32_t depth = thread->depth;
#if defined(__OPTIMIZE__)
    // Each its own expected-false branch: as one condition, the optimiser computed the last two as flags.
    if (!lock->eligible || thread->serial == 0) return 0;
    if (__builtin_expect(thread->irql != 0, 0) || __builtin_expect(depth >= LV_MAX_HELD, 0)) return 0;
#else
    // Unoptimised (a debug build), the plain condition is the fewer instructions.
    if (!lock->eligible || thread->serial == 0 || thread->irql != 0 || depth >= LV_MAX_HELD) return 0;
#endif
    if ((__atomic_load_n(&LV_CLASS_FIELD(lock, uint16_t, LV_CLASS_LEVELS_USED_OFFSET), __ATOMIC_RELAXED) & 1) == 0) {
        return 0;
    }
    // blocking-while-held (a spin lock held) and an acquire of a lock held already are the Swift steps'.
    for (uint32_t index = 0; index < depth; index++) {
        const lv_held_lock *held = &thread->held[index];
        if (held->instance == lock->instance || held->kind != LV_KIND_ANNOTATED) return 0;
    }
    uint64_t previous = thread->chain_key;
    // lv_chain_extend(0, class_id) and the thread's seed: the first lock has no order to learn.
    uint64_t key = LV_CLASS_FIELD(lock, uint64_t, LV_CLASS_CHAIN_KEY_ALONE_OFFSET) ^ thread->chain_seed;
    if (previous != 0) {
        key = lv_chain_extend(previous, LV_CLASS_FIELD(lock, uint32_t, LV_CLASS_ID_OFFSET));
        if (!lv_chain_contains(key)) return 0;  // a chain to validate
    }
    lv_held_lock *entry = &thread->held[depth];
    entry->instance = lock->instance;
    entry->lock_class = LV_CLASS_FIELD(lock, uint32_t, LV_CLASS_ID_OFFSET);
    entry->kind = LV_KIND_ANNOTATED;
    entry->irql = 0;
    entry->flags = 0;
    entry->nesting = 0;
    entry->queue_node = NULL;
    entry->file = "";  // `line` is a code address
    entry->line = return_address;
    entry->prev_chain_key = previous;
    entry->lock_object = NULL;
    // A slot above the stack may still count as carrying its own snapshot: this hold begins under the thread's.
    if (thread->snapshot_own_below > depth) thread->snapshot_own_below = (uint16_t)depth;
    thread->depth = (uint16_t)(depth + 1);
    thread->chain_key = key;
    __atomic_store_n((uint32_t *)&lock->owner, thread->serial, __ATOMIC_RELAXED);
    // The acquisition is counted with its hold, at the release, in the thread's line for the class.
    // A sleeping lock has no hold budget: its hold is only timed, with no CPU-time snapshot.
    entry->acquired_tsc = lv_rdtsc();
    entry->validator_cycles = thread->validator_cycles;
    return 1;
}

/// A release of `lock` by `thread` (the calling thread's state), whose exclusive, timed hold is the
/// thread's newest: pops it, frees the owner word and counts the hold (LockTracking's release, which finds
/// nothing then: a sleeping lock has no hold budget). Returns 0, having changed nothing, otherwise: the
/// caller takes the Swift steps.
static inline __attribute__((always_inline)) int lv_annotated_release_fast(const lv_annotated_fast *lock,
                                                                          lv_thread_state *thread) {
    uint64_t released = lv_rdtsc();  // the hold ends here, before the bookkeeping
    uint32_t depth = thread->depth;
    if (!lock->eligible || thread->serial == 0 || depth == 0) return 0;
    lv_held_lock *entry = &thread->held[depth - 1];
    if (entry->instance != lock->instance || entry->acquired_tsc == 0 ||
        (entry->flags & (LV_HELD_RECURSIVE | LV_HELD_NESTED | LV_HELD_SHARED)) != 0) {
        return 0;
    }
    // The thread's line of counters for the class (the entry's class: nesting 0 here); none yet, the Swift
    // steps make it.
    uint64_t *line = entry->stat_line;
    if (__builtin_expect(entry->stat_class != entry->lock_class, 0)) {
        line = lv_held_stat_line(thread, entry, entry->lock_class);
        if (line == NULL) return 0;
    }
    // The hold less the validator's own slow paths meanwhile.
    uint64_t validator = thread->validator_cycles - entry->validator_cycles;
    uint64_t wall = released - entry->acquired_tsc;
    uint64_t held = wall - (validator < wall ? validator : wall);
    thread->chain_key = entry->prev_chain_key;
    thread->depth = (uint16_t)(depth - 1);
    if (__atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == thread->serial) {
        __atomic_store_n((uint32_t *)&lock->owner, 0, __ATOMIC_RELAXED);
    }
    lv_stat_record_hold(line, held);
    return 1;
}

#endif
