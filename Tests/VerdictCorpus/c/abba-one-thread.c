// ABBA in one thread: main takes A then B, later B then A, and starts no thread. Not
// deadlock-prone: a deadlock needs a second thread holding the other lock.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

int main(void) {
    nest(&A, &B);
    nest(&B, &A);
    puts("abba-one-thread: done");
    return 0;
}
