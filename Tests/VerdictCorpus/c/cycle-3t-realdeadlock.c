// The three-lock cycle of cycle-3t with threads that meet: each holds its first lock at the barrier,
// then waits for the next thread's. Deadlocks every time.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C};

static void body(int index) { nest_meeting(ring[index], ring[(index + 1) % 3]); }

int main(void) {
    pthread_barrier_init(&all_hold_first, NULL, 3);
    run_together(3, body);
    puts("cycle-3t-realdeadlock: done (not reached)");
    return 0;
}
