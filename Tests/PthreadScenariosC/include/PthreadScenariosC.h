// C code for the pthread scenarios: locks taken by C, as a C library would.
#ifndef PTHREAD_SCENARIOS_C_H
#define PTHREAD_SCENARIOS_C_H

#include <stdint.h>
#include <pthread.h>

/// Takes the first static mutex, then the second.
void scenario_c_first_then_second(void);
/// Takes the second static mutex, then the first: the reverse order.
void scenario_c_second_then_first(void);
/// The two orders on two pthreads, the second created after the first was joined: a cycle that cannot
/// deadlock in this run (ordered by join).
void scenario_c_abba_joined(void);
/// `threads` threads (at most 16) start at once, take a gate, then two static mutexes, in one order on
/// even threads and the other on odd ones. The gate is a static mutex, whose first locks the threads race
/// for; with `heap_gates`, a mutex initialised at one site, of which a second is alive and taken.
void scenario_c_gate_race(int threads, int heap_gates);
/// Initialises two mutexes at two sites and takes them, in order, `rounds` times from `threads` threads.
int scenario_c_consistent(int threads, int rounds);

/// Takes two static mutexes, both first locked through one helper, in one order, three times.
void scenario_c_statics_through_one_helper(void);
/// Creates mutexes in functions named `clock_reader_create`, `block_cache_create` (program code) and
/// through `my_lock_init` (a lock wrapper), and takes them in an order and its reverse.
void scenario_c_open_reader_and_cache(void);
/// Unlocks a statically initialised mutex nothing locked; returns what `pthread_mutex_unlock` did.
int scenario_c_release_what_nobody_holds(void);

/// Calls `function(context)` from a frame that keeps no frame pointer and leaves rbp as its caller
/// had it, as -O2 C code often does: a walk by frame pointers alone would skip this frame's caller.
void scenario_c_call_without_frame_pointer(void (*function)(void *), void *context);

/// A futex wait on `word` expecting 1 (through the C library's syscall()): `word` holds something else,
/// so it returns EAGAIN at once, as a wait whose word changed does. Returns syscall's answer.
long scenario_c_futex_wait_changed(uint32_t *word);
/// Whether a thread waits for `mutex` in the kernel (glibc's lock word is 2 once a waiter sleeps on it): the
/// waiter found it held, so its acquire is a contention however the holder and waiter are scheduled.
int scenario_c_mutex_has_waiters(pthread_mutex_t *mutex);

#endif
