// A three-lock cycle on three concurrent threads: A -> B, B -> C, C -> A. Deadlock-prone: each
// thread holding its first lock and waiting for the next thread's.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C};

static void body(int index) {
    wait_steps(index);
    nest(ring[index], ring[(index + 1) % 3]);
}

int main(void) {
    run_together(3, body);
    puts("cycle-3t: done");
    return 0;
}
