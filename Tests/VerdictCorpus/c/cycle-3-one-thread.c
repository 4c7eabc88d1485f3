// A three-lock cycle (A -> B, B -> C, C -> A) taken by one worker thread while main waits for it.
// Not deadlock-prone: only one thread ever holds a lock.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *unused) {
    nest(&A, &B);
    nest(&B, &C);
    nest(&C, &A);
    return unused;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_join(thread, NULL);
    puts("cycle-3-one-thread: done");
    return 0;
}
