// The blocking calls of the pthread interposer (private to _LockValidatorInterpose): a call that may
// block, made while the thread holds a spin lock or runs above APC_LEVEL, is `blocking-while-held`.
#ifndef LOCK_VALIDATOR_BLOCKING_CALLS_H
#define LOCK_VALIDATOR_BLOCKING_CALLS_H

#include <stdint.h>

/// Reports `name` (the C function's), called from `caller` where the thread must not block, unless the
/// validator itself made the call or validation is off; errno is kept. The caller has seen
/// lv_must_not_block().
void lv_blocking_call(const char *name, uintptr_t caller);

/// Whether `caller` is in the Swift runtime's or Dispatch's code (interpose.c), whose own lock waits are
/// not the program's.
int lv_called_from_runtime(uintptr_t caller);

#endif
