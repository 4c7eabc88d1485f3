#ifndef BENCHMARK_SHIMS_H
#define BENCHMARK_SHIMS_H
#include <stddef.h>
#include <stdint.h>

/// The time-stamp counter, as the validator reads it.
static inline uint64_t bench_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/// Bytes malloc has handed out and not taken back: what a program keeps, unlike the resident set,
/// which also holds memory freed to malloc and not returned to the system.
size_t bench_heap_in_use(void);

/// The resident set in MB, from /proc/self/statm (0 when it cannot be read): what the measurements that
/// report memory (Scaling, ShortLivedLocks) read before and after.
double bench_resident_mb(void);

/// One `kB` field of /proc/self/status in MB (0 when absent): `RssAnon:` is the memory the program wrote
/// (its heap and mappings), `RssFile:` the pages of code and files it touched, shared with every process
/// that maps them.
double bench_status_mb(const char *field);
#endif
