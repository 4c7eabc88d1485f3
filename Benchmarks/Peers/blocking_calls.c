// Calls that may block, made with nothing held, for callgrind: Benchmarks/instructions.sh runs it with
// and without LD_PRELOAD=libLockValidatorPreload.so and counts only inside `measured_blocking_calls`, so
// the difference per call is what the interposer adds to each (one thread-local read, then the C
// library's function).
//
//     blocking_calls write|usleep <count>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/// 1-byte writes to /dev/null (`sleeps` 0), or usleep(0) (1): calls that return at once.
__attribute__((noinline)) void measured_blocking_calls(int descriptor, int sleeps, int count) {
    char byte = 0;
    for (int i = 0; i < count; i++) {
        if (sleeps) {
            usleep(0);
        } else if (write(descriptor, &byte, 1) != 1) {
            abort();
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int sleeps = strcmp(argv[1], "usleep") == 0;
    int descriptor = open("/dev/null", O_WRONLY);
    if (descriptor < 0) return 1;
    // The first calls find the C library's functions (dlsym): not counted.
    char byte = 0;
    for (int i = 0; i < 10; i++) {
        if (write(descriptor, &byte, 1) != 1) return 1;
        usleep(0);
    }
    measured_blocking_calls(descriptor, sleeps, atoi(argv[2]));
    return 0;
}
