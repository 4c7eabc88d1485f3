// The five philosophers of dining-5, who all pick up their left fork before any reaches for the right
// one. Deadlocks every time.
#include "corpus.h"

static pthread_mutex_t forks[5] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};

static void philosopher(int seat) { nest_meeting(&forks[seat], &forks[(seat + 1) % 5]); }

int main(void) {
    pthread_barrier_init(&all_hold_first, NULL, 5);
    run_together(5, philosopher);
    puts("dining-5-realdeadlock: done (not reached)");
    return 0;
}
