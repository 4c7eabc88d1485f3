// The three-lock cycle of cycle-3t, with every thread holding the gate G around its order. Not
// deadlock-prone: at most one thread at a time holds a cycle lock while waiting for the next.
#include "corpus.h"

static pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C};

static void body(int index) {
    for (int round = 0; round < 100; round++) {
        pthread_mutex_lock(&G);
        nest(ring[index], ring[(index + 1) % 3]);
        pthread_mutex_unlock(&G);
    }
}

int main(void) {
    run_together(3, body);
    puts("cycle-3t-gate-all: done");
    return 0;
}
