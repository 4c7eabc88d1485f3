// The scaling benchmark's orders on pthread mutexes, for ThreadSanitizer's deadlock detector: `classes`
// mutexes in a hidden random order, about `edges_per_class` orders each taken once (lock the earlier,
// lock the later, unlock both), then 1,000 pairs never taken before, timed one by one. The validator's
// side is Measurements/Scaling, with the same shape (and the same shape as the "new edge" benchmarks).
//
//     lock_graph <classes> <edges per class>   prints: median ns per new order, resident MB of the graph
//                                              (on standard error: anonymous and file-page MB)
//     lock_graph check                         takes A then B, then B then A (TSan must report it)
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double resident_mb(void) {
    long pages = 0, resident = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm && fscanf(statm, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (statm) fclose(statm);
    return (double)resident * 4096.0 / (1024.0 * 1024.0);
}

// One `kB` field of /proc/self/status in MB: RssAnon (memory written) or RssFile (code and file pages).
static double status_mb(const char *field) {
    char line[256];
    double mb = 0;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status)) {
        if (strncmp(line, field, strlen(field)) == 0) {
            mb = (double)strtoul(line + strlen(field), NULL, 10) / 1024.0;
            break;
        }
    }
    if (status) fclose(status);
    return mb;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t state = 42;
static uint64_t next_random(void) {  // splitmix64, as the Swift side
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void take(pthread_mutex_t *first, pthread_mutex_t *second) {
    pthread_mutex_lock(first);
    pthread_mutex_lock(second);
    pthread_mutex_unlock(second);
    pthread_mutex_unlock(first);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        pthread_mutex_t a, b;
        pthread_mutex_init(&a, NULL);
        pthread_mutex_init(&b, NULL);
        take(&a, &b);
        take(&b, &a);
        return 0;
    }
    if (argc != 3) return 2;
    int classes = atoi(argv[1]), edges_per_class = atoi(argv[2]);
    double before = resident_mb();
    double anonymous_before = status_mb("RssAnon:"), file_before = status_mb("RssFile:");
    pthread_mutex_t *locks = calloc((size_t)classes, sizeof *locks);
    int *rank = malloc((size_t)classes * sizeof *rank);
    for (int i = 0; i < classes; i++) {
        pthread_mutex_init(&locks[i], NULL);
        rank[i] = i;
    }
    for (int i = classes - 1; i > 0; i--) {  // the hidden order
        int j = (int)(next_random() % (uint64_t)(i + 1));
        int swap = rank[i];
        rank[i] = rank[j];
        rank[j] = swap;
    }
    // Pairs taken, as a hash set of a * classes + b.
    size_t slots = 1;
    while (slots < (size_t)classes * (size_t)edges_per_class * 4 + 4096) slots *= 2;
    uint64_t *taken = calloc(slots, sizeof *taken);
    enum { timed = 1000 };
    double samples[timed];
    long total = (long)classes * edges_per_class + timed;
    for (long n = 0; n < total; n++) {
        int a, b;
        for (;;) {
            a = (int)(next_random() % (uint64_t)classes);
            b = (int)(next_random() % (uint64_t)classes);
            if (a >= b) continue;
            uint64_t key = (uint64_t)a * (uint64_t)classes + (uint64_t)b + 1;
            size_t at = (size_t)(key * 0x9E3779B97F4A7C15ull) & (slots - 1);
            while (taken[at] != 0 && taken[at] != key) at = (at + 1) & (slots - 1);
            if (taken[at] == key) continue;
            taken[at] = key;
            break;
        }
        long index = n - (long)classes * edges_per_class;
        double start = index >= 0 ? now_ns() : 0;
        take(&locks[rank[a]], &locks[rank[b]]);
        if (index >= 0) samples[index] = now_ns() - start;
    }
    qsort(samples, timed, sizeof samples[0], compare);
    printf("%.1f %.1f\n", samples[timed / 2], resident_mb() - before);
    // As Measurements/Scaling: the growth split into anonymous memory and file pages, on standard error.
    fprintf(stderr, "resident: anonymous %.1f MB, file pages %.1f MB\n", status_mb("RssAnon:") - anonymous_before,
            status_mb("RssFile:") - file_before);
    return 0;
}
