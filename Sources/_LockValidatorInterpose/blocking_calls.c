// The C library's calls that block, interposed: made while the thread holds a spin lock or runs above
// APC_LEVEL (Linux's might_sleep context), each is `blocking-while-held`, reported through the validator
// as `mightSleep()` is, and then made (the program goes on).
//
// Cheap when nothing is held: each call reads one thread-local word (lv_must_not_block) and calls the
// C library's function. Only a set word leads to the check of the call itself (a descriptor that cannot
// block, a zero timeout) and the report. Calls the validator makes itself (writing a report, its
// symbolizer's poll, a parked thread's sleep) are made inside the validator and pass.
//
// What counts as blocking:
// - sleeps (nanosleep, clock_nanosleep, usleep, sleep), whatever their length, as might_sleep is
//   unconditional;
// - waits for another thread: pthread_cond_*wait (interpose.c), pthread_join, sem_wait, sem_timedwait,
//   sem_clockwait, and futex waits made through syscall() (FUTEX_WAIT, _WAIT_BITSET, _LOCK_PI, _LOCK_PI2,
//   _WAIT_REQUEUE_PI, futex_waitv), except the Swift runtime's and Dispatch's own lock waits, which the
//   program does not make;
// - poll, ppoll, select, pselect, epoll_wait and epoll_pwait with a timeout that is not zero (a zero
//   timeout only looks);
// - read, readv, write, writev, recv, recvfrom, recvmsg, send, sendto and sendmsg on a descriptor that
//   can block: not O_NONBLOCK (nor MSG_DONTWAIT), and not a regular file, directory or block device,
//   which poll always finds ready (their I/O waits for the disk, never for another party). Pipes,
//   sockets, terminals and other character devices can block.
// A pthread mutex or reader–writer lock taken under a spin lock is reported by its acquire (every
// waiting acquire, contended or not, as lockdep's might_sleep in mutex_lock), not here.
#define _GNU_SOURCE
#include "blocking_calls.h"

#include "LockValidatorInterpose.h"
#include "LockValidatorShims.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CALLER ((uintptr_t)__builtin_return_address(0))

// MARK: The C library's functions, found on first use

static void *next_function(const char *name) {
    void *found = dlsym(RTLD_NEXT, name);
    if (!found) {
        fprintf(stderr, "LockValidatorPthreads: %s not found in the C library\n", name);
        abort();
    }
    return found;
}

