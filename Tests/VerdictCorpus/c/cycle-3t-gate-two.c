// The three-lock cycle with the gate G held by threads 0 and 1 around their orders (A -> B, B -> C)
// but not by thread 2 (C -> A). Not deadlock-prone: the cycle deadlocks only with all three orders
// in progress at once, and G keeps the first two from ever being so (Goodlock's condition: the lock
// sets held over a cycle's edges must be pairwise disjoint, not merely have no lock in common to all).
#include "corpus.h"

static pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C};

static void body(int index) {
    for (int round = 0; round < 100; round++) {
        if (index < 2) pthread_mutex_lock(&G);
        nest(ring[index], ring[(index + 1) % 3]);
        if (index < 2) pthread_mutex_unlock(&G);
    }
}

int main(void) {
    run_together(3, body);
    puts("cycle-3t-gate-two: done");
    return 0;
}
