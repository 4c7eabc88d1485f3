// ABBA where main takes A then B before it creates the thread that takes B then A. Not
// deadlock-prone: everything main did before pthread_create happens before the child starts, and
// main takes no lock afterwards.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void *child(void *unused) {
    nest(&B, &A);
    return unused;
}

int main(void) {
    pthread_t thread;
    nest(&A, &B);
    pthread_create(&thread, NULL, child, NULL);
    pthread_join(thread, NULL);
    puts("abba-ordered-by-create: done");
    return 0;
}
