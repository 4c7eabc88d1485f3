// What stores cost a lock pair: an uncontended compare-and-swap and release with N plain stores between
// them, as a validated pair writes its held entry, statistics and spills. A locked instruction waits
// until every earlier store is committed, and a core commits one store a cycle (Intel before Ice Lake)
// or two (AMD Zen), so N stores cost about N or N/2 cycles however the rest overlaps.
//     clang -O2 Benchmarks/Peers/stores_then_cas.c -o /tmp/stores_then_cas && /tmp/stores_then_cas
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static long lock_word;
static long slots[128] __attribute__((aligned(64)));

// One store the compiler can neither merge nor drop.
#define STORE(k) __asm__ volatile("mov %1, %0" : "=m"(slots[k]) : "r"(i));
#define STORES10(b) STORE(b) STORE(b + 1) STORE(b + 2) STORE(b + 3) STORE(b + 4) STORE(b + 5) STORE(b + 6) \
    STORE(b + 7) STORE(b + 8) STORE(b + 9)
#define STORES_0
#define STORES_10 STORES10(0)
#define STORES_20 STORES10(0) STORES10(10)
#define STORES_40 STORES10(0) STORES10(10) STORES10(20) STORES10(30)
#define STORES_80 STORES_40 STORES10(40) STORES10(50) STORES10(60) STORES10(70)

// The best of nine runs of five million pairs, in nanoseconds per pair.
#define MEASURE(N)                                                                                   \
    {                                                                                                \
        const long pairs = 5000000;                                                                  \
        uint64_t best = UINT64_MAX;                                                                  \
        for (int run = 0; run < 9; run++) {                                                          \
            uint64_t start = now_ns();                                                               \
            for (long i = 0; i < pairs; i++) {                                                       \
                long expected = 0;                                                                   \
                __atomic_compare_exchange_n(&lock_word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED); \
                STORES_##N __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);                        \
            }                                                                                        \
            uint64_t elapsed = now_ns() - start;                                                     \
            if (elapsed < best) best = elapsed;                                                      \
        }                                                                                            \
        printf("%2d stores between the CAS and the release: %5.2f ns a pair\n", N, (double)best / pairs); \
    }

int main(void) {
    MEASURE(0) MEASURE(10) MEASURE(20) MEASURE(40) MEASURE(80)
    return 0;
}
