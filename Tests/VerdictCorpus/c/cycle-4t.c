// A four-lock cycle on four concurrent threads: A -> B, B -> C, C -> D, D -> A. Deadlock-prone.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t D = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *const ring[] = {&A, &B, &C, &D};

static void body(int index) {
    wait_steps(index);
    nest(ring[index], ring[(index + 1) % 4]);
}

int main(void) {
    run_together(4, body);
    puts("cycle-4t: done");
    return 0;
}
