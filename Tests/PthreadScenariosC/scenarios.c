#include "PthreadScenariosC.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;

void scenario_c_first_then_second(void) {
    pthread_mutex_lock(&first);
    pthread_mutex_lock(&second);
    pthread_mutex_unlock(&second);
    pthread_mutex_unlock(&first);
}

void scenario_c_second_then_first(void) {
    pthread_mutex_lock(&second);
    pthread_mutex_lock(&first);
    pthread_mutex_unlock(&first);
    pthread_mutex_unlock(&second);
}

static void *first_then_second_routine(void *unused) {
    (void)unused;
    scenario_c_first_then_second();
    return NULL;
}

static void *second_then_first_routine(void *unused) {
    (void)unused;
    scenario_c_second_then_first();
    return NULL;
}

void scenario_c_abba_joined(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, first_then_second_routine, NULL) != 0) abort();
    pthread_join(thread, NULL);
    if (pthread_create(&thread, NULL, second_then_first_routine, NULL) != 0) abort();
    pthread_join(thread, NULL);
}

static pthread_mutex_t outer;
static pthread_mutex_t inner;
static long shared_counter;

struct work { int rounds; };

static void *take_in_order(void *argument) {
    struct work *work = argument;
    for (int i = 0; i < work->rounds; i++) {
        pthread_mutex_lock(&outer);
        pthread_mutex_lock(&inner);
        shared_counter++;
        pthread_mutex_unlock(&inner);
        pthread_mutex_unlock(&outer);
    }
    return NULL;
}

int scenario_c_consistent(int threads, int rounds) {
    pthread_mutex_init(&outer, NULL);
    pthread_mutex_init(&inner, NULL);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    struct work work = {rounds};
    shared_counter = 0;
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, take_in_order, &work);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    free(ids);
    pthread_mutex_destroy(&inner);
    pthread_mutex_destroy(&outer);
    return shared_counter == (long)threads * rounds ? 0 : 1;
}

#if defined(__x86_64__)
// In assembly, so that no compiler flag can give it a frame pointer; with call-frame information, so
// that libunwind can step over it.
__asm__(
    ".text\n"
    ".globl scenario_c_call_without_frame_pointer\n"
    ".type scenario_c_call_without_frame_pointer, @function\n"
    "scenario_c_call_without_frame_pointer:\n"
    "    .cfi_startproc\n"
    "    subq $8, %rsp\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    movq %rdi, %rax\n"
    "    movq %rsi, %rdi\n"
    "    callq *%rax\n"
    "    addq $8, %rsp\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    retq\n"
    "    .cfi_endproc\n"
    ".size scenario_c_call_without_frame_pointer, .-scenario_c_call_without_frame_pointer\n");
#else
void scenario_c_call_without_frame_pointer(void (*function)(void *), void *context) { function(context); }
#endif

// Two static mutexes that one helper locks first (lockdep keys each static lock by itself): taken in one
// order everywhere, they are two classes in one order, not one class nested in itself.
static pthread_mutex_t catalogue = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t inventory = PTHREAD_MUTEX_INITIALIZER;

static void take(pthread_mutex_t *mutex) { pthread_mutex_lock(mutex); }
static void give(pthread_mutex_t *mutex) { pthread_mutex_unlock(mutex); }

void scenario_c_statics_through_one_helper(void) {
    for (int round = 0; round < 3; round++) {
        take(&catalogue);
        take(&inventory);
        give(&inventory);
        give(&catalogue);
    }
}

// Program code whose names hold the letters "lock" without being lock code: a class is keyed here, where
// the mutex is created, not in the C library below.
struct clock_reader { pthread_mutex_t mutex; long ticks; };
struct block_cache { pthread_mutex_t mutex; long blocks; };

static struct clock_reader *clock_reader_create(void) {
    struct clock_reader *reader = calloc(1, sizeof *reader);
    pthread_mutex_init(&reader->mutex, NULL);
    return reader;
}

static struct block_cache *block_cache_create(void) {
    struct block_cache *cache = calloc(1, sizeof *cache);
    pthread_mutex_init(&cache->mutex, NULL);
    return cache;
}

