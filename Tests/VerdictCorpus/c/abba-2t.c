// ABBA on two concurrent threads. Deadlock-prone: thread 0 holding A while thread 1 holds B, each
// then waits for the other's lock. The plain run spaces the two orders 200 ms apart.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void body(int index) {
    wait_steps(index);
    if (index == 0) nest(&A, &B);
    else nest(&B, &A);
}

int main(void) {
    run_together(2, body);
    puts("abba-2t: done");
    return 0;
}
