// The two-lock pattern the validator benchmarks use ("chain: ... depth 2"), on pthread mutexes: built
// plain and with -fsanitize=thread, whose deadlock detector (on by default) is the peer users would
// otherwise reach for. Prints the median nanoseconds per iteration (lock A, lock B, unlock B, unlock A)
// over 15 rounds.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    pthread_mutex_t a, b;
    pthread_mutex_init(&a, NULL);
    pthread_mutex_init(&b, NULL);
    enum { rounds = 15, iterations = 200000 };
    double samples[rounds];
    for (int round = 0; round < rounds; round++) {
        double start = now_ns();
        for (int i = 0; i < iterations; i++) {
            pthread_mutex_lock(&a);
            pthread_mutex_lock(&b);
            pthread_mutex_unlock(&b);
            pthread_mutex_unlock(&a);
        }
        samples[round] = (now_ns() - start) / iterations;
    }
    qsort(samples, rounds, sizeof samples[0], compare);
    printf("%.1f\n", samples[rounds / 2]);
    return 0;
}
