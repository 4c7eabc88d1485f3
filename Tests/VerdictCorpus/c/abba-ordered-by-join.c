// ABBA where the second thread is created only after the first was joined. Not deadlock-prone:
// the two orders are ordered by pthread_join then pthread_create, so they never overlap.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void *first(void *unused) {
    nest(&A, &B);
    return unused;
}

static void *second(void *unused) {
    nest(&B, &A);
    return unused;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, first, NULL);
    pthread_join(thread, NULL);
    pthread_create(&thread, NULL, second, NULL);
    pthread_join(thread, NULL);
    puts("abba-ordered-by-join: done");
    return 0;
}
