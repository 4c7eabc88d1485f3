// Naming code: a long-running llvm-symbolizer (as the sanitizers keep one) and the C++ demangler.
#define _GNU_SOURCE
#include "LockValidatorShims.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

// MARK: The symbolizer process

// One process per process that asked (a forked child starts its own: the socket is the parent's).
// Every call is serialised by the caller (the Swift side holds its lock).
static struct {
    pid_t owner;   // the process that started it
    pid_t pid;     // the symbolizer, 0 when none
    int socket;    // its standard input and output
    int failed;    // it could not be started, or died: names only from here on
} symbolizer = {0, 0, -1, 0};

static void stop_symbolizer(void) {
    if (symbolizer.socket >= 0) close(symbolizer.socket);
    if (symbolizer.pid > 0 && symbolizer.owner == getpid()) {
        kill(symbolizer.pid, SIGKILL);
        while (waitpid(symbolizer.pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    symbolizer.pid = 0;
    symbolizer.socket = -1;
}

/// The environment without LD_PRELOAD and LOCKVALIDATOR*: the helper is not validated and writes no
/// report (a preloaded validator in it would add to the report its parent is writing). calloc'd.
static char **helper_environment(void) {
    size_t count = 0;
    while (environ[count]) count++;
    char **environment = calloc(count + 1, sizeof(char *));
    size_t kept = 0;
    for (size_t index = 0; environment && index < count; index++) {
        const char *entry = environ[index];
        if (strncmp(entry, "LD_PRELOAD=", 11) != 0 && strncmp(entry, "LOCKVALIDATOR", 13) != 0) {
            environment[kept++] = environ[index];
        }
    }
    return environment;
}

static int start_symbolizer(void) {
    int fds[2];
    // A socket, not pipes: a send with MSG_NOSIGNAL to a symbolizer that died is an error, not a SIGPIPE.
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    // It outlives every call: a descriptor of the program's it kept open (the write end of a pipe whose
    // reader waits for end of file) would never close.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    char *const argv[] = {"llvm-symbolizer", "--output-style=JSON", "--functions=linkage", "--no-inlines", NULL};
    char **environment = helper_environment();
    pid_t pid;
    int spawned = posix_spawnp(&pid, "llvm-symbolizer", &actions, NULL, argv, environment ? environment : environ);
    free(environment);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (spawned != 0) {
        close(fds[0]);
        return -1;
    }
    symbolizer.owner = getpid();
    symbolizer.pid = pid;
    symbolizer.socket = fds[0];
    return 0;
}

static int send_all(const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t sent = send(symbolizer.socket, bytes, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return -1;
        bytes += sent;
        length -= (size_t)sent;
    }
    return 0;
}

static uint64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

int lv_symbolizer_ask(const char *request, size_t length, int lines, int timeout_ms, char **answer,
                      size_t *answer_length) {
    *answer = NULL;
    *answer_length = 0;
    if (symbolizer.owner != 0 && symbolizer.owner != getpid()) {
        // A forked child: the socket is the parent's conversation.
        if (symbolizer.socket >= 0) close(symbolizer.socket);
        symbolizer.pid = 0;
        symbolizer.socket = -1;
        symbolizer.owner = 0;
    }
    if (symbolizer.failed) return -1;
    if (symbolizer.pid == 0 && start_symbolizer() != 0) {
        symbolizer.failed = 1;
        return -1;
    }
    if (send_all(request, length) != 0) {
        stop_symbolizer();
        symbolizer.failed = 1;
        return -1;
    }
    size_t capacity = 4096, used = 0;
    char *buffer = malloc(capacity);
    int seen = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (buffer && seen < lines) {
        uint64_t now = now_ms();
        if (now >= deadline) break;
        struct pollfd waiting = {.fd = symbolizer.socket, .events = POLLIN};
        int ready = poll(&waiting, 1, (int)(deadline - now));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        if (used + 4096 > capacity) {
            char *larger = realloc(buffer, capacity * 2);
            if (larger == NULL) break;
            buffer = larger;
            capacity *= 2;
        }
        ssize_t got = recv(symbolizer.socket, buffer + used, capacity - used - 1, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        for (ssize_t index = 0; index < got; index++) seen += buffer[used + (size_t)index] == '\n';
        used += (size_t)got;
    }
    if (seen < lines) {
        // Timed out, or it died: whatever it was doing, the conversation is out of step now.
        stop_symbolizer();
        symbolizer.failed = 1;
        free(buffer);
        return -1;
    }
    buffer[used] = 0;
    *answer = buffer;
    *answer_length = used;
    return 0;
}

// MARK: C++ names

typedef char *(*cxa_demangle_function)(const char *, char *, size_t *, int *);

char *lv_cxx_demangle(const char *mangled) {
    // The Swift runtime brings libstdc++ into every Swift process; found at run time, it is no link
    // dependency of ours.
    static cxa_demangle_function demangle;
    static int looked_up;
    if (!__atomic_load_n(&looked_up, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&demangle, (cxa_demangle_function)dlsym(RTLD_DEFAULT, "__cxa_demangle"), __ATOMIC_RELAXED);
        __atomic_store_n(&looked_up, 1, __ATOMIC_RELEASE);
    }
    cxa_demangle_function function = __atomic_load_n(&demangle, __ATOMIC_RELAXED);
    if (function == NULL) return NULL;
    int status = 0;
    char *demangled = function(mangled, NULL, NULL, &status);
    if (status != 0) {
        free(demangled);
        return NULL;
    }
    return demangled;
}
