// The deadlock watchdog of the pthread interposer (private to _LockValidatorInterpose): a contended
// acquire waits in short slices of the C library's timed variant instead of one blocking call, and
// between slices looks for a wait-for cycle among the threads blocked the same way.
#ifndef LOCK_VALIDATOR_DEADLOCK_WATCHDOG_H
#define LOCK_VALIDATOR_DEADLOCK_WATCHDOG_H

#include "LockValidatorShims.h"

#include <stdint.h>
#include <time.h>

/// One slice of a wait: the C library's timed acquire of `lock` with an absolute `deadline` on `clock`
/// (0, ETIMEDOUT, or what the acquire returns).
typedef int (*lv_timed_attempt)(const void *lock, clockid_t clock, const struct timespec *deadline);

/// lv_wait_blocked's answer when the lock refuses timed waits (an untimed wait whose first slice failed
/// with EINVAL): the caller makes the C library's untimed call instead.
#define LV_WAIT_UNSUPPORTED (-1)

/// Waits for `lock` (whose validator object is `object`, NULL when untracked) by repeated `attempt`s of a
/// slice each, on `clock`; `how` is an LV_WAIT_* kind, `caller` the interposed call's return address.
/// With `timed`, `deadline` is the program's own (a timedlock's, a clocklock's) and the wait returns
/// ETIMEDOUT there, as the C library would; without, the wait lasts until the lock is taken. A wait past
/// a second that is part of a wait-for cycle of such waits is reported (`deadlock`) and the process
/// ended: it never returns then.
int lv_wait_blocked(const void *lock, void *object, uint32_t how, clockid_t clock, int timed,
                    const struct timespec *deadline, lv_timed_attempt attempt, uintptr_t caller);

#endif
