#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "LockValidatorShims.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread lv_thread_state lv_tls_state;

void lv_yield(void) { sched_yield(); }

int64_t lv_os_thread_id(void) { return (int64_t)syscall(SYS_gettid); }

int lv_thread_name(char *buffer, size_t length) { return pthread_getname_np(pthread_self(), buffer, length); }

int lv_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}

__attribute__((noinline)) int lv_backtrace(void **buffer, int capacity) {
    // Start the trace at our caller's caller: drop libunwind's frames and the caller's own.
    void *caller = __builtin_return_address(0);
    int count = unw_backtrace(buffer, capacity);
    for (int i = 0; i < count; i++) {
        if (buffer[i] == caller) {
            memmove(buffer, buffer + i + 1, (size_t)(count - i - 1) * sizeof *buffer);
            return count - i - 1;
        }
    }
    return count;
}

int lv_proc_name(uintptr_t address, char *buffer, size_t length, uintptr_t *offset) {
    // libunwind 1.6 has no lookup by address: aim a local cursor at it and ask for the name there.
    unw_context_t context;
    unw_cursor_t cursor;
    unw_word_t off = 0;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return -1;
    if (unw_set_reg(&cursor, UNW_REG_IP, (unw_word_t)address) != 0) return -1;
    int result = unw_get_proc_name(&cursor, buffer, length, &off);
    if (offset) *offset = (uintptr_t)off;
    return result;
}

int lv_image_of(uintptr_t address, uintptr_t *base, const char **path) {
    Dl_info info;
    if (dladdr((void *)address, &info) == 0) return -1;
    if (base) *base = (uintptr_t)info.dli_fbase;
    if (path) *path = info.dli_fname;
    return 0;
}

static lv_thread_exit_hook exit_hook;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void run_exit_hook(void *unused) {
    (void)unused;
    lv_thread_exit_hook hook = __atomic_load_n(&exit_hook, __ATOMIC_ACQUIRE);
    if (hook) hook(&lv_tls_state);
}

static void make_exit_key(void) { pthread_key_create(&exit_key, run_exit_hook); }

int lv_register_thread(lv_thread_exit_hook hook) {
    __atomic_store_n(&exit_hook, hook, __ATOMIC_RELEASE);
    pthread_once(&exit_key_once, make_exit_key);
    // Any non-NULL value makes the destructor run at thread exit.
    return pthread_setspecific(exit_key, (void *)1);
}
