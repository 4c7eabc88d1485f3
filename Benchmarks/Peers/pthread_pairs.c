// Uncontended pthread mutex lock/unlock pairs, for callgrind: Benchmarks/instructions.sh runs it under
// LD_PRELOAD=libLockValidatorPreload.so and counts only inside `measured_pthread_pairs` (the interposed
// pair's instructions), as the Swift scenarios count only inside their `measured…` functions.
//
//     pthread_pairs <count>
#include <pthread.h>
#include <stdlib.h>

__attribute__((noinline)) void measured_pthread_pairs(pthread_mutex_t *mutex, int count) {
    for (int i = 0; i < count; i++) {
        pthread_mutex_lock(mutex);
        pthread_mutex_unlock(mutex);
    }
}

__attribute__((noinline)) static void warm(pthread_mutex_t *mutex) {
    // The first pair's chain and IRQL usage are new to the validator: not counted.
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(mutex);
        pthread_mutex_unlock(mutex);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    pthread_mutex_t *mutex = malloc(sizeof *mutex);
    pthread_mutex_init(mutex, NULL);
    warm(mutex);
    measured_pthread_pairs(mutex, atoi(argv[1]));
    return 0;
}
