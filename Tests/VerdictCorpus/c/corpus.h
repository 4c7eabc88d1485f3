// What every program of the verdict corpus shares: plain pthreads, no LockValidator.
//
// A deadlock-prone program must finish when run plainly, yet nothing but its locks may order its
// threads (a barrier or a flag between the two orders would make it not prone at all). So its threads
// start together at a barrier and then wait out a number of `steps` (200 ms each) before taking their
// orders: in the plain run the orders come one after the other in time, while some other schedule
// (a thread preempted for 200 ms with its first lock held) deadlocks. Critical sections last
// microseconds, so the plain run does not hang; the script runs every program under a timeout anyway.
#ifndef VERDICT_CORPUS_H
#define VERDICT_CORPUS_H
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static inline void wait_steps(int steps) {
    long ms = steps * 200L;
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0) {}
}

typedef void (*thread_body)(int index);

static pthread_barrier_t start_line __attribute__((unused));
static thread_body running_body __attribute__((unused));

static inline void *run_body(void *argument) {
    int index = (int)(long)argument;
    pthread_barrier_wait(&start_line);   // every thread is alive before any takes a lock
    running_body(index);
    return NULL;
}

/// Runs `body(0)` ... `body(count - 1)` on `count` threads started together, and joins them all.
static inline void run_together(int count, thread_body body) {
    pthread_t threads[8];
    running_body = body;
    pthread_barrier_init(&start_line, NULL, (unsigned)count);
    for (int index = 0; index < count; index++) pthread_create(&threads[index], NULL, run_body, (void *)(long)index);
    for (int index = 0; index < count; index++) pthread_join(threads[index], NULL);
    pthread_barrier_destroy(&start_line);
}

/// Takes `first` then `second`, and releases both.
static inline void nest(pthread_mutex_t *first, pthread_mutex_t *second) {
    pthread_mutex_lock(first);
    pthread_mutex_lock(second);
    pthread_mutex_unlock(second);
    pthread_mutex_unlock(first);
}

/// For the *-realdeadlock programs: each of `count` threads takes `first`, waits until all hold
/// theirs, then takes `second`, which another thread holds: a real deadlock, every time.
static pthread_barrier_t all_hold_first __attribute__((unused));

static inline void nest_meeting(pthread_mutex_t *first, pthread_mutex_t *second) {
    pthread_mutex_lock(first);
    pthread_barrier_wait(&all_hold_first);
    pthread_mutex_lock(second);   // never returns: the next thread holds it and waits for ours
    pthread_mutex_unlock(second);
    pthread_mutex_unlock(first);
}

#endif
