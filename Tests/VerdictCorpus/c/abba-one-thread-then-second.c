// One thread takes both orders (a one-thread cycle), then a second, concurrent thread takes B then A
// as well. Deadlock-prone: thread 0 holding A and waiting for B while thread 1 holds B and waits
// for A. The order B -> A is seen twice; its weakest evidence (two threads) decides.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void body(int index) {
    wait_steps(index);
    if (index == 0) {
        nest(&A, &B);
        nest(&B, &A);
    } else {
        nest(&B, &A);
    }
}

int main(void) {
    run_together(2, body);
    puts("abba-one-thread-then-second: done");
    return 0;
}
