#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "LockValidatorShims.h"

#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread lv_thread_state lv_tls_state;
int lv_validation_enabled_flag = 1;
int lv_validation_generation = 1;

void lv_advance_generation(void) {
    int next = __atomic_load_n(&lv_validation_generation, __ATOMIC_RELAXED) % LV_GENERATION_LAST + 1;
    __atomic_store_n(&lv_validation_generation, next, __ATOMIC_RELAXED);
    if (__atomic_load_n(&lv_validation_enabled_flag, __ATOMIC_RELAXED) != 0) {
        __atomic_store_n(&lv_validation_enabled_flag, next, __ATOMIC_RELAXED);
    }
}
uint64_t *lv_chain_table;

uint64_t *lv_stat_cold(uint64_t *slots) {
    uint64_t *cold = (uint64_t *)__atomic_load_n(&slots[LV_STAT_COLD], __ATOMIC_ACQUIRE);
    if (cold != NULL) return cold;
    // Inside the validator: an allocator that takes pthread locks is passed straight through.
    lv_enter_validator();
    uint64_t *made = calloc(LV_STAT_COLD_SLOTS, sizeof(uint64_t));
    lv_leave_validator();
    if (made == NULL) abort();
    uint64_t expected = 0;
    if (__atomic_compare_exchange_n(&slots[LV_STAT_COLD], &expected, (uint64_t)(uintptr_t)made, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        return made;
    }
    free(made);
    return (uint64_t *)(uintptr_t)expected;
}

uint64_t *lv_held_stat_line_found(lv_thread_state *thread, lv_held_lock *entry, uint32_t class_id) {
    uint64_t *line = lv_stat_line(thread, class_id);
    if (line != NULL) {
        entry->stat_class = class_id;
        entry->stat_line = line;
    }
    return line;
}

void lv_stat_table_insert(lv_thread_state *thread, uint32_t class_id, uint64_t *line) {
    uint32_t leaf_index = class_id / LV_STAT_LEAF_SIZE;
    if (leaf_index >= LV_STAT_DIRECTORY_SIZE) return;
    // Inside the validator: an allocator that takes pthread locks is passed straight through.
    lv_enter_validator();
    if (thread->stat_directory == NULL) thread->stat_directory = calloc(LV_STAT_DIRECTORY_SIZE, sizeof(uint64_t **));
    if (thread->stat_directory != NULL && thread->stat_directory[leaf_index] == NULL) {
        thread->stat_directory[leaf_index] = calloc(LV_STAT_LEAF_SIZE, sizeof(uint64_t *));
    }
    lv_leave_validator();
    if (thread->stat_directory == NULL || thread->stat_directory[leaf_index] == NULL) abort();
    thread->stat_directory[leaf_index][class_id % LV_STAT_LEAF_SIZE] = line;
}

void lv_stat_table_free(lv_thread_state *thread) {
    for (int index = 0; index < LV_MAX_HELD; index++) {
        thread->held[index].stat_class = 0;
        thread->held[index].stat_line = NULL;
    }
    uint64_t ***directory = thread->stat_directory;
    thread->stat_directory = NULL;
    if (directory == NULL) return;
    lv_enter_validator();
    for (int index = 0; index < LV_STAT_DIRECTORY_SIZE; index++) free(directory[index]);
    free(directory);
    lv_leave_validator();
}

void lv_stat_cold_free(uint64_t *slots) {
    uint64_t *cold = (uint64_t *)__atomic_exchange_n(&slots[LV_STAT_COLD], 0, __ATOMIC_ACQ_REL);
    if (cold == NULL) return;
    lv_enter_validator();
    free(cold);
    lv_leave_validator();
}

void lv_stat_move_short_buckets(uint64_t *slots) {
    uint64_t *cold = lv_stat_cold(slots);
    uint32_t *short_buckets = (uint32_t *)&slots[LV_STAT_SHORT_BUCKETS];
    for (int index = 0; index < LV_STAT_SHORT_BUCKET_COUNT; index++) {
        uint32_t count = __atomic_load_n(&short_buckets[index], __ATOMIC_RELAXED);
        __atomic_store_n(&short_buckets[index], 0, __ATOMIC_RELAXED);
        lv_stat_add(cold, LV_STAT_FIRST_BUCKET + LV_STAT_FIRST_SHORT_BUCKET + index, count);
    }
}

/// A long hold's first count, which makes the cold slots: apart, so that the common case needs no frame.
__attribute__((noinline)) static void record_first_long_hold(uint64_t *slots, int bucket) {
    lv_stat_add(lv_stat_cold(slots), bucket, 1);
}

void lv_stat_record_long_hold(uint64_t *slots, int width) {
    if (width >= LV_STAT_FIRST_SHORT_BUCKET) {
        // Cold slots made already (every long hold after the first): no call, no frame. A debug build
        // compiles this without optimisation, where each call is a frame.
        int bucket = LV_STAT_FIRST_BUCKET + (width < LV_STAT_BUCKETS - 1 ? width : LV_STAT_BUCKETS - 1);
        uint64_t *cold = (uint64_t *)__atomic_load_n(&slots[LV_STAT_COLD], __ATOMIC_ACQUIRE);
        if (__builtin_expect(cold == NULL, 0)) return record_first_long_hold(slots, bucket);
        __atomic_store_n(&cold[bucket], __atomic_load_n(&cold[bucket], __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
        return;
    }
    uint32_t *first = (uint32_t *)&slots[LV_STAT_SHORT_BUCKETS];
    uint32_t count = __atomic_load_n(first, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(first, count, __ATOMIC_RELAXED);
    if (count >> 31) lv_stat_move_short_buckets(slots);
}

uint64_t lv_hold_budget_cycles_value = UINT64_MAX;
uint64_t lv_snapshot_refresh_cycles_value = UINT64_MAX;
uint64_t lv_spin_timeout_cycles_value = UINT64_MAX;

uint64_t lv_thread_cpu_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

lv_thread_usage lv_thread_usage_now(void) {
    lv_thread_usage result = {0, 0, 0, 0, 0};
    struct rusage usage;
    if (getrusage(RUSAGE_THREAD, &usage) != 0) return result;
    result.faults = (uint32_t)(usage.ru_minflt + usage.ru_majflt);
    result.major_faults = (uint32_t)usage.ru_majflt;
    result.involuntary_switches = (uint32_t)usage.ru_nivcsw;
    result.system_ns = (uint64_t)usage.ru_stime.tv_sec * 1000000000u + (uint64_t)usage.ru_stime.tv_usec * 1000u;
    return result;
}

uint64_t lv_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_RAW, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void lv_yield(void) { sched_yield(); }

int64_t lv_os_thread_id(void) { return (int64_t)syscall(SYS_gettid); }

int lv_thread_name(char *buffer, size_t length) { return pthread_getname_np(pthread_self(), buffer, length); }

int lv_thread_name_of(uintptr_t handle, char *buffer, size_t length) {
    return pthread_getname_np((pthread_t)handle, buffer, length);
}

uintptr_t lv_thread_handle(void) { return (uintptr_t)pthread_self(); }

int lv_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}

static lv_thread_exit_hook exit_hook;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void run_exit_hook(void *unused) {
    (void)unused;
    lv_thread_exit_hook hook = __atomic_load_n(&exit_hook, __ATOMIC_ACQUIRE);
    lv_enter_validator();
    if (hook) hook(&lv_tls_state);
    lv_leave_validator();
}

static void make_exit_key(void) { pthread_key_create(&exit_key, run_exit_hook); }

/// The kernel thread id of the thread this thread-local storage was registered for, 0 before.
static __thread int64_t registered_os_thread_id;

int64_t lv_registered_os_thread_id(void) { return registered_os_thread_id; }

int lv_register_thread(lv_thread_exit_hook hook) {
    registered_os_thread_id = lv_os_thread_id();
    __atomic_store_n(&exit_hook, hook, __ATOMIC_RELEASE);
    pthread_once(&exit_key_once, make_exit_key);
    // Any non-NULL value makes the destructor run at thread exit.
    return pthread_setspecific(exit_key, (void *)1);
}

static lv_process_exit_hook process_exit_hook;

static void run_process_exit_hook(void) {
    lv_process_exit_hook hook = __atomic_load_n(&process_exit_hook, __ATOMIC_ACQUIRE);
    lv_enter_validator();
    if (hook) hook();
    lv_leave_validator();
}

// Registered first, so it runs last of the handlers registered with atexit.
__attribute__((constructor)) static void register_process_exit_handler(void) { atexit(run_process_exit_hook); }

void lv_set_process_exit_hook(lv_process_exit_hook hook) { __atomic_store_n(&process_exit_hook, hook, __ATOMIC_RELEASE); }

void lv_flush_and_exit(int status) {
    fflush(NULL);
    _exit(status);
}

void *lv_remap(void *address, size_t old_size, size_t new_size) {
    void *moved = mremap(address, old_size, new_size, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
}
