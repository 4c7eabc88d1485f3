// ABBA on two concurrent threads where the second takes B then A only after the first signalled, through
// a condition variable, that it is done with A -> B. Not deadlock-prone: the signal orders the two.
// Outside the verdicts' model (only thread start and join order threads there), so a verdict of
// "can deadlock" here is expected of it, and wrong.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t handoff = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_with_ab = PTHREAD_COND_INITIALIZER;
static int first_done;

static void body(int index) {
    if (index == 0) {
        nest(&A, &B);
        pthread_mutex_lock(&handoff);
        first_done = 1;
        pthread_cond_signal(&done_with_ab);
        pthread_mutex_unlock(&handoff);
    } else {
        pthread_mutex_lock(&handoff);
        while (!first_done) pthread_cond_wait(&done_with_ab, &handoff);
        pthread_mutex_unlock(&handoff);
        nest(&B, &A);
    }
}

int main(void) {
    run_together(2, body);
    puts("condvar-handoff: done");
    return 0;
}
