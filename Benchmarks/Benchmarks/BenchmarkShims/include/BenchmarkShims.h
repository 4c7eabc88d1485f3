#ifndef BENCHMARK_SHIMS_H
#define BENCHMARK_SHIMS_H
#include <stdint.h>

/// The time-stamp counter, as the validator reads it.
static inline uint64_t bench_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
#endif
