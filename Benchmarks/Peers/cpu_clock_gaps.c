// What the thread CPU clock charges a thread for time it did not run its code (issue 31, part 5): a thread
// spins on the TSC, reading CLOCK_THREAD_CPUTIME_ID every ~10 us; each gap over 5 us between two TSC reads
// is time off its code, and the line says how much of it the CPU clock charged and whether getrusage
// counted an involuntary context switch. The hold-time rule's switch share (HoldEvidence.switchShare) rests
// on these figures (BENCHMARKS.md, "Involuntary switches in a first hold").
//   cc -O2 -o /tmp/cpu_clock_gaps Benchmarks/Peers/cpu_clock_gaps.c && /tmp/cpu_clock_gaps 30 > gaps.txt
//   (beside load: `taskset -c 1 yes >/dev/null &` and `taskset -c 1 /tmp/cpu_clock_gaps 20` forces switches)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <x86intrin.h>
static uint64_t read_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000ull + t.tv_nsec;
}
static uint64_t cpu_ns(void) { return read_ns(CLOCK_THREAD_CPUTIME_ID); }
static uint64_t mono_ns(void) { return read_ns(CLOCK_MONOTONIC_RAW); }
/// Starts a new base: the thread's usage, and a (TSC, CPU time) pair.
static void rebase(struct rusage *usage, uint64_t *tsc, uint64_t *cpu) {
    getrusage(RUSAGE_THREAD, usage);
    *tsc = __rdtsc();
    *cpu = cpu_ns();
    *tsc = (*tsc + __rdtsc()) / 2;
}
int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    uint64_t m0 = mono_ns(), t0 = __rdtsc(); usleep(200000); uint64_t m1 = mono_ns(), t1 = __rdtsc();
    double npc = (double)(m1 - m0) / (t1 - t0);
    uint64_t gap = 5000 / npc, period = 10000 / npc, end = __rdtsc() + seconds * 1e9 / npc;
    struct rusage ru0, ru1;
    uint64_t base_tsc, base_cpu;
    rebase(&ru0, &base_tsc, &base_cpu);
    uint64_t prev = __rdtsc();
    long gaps = 0;
    while (prev < end) {
        uint64_t now = __rdtsc();
        if (now - prev > gap) {
            // Time since the base read: wall W; CPU C. Ran code for W - g (the gap g = now - prev).
            uint64_t c = cpu_ns(); uint64_t after = __rdtsc();
            getrusage(RUSAGE_THREAD, &ru1);
            double W = ((now + after) / 2 - base_tsc) * npc, g = (now - prev) * npc, C = c - base_cpu;
            double charged = C - (W - g);  // CPU time charged during the gap
            printf("gap %9.1f us charged %8.1f us (%.0f%%) nivcsw %ld nvcsw %ld flt %ld\n", g / 1e3, charged / 1e3,
                   100 * charged / g, ru1.ru_nivcsw - ru0.ru_nivcsw, ru1.ru_nvcsw - ru0.ru_nvcsw,
                   ru1.ru_minflt - ru0.ru_minflt);
            gaps++;
            rebase(&ru0, &base_tsc, &base_cpu);
            prev = __rdtsc();
            continue;
        }
        if (now - base_tsc > period) {
            rebase(&ru0, &base_tsc, &base_cpu);
            now = __rdtsc();
        }
        prev = now;
    }
    fprintf(stderr, "gaps %ld\n", gaps);
}
