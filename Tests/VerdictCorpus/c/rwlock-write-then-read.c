// Thread 0 holds A for reading and write-locks B; thread 1 holds B for writing and read-locks A.
// Not deadlock-prone: A is only ever read-locked, so its read locks never wait, and thread 1 always
// finishes. No cycle in lockdep's sense (read(A) -> B -> read(A) needs a writer of A to block).
#include "corpus.h"

static pthread_rwlock_t A = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t B = PTHREAD_RWLOCK_INITIALIZER;

static void body(int index) {
    for (int round = 0; round < 100; round++) {
        if (index == 0) {
            pthread_rwlock_rdlock(&A);
            pthread_rwlock_wrlock(&B);
        } else {
            pthread_rwlock_wrlock(&B);
            pthread_rwlock_rdlock(&A);
        }
        pthread_rwlock_unlock(index == 0 ? &B : &A);
        pthread_rwlock_unlock(index == 0 ? &A : &B);
    }
}

int main(void) {
    run_together(2, body);
    puts("rwlock-write-then-read: done");
    return 0;
}