/// `next_<name>`: the C library's `name`, found on first use (racing threads find the same one).
#define NEXT_FUNCTION(name)                                                                              \
    static __typeof__(&name) next_##name##_pointer;                                                     \
    static inline __typeof__(&name) next_##name(void) {                                                 \
        __typeof__(&name) found = __atomic_load_n(&next_##name##_pointer, __ATOMIC_RELAXED);            \
        if (__builtin_expect(found == NULL, 0)) {                                                       \
            found = (__typeof__(&name))next_function(#name);                                            \
            __atomic_store_n(&next_##name##_pointer, found, __ATOMIC_RELAXED);                          \
        }                                                                                               \
        return found;                                                                                   \
    }

NEXT_FUNCTION(nanosleep)
NEXT_FUNCTION(clock_nanosleep)
NEXT_FUNCTION(usleep)
NEXT_FUNCTION(sleep)
NEXT_FUNCTION(pthread_join)
NEXT_FUNCTION(sem_wait)
NEXT_FUNCTION(sem_timedwait)
NEXT_FUNCTION(sem_clockwait)
NEXT_FUNCTION(poll)
NEXT_FUNCTION(ppoll)
NEXT_FUNCTION(select)
NEXT_FUNCTION(pselect)
NEXT_FUNCTION(epoll_wait)
NEXT_FUNCTION(epoll_pwait)
NEXT_FUNCTION(read)
NEXT_FUNCTION(readv)
NEXT_FUNCTION(write)
NEXT_FUNCTION(writev)
NEXT_FUNCTION(recv)
NEXT_FUNCTION(recvfrom)
NEXT_FUNCTION(recvmsg)
NEXT_FUNCTION(send)
NEXT_FUNCTION(sendto)
NEXT_FUNCTION(sendmsg)
NEXT_FUNCTION(syscall)

/// Finds `name` now if the C library has it (one it lacks aborts only when called).
#define RESOLVE_NOW(name)                                                                              \
    do {                                                                                               \
        void *found = dlsym(RTLD_NEXT, #name);                                                         \
        if (found) __atomic_store_n(&next_##name##_pointer, (__typeof__(&name))found, __ATOMIC_RELAXED); \
    } while (0)

void lv_blocking_calls_resolve(void) {
    RESOLVE_NOW(nanosleep);
    RESOLVE_NOW(clock_nanosleep);
    RESOLVE_NOW(usleep);
    RESOLVE_NOW(sleep);
    RESOLVE_NOW(pthread_join);
    RESOLVE_NOW(sem_wait);
    RESOLVE_NOW(sem_timedwait);
    RESOLVE_NOW(sem_clockwait);
    RESOLVE_NOW(poll);
    RESOLVE_NOW(ppoll);
    RESOLVE_NOW(select);
    RESOLVE_NOW(pselect);
    RESOLVE_NOW(epoll_wait);
    RESOLVE_NOW(epoll_pwait);
    RESOLVE_NOW(read);
    RESOLVE_NOW(readv);
    RESOLVE_NOW(write);
    RESOLVE_NOW(writev);
    RESOLVE_NOW(recv);
    RESOLVE_NOW(recvfrom);
    RESOLVE_NOW(recvmsg);
    RESOLVE_NOW(send);
    RESOLVE_NOW(sendto);
    RESOLVE_NOW(sendmsg);
    RESOLVE_NOW(syscall);
}

// MARK: The report

/// Whether the thread runs on its alternate signal stack, where only signal handlers run: the Swift
/// runtime's crash handler does (SA_ONSTACK), with the fault's signal not blocked (SA_NODEFER), so the
/// signal mask cannot tell. One system call, made only where a report would follow.
static int handling_signal_on_alternate_stack(void) {
    stack_t alternate;
    return sigaltstack(NULL, &alternate) == 0 && (alternate.ss_flags & SS_ONSTACK) != 0;
}

void lv_blocking_call(const char *name, uintptr_t caller) {
    // Before the constructor, with interposition or validation off, or made by the validator itself
    // (its reports, this one's too): passed.
    if (!lv_pthreads_active() || !lv_validation_enabled() || lv_inside_validator()) return;
    // A crash handler's calls (the Swift runtime's writes its crash message, waits for its backtracer):
    // passed, so that a crash stays a crash. The report would unwind and symbolize a faulted stack, with
    // the other threads stopped and the heap perhaps broken: it spun in libunwind, and the crash became
    // a hang.
    if (handling_signal_on_alternate_stack()) return;
    // A task cloned inside that handler with this thread's storage (the Swift runtime's memory server
    // reading for its backtracer) sees this thread's holds: its calls are not the thread's, passed.
    int64_t registered = lv_registered_os_thread_id();
    if (registered != 0 && registered != lv_os_thread_id()) return;
    int saved = errno;  // the report must not disturb what the program reads after the call
    lv_enter_validator();
    lv_blocking_call_made(name, caller);
    lv_leave_validator();
    errno = saved;
}

/// Whether a read or write on `descriptor` can wait for another party (see the top of this file).
static int descriptor_can_block(int descriptor) {
    int flags = fcntl(descriptor, F_GETFL);
    if (flags < 0 || flags & O_NONBLOCK) return 0;  // a bad descriptor fails at once
    struct stat status;
    if (fstat(descriptor, &status) != 0) return 0;
    return !(S_ISREG(status.st_mode) || S_ISDIR(status.st_mode) || S_ISBLK(status.st_mode));
}

/// A read or write (`name`) on `descriptor`, where the thread must not block.
__attribute__((noinline, cold)) static void descriptor_call(const char *name, int descriptor, uintptr_t caller) {
    int saved = errno;
    int can_block = descriptor_can_block(descriptor);
    errno = saved;
    if (can_block) lv_blocking_call(name, caller);
}

/// A socket call with `flags`: MSG_DONTWAIT never waits.
__attribute__((noinline, cold)) static void socket_call(const char *name, int descriptor, int flags,
                                                        uintptr_t caller) {
    if (!(flags & MSG_DONTWAIT)) descriptor_call(name, descriptor, caller);
}

/// A call that always may block.
__attribute__((noinline, cold)) static void waiting_call(const char *name, uintptr_t caller) {
    lv_blocking_call(name, caller);
}

/// The one thread-local read each interposed call makes when nothing is held.
#define MUST_NOT_BLOCK() __builtin_expect(lv_must_not_block(), 0)

// MARK: Sleeps

int nanosleep(const struct timespec *duration, struct timespec *remaining) {
    if (MUST_NOT_BLOCK()) waiting_call("nanosleep", CALLER);
    return next_nanosleep()(duration, remaining);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *duration, struct timespec *remaining) {
    if (MUST_NOT_BLOCK()) waiting_call("clock_nanosleep", CALLER);
    return next_clock_nanosleep()(clock, flags, duration, remaining);
}

int usleep(useconds_t microseconds) {
    if (MUST_NOT_BLOCK()) waiting_call("usleep", CALLER);
    return next_usleep()(microseconds);
}

unsigned int sleep(unsigned int seconds) {
    if (MUST_NOT_BLOCK()) waiting_call("sleep", CALLER);
    return next_sleep()(seconds);
}

// MARK: Waits for another thread

int pthread_join(pthread_t thread, void **result) {
    if (MUST_NOT_BLOCK()) waiting_call("pthread_join", CALLER);
    int status = next_pthread_join()(thread, result);
    // What the joined thread did happened before what this one does next (the verdicts on cycles).
    lv_thread_state *state = lv_thread();
    if (status == 0 && lv_pthreads_active() && lv_validation_enabled() && state->inside_validator == 0) {
        lv_enter_validator();
        lv_hb_joined((uintptr_t)thread);
        lv_leave_validator();
    }
    return status;
}

/// A semaphore wait (`name`): the program's, not Dispatch's own (a DispatchSemaphore's wait is checked
/// where the program calls it, with its timeout: dispatch_queues.c).
__attribute__((noinline, cold)) static void semaphore_call(const char *name, uintptr_t caller) {
    if (!lv_called_from_runtime(caller)) lv_blocking_call(name, caller);
}

int sem_wait(sem_t *semaphore) {
    if (MUST_NOT_BLOCK()) semaphore_call("sem_wait", CALLER);
    return next_sem_wait()(semaphore);
}

int sem_timedwait(sem_t *semaphore, const struct timespec *deadline) {
    if (MUST_NOT_BLOCK()) semaphore_call("sem_timedwait", CALLER);
    return next_sem_timedwait()(semaphore, deadline);
}

int sem_clockwait(sem_t *semaphore, clockid_t clock, const struct timespec *deadline) {
    if (MUST_NOT_BLOCK()) semaphore_call("sem_clockwait", CALLER);
    return next_sem_clockwait()(semaphore, clock, deadline);
}

/// Whether the futex operation `operation` waits.
static int futex_waits(long operation) {
    switch (operation & FUTEX_CMD_MASK) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
    case FUTEX_LOCK_PI:
    case FUTEX_WAIT_REQUEUE_PI:
#ifdef FUTEX_LOCK_PI2
    case FUTEX_LOCK_PI2:
#endif
        return 1;
    default:
        return 0;
    }
}

/// syscall(`number`, `operation`, …) where the thread must not block: a futex wait, unless it is the
/// Swift runtime's or Dispatch's own.
__attribute__((noinline, cold)) static void system_call(long number, long operation, uintptr_t caller) {
    int waits = number == SYS_futex && futex_waits(operation);
#ifdef SYS_futex_waitv
    waits = waits || number == SYS_futex_waitv;
#endif
    if (waits && !lv_called_from_runtime(caller)) lv_blocking_call("futex", caller);
}

// Six arguments, as many as a Linux system call takes, passed on whatever `number` reads of them.
long syscall(long number, ...) {
    va_list arguments;
    va_start(arguments, number);
    long a = va_arg(arguments, long), b = va_arg(arguments, long), c = va_arg(arguments, long);
    long d = va_arg(arguments, long), e = va_arg(arguments, long), f = va_arg(arguments, long);
    va_end(arguments);
    if (MUST_NOT_BLOCK()) system_call(number, b, CALLER);
    return next_syscall()(number, a, b, c, d, e, f);
}

// MARK: Waits for descriptors: a zero timeout only looks

int poll(struct pollfd *descriptors, nfds_t count, int timeout) {
    if (MUST_NOT_BLOCK() && timeout != 0) waiting_call("poll", CALLER);
    return next_poll()(descriptors, count, timeout);
}

static int is_zero(const struct timespec *time) { return time && time->tv_sec == 0 && time->tv_nsec == 0; }

int ppoll(struct pollfd *descriptors, nfds_t count, const struct timespec *timeout, const sigset_t *mask) {
    if (MUST_NOT_BLOCK() && !is_zero(timeout)) waiting_call("ppoll", CALLER);
    return next_ppoll()(descriptors, count, timeout, mask);
}

int select(int count, fd_set *reading, fd_set *writing, fd_set *exceptional, struct timeval *timeout) {
    if (MUST_NOT_BLOCK() && !(timeout && timeout->tv_sec == 0 && timeout->tv_usec == 0)) {
        waiting_call("select", CALLER);
    }
    return next_select()(count, reading, writing, exceptional, timeout);
}

int pselect(int count, fd_set *reading, fd_set *writing, fd_set *exceptional, const struct timespec *timeout,
            const sigset_t *mask) {
    if (MUST_NOT_BLOCK() && !is_zero(timeout)) waiting_call("pselect", CALLER);
    return next_pselect()(count, reading, writing, exceptional, timeout, mask);
}

int epoll_wait(int descriptor, struct epoll_event *events, int count, int timeout) {
    if (MUST_NOT_BLOCK() && timeout != 0) waiting_call("epoll_wait", CALLER);
    return next_epoll_wait()(descriptor, events, count, timeout);
}

int epoll_pwait(int descriptor, struct epoll_event *events, int count, int timeout, const sigset_t *mask) {
    if (MUST_NOT_BLOCK() && timeout != 0) waiting_call("epoll_pwait", CALLER);
    return next_epoll_pwait()(descriptor, events, count, timeout, mask);
}

// MARK: Reads and writes on descriptors that can block

ssize_t read(int descriptor, void *buffer, size_t count) {
    if (MUST_NOT_BLOCK()) descriptor_call("read", descriptor, CALLER);
    return next_read()(descriptor, buffer, count);
}

ssize_t readv(int descriptor, const struct iovec *vectors, int count) {
    if (MUST_NOT_BLOCK()) descriptor_call("readv", descriptor, CALLER);
    return next_readv()(descriptor, vectors, count);
}

ssize_t write(int descriptor, const void *buffer, size_t count) {
    if (MUST_NOT_BLOCK()) descriptor_call("write", descriptor, CALLER);
    return next_write()(descriptor, buffer, count);
}

ssize_t writev(int descriptor, const struct iovec *vectors, int count) {
    if (MUST_NOT_BLOCK()) descriptor_call("writev", descriptor, CALLER);
    return next_writev()(descriptor, vectors, count);
}

ssize_t recv(int descriptor, void *buffer, size_t length, int flags) {
    if (MUST_NOT_BLOCK()) socket_call("recv", descriptor, flags, CALLER);
    return next_recv()(descriptor, buffer, length, flags);
}

ssize_t recvfrom(int descriptor, void *buffer, size_t length, int flags, struct sockaddr *address,
                 socklen_t *address_length) {
    if (MUST_NOT_BLOCK()) socket_call("recvfrom", descriptor, flags, CALLER);
    return next_recvfrom()(descriptor, buffer, length, flags, address, address_length);
}

ssize_t recvmsg(int descriptor, struct msghdr *message, int flags) {
    if (MUST_NOT_BLOCK()) socket_call("recvmsg", descriptor, flags, CALLER);
    return next_recvmsg()(descriptor, message, flags);
}

ssize_t send(int descriptor, const void *buffer, size_t length, int flags) {
    if (MUST_NOT_BLOCK()) socket_call("send", descriptor, flags, CALLER);
    return next_send()(descriptor, buffer, length, flags);
}

ssize_t sendto(int descriptor, const void *buffer, size_t length, int flags, const struct sockaddr *address,
               socklen_t address_length) {
    if (MUST_NOT_BLOCK()) socket_call("sendto", descriptor, flags, CALLER);
    return next_sendto()(descriptor, buffer, length, flags, address, address_length);
}

ssize_t sendmsg(int descriptor, const struct msghdr *message, int flags) {
    if (MUST_NOT_BLOCK()) socket_call("sendmsg", descriptor, flags, CALLER);
    return next_sendmsg()(descriptor, message, flags);
}
