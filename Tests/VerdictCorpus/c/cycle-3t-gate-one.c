// The three-lock cycle with the gate G held only by thread 0 around A -> B. Deadlock-prone: a gate
// on one order excludes nothing (thread 0 holds G and A waiting for B, thread 1 holds B waiting for
// C, thread 2 holds C waiting for A).
#include "corpus.h"

static pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C};

static void body(int index) {
    wait_steps(index);
    if (index == 0) pthread_mutex_lock(&G);
    nest(ring[index], ring[(index + 1) % 3]);
    if (index == 0) pthread_mutex_unlock(&G);
}

int main(void) {
    run_together(3, body);
    puts("cycle-3t-gate-one: done");
    return 0;
}