// A wrapper named for a lock is lock code: its caller keys the class.
static void my_lock_init(pthread_mutex_t *mutex) { pthread_mutex_init(mutex, NULL); }

void scenario_c_open_reader_and_cache(void) {
    struct clock_reader *reader = clock_reader_create();
    struct block_cache *cache = block_cache_create();
    pthread_mutex_t *wrapped = calloc(1, sizeof *wrapped);
    my_lock_init(wrapped);
    // reader before cache before wrapped, and the reverse: an inversion that names all three classes.
    pthread_mutex_lock(&reader->mutex);
    pthread_mutex_lock(&cache->mutex);
    pthread_mutex_lock(wrapped);
    pthread_mutex_unlock(wrapped);
    pthread_mutex_unlock(&cache->mutex);
    pthread_mutex_unlock(&reader->mutex);
    pthread_mutex_lock(wrapped);
    pthread_mutex_lock(&reader->mutex);
    pthread_mutex_unlock(&reader->mutex);
    pthread_mutex_unlock(wrapped);
}

// Unlocks a statically initialised mutex that nothing ever locked (Helgrind: "unlocked a not-locked lock").
static pthread_mutex_t never_locked = PTHREAD_MUTEX_INITIALIZER;

int scenario_c_release_what_nobody_holds(void) { return pthread_mutex_unlock(&never_locked); }

long scenario_c_futex_wait_changed(uint32_t *word) {
    return syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
}

int scenario_c_mutex_has_waiters(pthread_mutex_t *mutex) {
    return __atomic_load_n(&mutex->__data.__lock, __ATOMIC_ACQUIRE) == 2;
}

// MARK: A gate lock raced for (issue 33)

// Two statically initialised mutexes taken in both orders under a gate, by threads that all start at
// once: a static gate's first locks race (each makes an object; the loser's is freed), a heap gate may
// have another lock of its class alive.
static pthread_mutex_t static_gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t gated_first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t gated_second = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t gate_start;

struct gate_work {
    pthread_mutex_t *gate;
    int reversed;
};

static void *take_under_gate(void *argument) {
    struct gate_work *work = argument;
    pthread_barrier_wait(&gate_start);
    pthread_mutex_lock(work->gate);
    pthread_mutex_t *outer = work->reversed ? &gated_second : &gated_first;
    pthread_mutex_t *inner = work->reversed ? &gated_first : &gated_second;
    pthread_mutex_lock(outer);
    pthread_mutex_lock(inner);
    pthread_mutex_unlock(inner);
    pthread_mutex_unlock(outer);
    pthread_mutex_unlock(work->gate);
    return NULL;
}

/// A heap gate, initialised here: every one is of one class (this site's).
static pthread_mutex_t *make_heap_gate(void) {
    pthread_mutex_t *gate = malloc(sizeof *gate);
    if (!gate || pthread_mutex_init(gate, NULL) != 0) abort();
    return gate;
}

void scenario_c_gate_race(int threads, int heap_gates) {
    pthread_mutex_t *gate = &static_gate;
    pthread_mutex_t *other = NULL;
    if (heap_gates) {
        gate = make_heap_gate();
        // A second lock of the gate's class, alive (and taken) while the orders are: the class is no gate.
        other = make_heap_gate();
        pthread_mutex_lock(other);
        pthread_mutex_unlock(other);
    }
    pthread_t ids[16];
    struct gate_work work[16];
    if (threads > 16) threads = 16;
    if (pthread_barrier_init(&gate_start, NULL, (unsigned)threads) != 0) abort();
    for (int index = 0; index < threads; index++) {
        work[index] = (struct gate_work){gate, index % 2};
        if (pthread_create(&ids[index], NULL, take_under_gate, &work[index]) != 0) abort();
    }
    for (int index = 0; index < threads; index++) pthread_join(ids[index], NULL);
    pthread_barrier_destroy(&gate_start);
    if (heap_gates) {
        pthread_mutex_destroy(other);
        pthread_mutex_destroy(gate);
        free(other);
        free(gate);
    }
}
