// ABBA ordered by two pthread_creates in a row: a thread takes A then B and then creates a thread,
// which creates the one that takes B then A. Not deadlock-prone: creation orders them transitively;
// neither the creator nor the middle thread takes a lock after creating.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void *grandchild(void *unused) {
    nest(&B, &A);
    return unused;
}

static void *child(void *unused) {
    pthread_t thread;
    pthread_create(&thread, NULL, grandchild, NULL);
    pthread_join(thread, NULL);
    return unused;
}

static void *parent(void *unused) {
    pthread_t thread;
    nest(&A, &B);
    pthread_create(&thread, NULL, child, NULL);
    pthread_join(thread, NULL);
    return unused;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, parent, NULL);
    pthread_join(thread, NULL);
    puts("abba-create-chain: done");
    return 0;
}
