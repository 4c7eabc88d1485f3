// ABBA under the gate G on both threads, then thread 1 takes B then A once more without G.
// Deadlock-prone: that last, ungated order meets thread 0's gated A -> B (thread 0 holding G and A,
// waiting for B; thread 1 holding B, waiting for A). The order B -> A is seen twice, first under the
// gate: its weakest evidence (no gate) decides.
#include "corpus.h"

static pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void body(int index) {
    wait_steps(index);
    pthread_mutex_lock(&G);
    if (index == 0) nest(&A, &B);
    else nest(&B, &A);
    pthread_mutex_unlock(&G);
    if (index == 1) {
        wait_steps(1);
        pthread_mutex_lock(&B);   // the same order again, this time without the gate
        pthread_mutex_lock(&A);
        pthread_mutex_unlock(&A);
        pthread_mutex_unlock(&B);
    }
}

int main(void) {
    run_together(2, body);
    puts("abba-gate-sometimes: done");
    return 0;
}
