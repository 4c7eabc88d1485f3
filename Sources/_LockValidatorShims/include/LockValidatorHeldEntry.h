// The held-stack accessor, in a header of its own: its pointers are marked non-null (so Swift checks
// nothing), and clang wants every pointer of a header marked once one is.
#ifndef LOCK_VALIDATOR_HELD_ENTRY_H
#define LOCK_VALIDATOR_HELD_ENTRY_H

/// Entry `index` of `thread`'s held stack: a plain address computation, even in an unoptimised build
/// (where Swift's `withUnsafeMutablePointer(to:)` on the C array costs a generic call and more).
static inline lv_held_lock *_Nonnull lv_held_entry(lv_thread_state *_Nonnull thread, long index) {
    return &thread->held[index];
}

/// The routine family (1 ordinary, 2 queued, 4 interrupt, 8 annotated) of each AcquireKind raw value:
/// ordinary 1, queued 2, interrupt 3, try 4 (an ordinary routine), annotated 5; anything else annotated.
/// A table, because the hot paths ask on every acquire and release, and a shift by a variable ties
/// up a register x86 needs for it.
static const uint8_t lv_kind_families[8] = {8, 1, 2, 4, 1, 8, 8, 8};
static inline uint8_t lv_kind_family(uint8_t kind) { return lv_kind_families[kind & 7]; }

/// Where `lock_class` starts: a push stores it and the four bytes after it (kind, irql, flags, nesting)
/// as one little-endian word.
#define LV_HELD_CLASS_OFFSET 8
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a push packs the class and its bytes");
_Static_assert(offsetof(lv_held_lock, lock_class) == LV_HELD_CLASS_OFFSET
                   && offsetof(lv_held_lock, nesting) == LV_HELD_CLASS_OFFSET + 7,
               "a push packs the class, kind, irql, flags and nesting into one word");

#endif
