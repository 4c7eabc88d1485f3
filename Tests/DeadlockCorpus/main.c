// Deadlocks, and long waits that are not deadlocks, in plain C with no LockValidator in it:
// `deadlock-corpus <scenario>`. Run under LD_PRELOAD=libLockValidatorPreload.so, each deadlock ends the
// process with a `deadlock` report; each other scenario finishes, and prints what it returned.
//
// Threads meet at a barrier once each holds its first lock, so that the deadlocks really happen.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// MARK: Threads that take two locks

typedef enum { MUTEX, READ, WRITE, SPIN, TIMED_MUTEX } how;

/// One acquire: a lock and how it is taken (TIMED_MUTEX: pthread_mutex_timedlock, 60 s ahead).
typedef struct {
    how how;
    void *lock;
} take;

/// A thread that takes `first`, meets the others at the barrier, then takes `second`.
typedef struct {
    const char *name;
    take first, second;
} party;

static pthread_barrier_t barrier;

static struct timespec realtime_in(double seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    long nanoseconds = (long)((seconds - (long)seconds) * 1e9);
    deadline.tv_sec += (long)seconds + (deadline.tv_nsec + nanoseconds) / 1000000000;
    deadline.tv_nsec = (deadline.tv_nsec + nanoseconds) % 1000000000;
    return deadline;
}

static int take_lock(take taken) {
    switch (taken.how) {
    case MUTEX: return pthread_mutex_lock(taken.lock);
    case READ: return pthread_rwlock_rdlock(taken.lock);
    case WRITE: return pthread_rwlock_wrlock(taken.lock);
    case SPIN: return pthread_spin_lock(taken.lock);
    case TIMED_MUTEX: {
        struct timespec deadline = realtime_in(60);
        return pthread_mutex_timedlock(taken.lock, &deadline);
    }
    }
    return EINVAL;
}

static void release_lock(take taken) {
    switch (taken.how) {
    case MUTEX:
    case TIMED_MUTEX: pthread_mutex_unlock(taken.lock); break;
    case READ:
    case WRITE: pthread_rwlock_unlock(taken.lock); break;
    case SPIN: pthread_spin_unlock(taken.lock); break;
    }
}

static void *run_party(void *argument) {
    const party *self = argument;
    pthread_setname_np(pthread_self(), self->name);
    take_lock(self->first);
    pthread_barrier_wait(&barrier);
    if (take_lock(self->second) == 0) release_lock(self->second);
    release_lock(self->first);
    return NULL;
}

static int run_parties(party *parties, unsigned count) {
    pthread_t threads[8];
    pthread_barrier_init(&barrier, NULL, count);
    for (unsigned index = 0; index < count; index++) pthread_create(&threads[index], NULL, run_party, &parties[index]);
    for (unsigned index = 0; index < count; index++) pthread_join(threads[index], NULL);
    return 0;
}

static pthread_mutex_t mutex_a, mutex_b, mutex_c;
static pthread_rwlock_t table, index_lock;
static pthread_spinlock_t spin;

/// Each lock initialised at a call of its own: its own class (lock classes are keyed by init site).
static void set_up(void) {
    pthread_mutex_init(&mutex_a, NULL);
    pthread_mutex_init(&mutex_b, NULL);
    pthread_mutex_init(&mutex_c, NULL);
    pthread_rwlock_init(&table, NULL);
    pthread_rwlock_init(&index_lock, NULL);
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
}

// MARK: Deadlocks

static int abba(void) {
    party parties[] = {
        {"abba-one", {MUTEX, &mutex_a}, {MUTEX, &mutex_b}},
        {"abba-two", {MUTEX, &mutex_b}, {MUTEX, &mutex_a}},
    };
    return run_parties(parties, 2);
}

static int three_cycle(void) {
    party parties[] = {
        {"cycle-one", {MUTEX, &mutex_a}, {MUTEX, &mutex_b}},
        {"cycle-two", {MUTEX, &mutex_b}, {MUTEX, &mutex_c}},
        {"cycle-three", {MUTEX, &mutex_c}, {MUTEX, &mutex_a}},
    };
    return run_parties(parties, 3);
}

static int rwlock_writers(void) {
    party parties[] = {
        {"writer-one", {WRITE, &table}, {WRITE, &index_lock}},
        {"writer-two", {WRITE, &index_lock}, {WRITE, &table}},
    };
    return run_parties(parties, 2);
}

/// A reader holding `table` blocked on `index_lock`, which a writer holds, blocked on `table`.
static int rwlock_reader_writer(void) {
    party parties[] = {
        {"reader", {READ, &table}, {READ, &index_lock}},
        {"writer", {WRITE, &index_lock}, {WRITE, &table}},
    };
    return run_parties(parties, 2);
}

