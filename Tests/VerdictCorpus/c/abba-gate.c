// ABBA on two concurrent threads, each holding the gate lock G around its order. Not
// deadlock-prone: only the thread holding G can hold A or B while waiting for the other.
#include "corpus.h"

static pthread_mutex_t G = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void body(int index) {
    for (int round = 0; round < 100; round++) {
        pthread_mutex_lock(&G);
        if (index == 0) nest(&A, &B);
        else nest(&B, &A);
        pthread_mutex_unlock(&G);
    }
}

int main(void) {
    run_together(2, body);
    puts("abba-gate: done");
    return 0;
}
