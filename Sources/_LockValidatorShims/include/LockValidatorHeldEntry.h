// The held-stack accessor, in a header of its own: its pointers are marked non-null (so Swift checks
// nothing), and clang wants every pointer of a header marked once one is.
#ifndef LOCK_VALIDATOR_HELD_ENTRY_H
#define LOCK_VALIDATOR_HELD_ENTRY_H

/// Entry `index` of `thread`'s held stack: a plain address computation, even in an unoptimised build
/// (where Swift's `withUnsafeMutablePointer(to:)` on the C array costs a generic call and more).
static inline lv_held_lock *_Nonnull lv_held_entry(lv_thread_state *_Nonnull thread, long index) {
    return &thread->held[index];
}

#endif
