// ABBA where only thread 0 holds the gate G around its order; thread 1 takes B then A without it.
// Deadlock-prone: thread 1 needs no G, so thread 0 (holding G and A, waiting for B) and thread 1
// (holding B, waiting for A) can meet. A gate protects only if every order is taken under it.
#include "corpus.h"

static pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void body(int index) {
    wait_steps(index);
    if (index == 0) {
        pthread_mutex_lock(&G);
        nest(&A, &B);
        pthread_mutex_unlock(&G);
    } else {
        nest(&B, &A);
    }
}

int main(void) {
    run_together(2, body);
    puts("abba-gate-one-side: done");
    return 0;
}