static int mutex_spin(void) {
    party parties[] = {
        {"mutex-holder", {MUTEX, &mutex_a}, {SPIN, (void *)&spin}},
        {"spin-holder", {SPIN, (void *)&spin}, {MUTEX, &mutex_a}},
    };
    return run_parties(parties, 2);
}

/// A timed lock whose deadline is a minute away hangs the run as long as an untimed one.
static int timed_abba(void) {
    party parties[] = {
        {"timed-one", {MUTEX, &mutex_a}, {TIMED_MUTEX, &mutex_b}},
        {"timed-two", {MUTEX, &mutex_b}, {MUTEX, &mutex_a}},
    };
    return run_parties(parties, 2);
}

/// A thread locking a normal mutex it holds: recursive-acquire, reported instead of hanging.
static int self_deadlock(void) {
    pthread_mutex_lock(&mutex_a);
    int second = pthread_mutex_lock(&mutex_a);
    pthread_mutex_unlock(&mutex_a);
    pthread_mutex_unlock(&mutex_a);
    return second == 0 && pthread_mutex_trylock(&mutex_a) == 0 ? 0 : 1;
}

// MARK: Long waits that are not deadlocks

static void sleep_seconds(double seconds) {
    struct timespec interval = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
    nanosleep(&interval, NULL);
}

static double monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void *hold_a_while_sleeping(void *unused) {
    pthread_setname_np(pthread_self(), "slow-holder");
    pthread_mutex_lock(&mutex_a);
    pthread_barrier_wait(&barrier);
    sleep_seconds(3);
    pthread_mutex_unlock(&mutex_a);
    return unused;
}

static void *wait_for_a(void *unused) {
    pthread_setname_np(pthread_self(), "waiter");
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&mutex_a);
    pthread_mutex_unlock(&mutex_a);
    return unused;
}

/// A thread holds a mutex for 3 s, sleeping, while two others wait for it.
static int slow_holder(void) {
    pthread_t threads[3];
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_create(&threads[0], NULL, hold_a_while_sleeping, NULL);
    pthread_create(&threads[1], NULL, wait_for_a, NULL);
    pthread_create(&threads[2], NULL, wait_for_a, NULL);
    for (int index = 0; index < 3; index++) pthread_join(threads[index], NULL);
    return 0;
}

static pthread_cond_t condition = PTHREAD_COND_INITIALIZER;
static int signalled;

static void *hold_a_in_condition_wait(void *unused) {
    pthread_setname_np(pthread_self(), "cond-waiter");
    pthread_mutex_lock(&mutex_a);
    pthread_mutex_lock(&mutex_b);
    pthread_barrier_wait(&barrier);
    while (!signalled) pthread_cond_wait(&condition, &mutex_b);
    pthread_mutex_unlock(&mutex_b);
    pthread_mutex_unlock(&mutex_a);
    return unused;
}

/// A thread waits 3 s on a condition while holding a mutex another thread waits for: the end of that
/// chain waits for a signal, not for a lock.
static int condition_wait(void) {
    pthread_t threads[2];
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_create(&threads[0], NULL, hold_a_in_condition_wait, NULL);
    pthread_create(&threads[1], NULL, wait_for_a, NULL);
    pthread_barrier_wait(&barrier);
    sleep_seconds(3);
    pthread_mutex_lock(&mutex_b);
    signalled = 1;
    pthread_cond_signal(&condition);
    pthread_mutex_unlock(&mutex_b);
    for (int index = 0; index < 2; index++) pthread_join(threads[index], NULL);
    return 0;
}

static volatile unsigned long spins;

static void *hold_b_while_running(void *unused) {
    pthread_setname_np(pthread_self(), "runner");
    pthread_mutex_lock(&mutex_b);
    pthread_barrier_wait(&barrier);
    for (double end = monotonic_seconds() + 3; monotonic_seconds() < end;) spins++;
    pthread_mutex_unlock(&mutex_b);
    return unused;
}

static void *hold_a_wait_for_b(void *unused) {
    pthread_setname_np(pthread_self(), "chained");
    pthread_mutex_lock(&mutex_a);
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&mutex_b);
    pthread_mutex_unlock(&mutex_b);
    pthread_mutex_unlock(&mutex_a);
    return unused;
}

/// waiter -> chained -> runner: the chain ends at a thread that runs (3 s), holding what it waits for.
static int running_chain(void) {
    pthread_t threads[3];
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_create(&threads[0], NULL, hold_b_while_running, NULL);
    pthread_create(&threads[1], NULL, hold_a_wait_for_b, NULL);
    pthread_create(&threads[2], NULL, wait_for_a, NULL);
    for (int index = 0; index < 3; index++) pthread_join(threads[index], NULL);
    return 0;
}

