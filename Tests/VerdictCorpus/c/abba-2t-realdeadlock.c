// ABBA on two threads that meet: each takes its first lock, both wait at a barrier, then each takes
// the lock the other holds. Deadlocks every time (run it only under a timeout or a watchdog).
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void body(int index) {
    if (index == 0) nest_meeting(&A, &B);
    else nest_meeting(&B, &A);
}

int main(void) {
    pthread_barrier_init(&all_hold_first, NULL, 2);
    run_together(2, body);
    puts("abba-2t-realdeadlock: done (not reached)");
    return 0;
}
