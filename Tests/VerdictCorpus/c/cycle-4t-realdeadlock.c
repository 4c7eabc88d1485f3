// The four-lock cycle of cycle-4t with threads that meet at a barrier, each holding its first lock.
// Deadlocks every time.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t D = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C, &D};

static void body(int index) { nest_meeting(ring[index], ring[(index + 1) % 4]); }

int main(void) {
    pthread_barrier_init(&all_hold_first, NULL, 4);
    run_together(4, body);
    puts("cycle-4t-realdeadlock: done (not reached)");
    return 0;
}