static int backoff_result = -1;

static void *back_off(void *unused) {
    pthread_setname_np(pthread_self(), "backoff");
    pthread_mutex_lock(&mutex_a);
    pthread_barrier_wait(&barrier);
    struct timespec deadline = realtime_in(2);
    int result = pthread_mutex_timedlock(&mutex_b, &deadline);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int early = now.tv_sec < deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec < deadline.tv_nsec);
    backoff_result = result == ETIMEDOUT && !early ? 0 : 1;
    if (result == 0) pthread_mutex_unlock(&mutex_b);
    pthread_mutex_unlock(&mutex_a);
    return unused;
}

static void *hold_b_wait_for_a(void *unused) {
    pthread_setname_np(pthread_self(), "patient");
    pthread_mutex_lock(&mutex_b);
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&mutex_a);
    pthread_mutex_unlock(&mutex_a);
    pthread_mutex_unlock(&mutex_b);
    return unused;
}

/// An ABBA where one side waits with a deadline of its own, 2 s away: it times out at its deadline (not
/// before), backs off, and the other side goes on. A cycle for 2 s, not a deadlock.
static int timed_backoff(void) {
    pthread_t threads[2];
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&threads[0], NULL, back_off, NULL);
    pthread_create(&threads[1], NULL, hold_b_wait_for_a, NULL);
    for (int index = 0; index < 2; index++) pthread_join(threads[index], NULL);
    return backoff_result;
}

// MARK: Lock semantics kept by the sliced wait

static pthread_mutex_t robust;

static void *die_holding(void *unused) {
    pthread_setname_np(pthread_self(), "dies-holding");
    pthread_mutex_lock(&robust);
    pthread_barrier_wait(&barrier);
    sleep_seconds(0.3);
    return unused;  // ends holding the mutex
}

/// A robust mutex whose owner dies while another thread waits for it: EOWNERDEAD.
static int robust_owner_died(void) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attributes);
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t thread;
    pthread_create(&thread, NULL, die_holding, NULL);
    pthread_barrier_wait(&barrier);
    int result = pthread_mutex_lock(&robust);
    if (result == EOWNERDEAD) pthread_mutex_consistent(&robust);
    pthread_mutex_unlock(&robust);
    pthread_join(thread, NULL);
    return result == EOWNERDEAD ? 0 : 1;
}

static pthread_mutex_t recursive;

static void *hold_recursive(void *unused) {
    pthread_mutex_lock(&recursive);
    pthread_mutex_lock(&recursive);
    pthread_barrier_wait(&barrier);
    sleep_seconds(0.3);
    pthread_mutex_unlock(&recursive);
    pthread_mutex_unlock(&recursive);
    return unused;
}

/// A recursive mutex waited for, then taken twice by its new holder.
static int recursive_contended(void) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&recursive, &attributes);
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t thread;
    pthread_create(&thread, NULL, hold_recursive, NULL);
    pthread_barrier_wait(&barrier);
    int first = pthread_mutex_lock(&recursive);
    int second = pthread_mutex_lock(&recursive);
    pthread_mutex_unlock(&recursive);
    pthread_mutex_unlock(&recursive);
    pthread_join(thread, NULL);
    return first == 0 && second == 0 ? 0 : 1;
}

// MARK: main

static const struct {
    const char *name;
    int (*run)(void);
} scenarios[] = {
    {"abba", abba},
    {"three-cycle", three_cycle},
    {"rwlock-writers", rwlock_writers},
    {"rwlock-reader-writer", rwlock_reader_writer},
    {"mutex-spin", mutex_spin},
    {"timed-abba", timed_abba},
    {"self-deadlock", self_deadlock},
    {"slow-holder", slow_holder},
    {"condition-wait", condition_wait},
    {"running-chain", running_chain},
    {"timed-backoff", timed_backoff},
    {"robust-owner-died", robust_owner_died},
    {"recursive-contended", recursive_contended},
};

int main(int argc, char **argv) {
    set_up();
    for (size_t index = 0; argc == 2 && index < sizeof scenarios / sizeof scenarios[0]; index++) {
        if (strcmp(argv[1], scenarios[index].name) != 0) continue;
        int result = scenarios[index].run();
        printf("deadlock-corpus: %s returned %d\n", argv[1], result);
        return result;
    }
    fprintf(stderr, "usage: deadlock-corpus <scenario>\nscenarios:");
    for (size_t index = 0; index < sizeof scenarios / sizeof scenarios[0]; index++) {
        fprintf(stderr, " %s", scenarios[index].name);
    }
    fprintf(stderr, "\n");
    return 2;
}
