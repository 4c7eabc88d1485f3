// Thread 0 holds A for reading and write-locks B; thread 1 holds B for reading and write-locks A.
// Deadlock-prone: each write lock waits for the other thread's read hold to end.
#include "corpus.h"

static pthread_rwlock_t A = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t B = PTHREAD_RWLOCK_INITIALIZER;

static void body(int index) {
    pthread_rwlock_t *first = index == 0 ? &A : &B, *second = index == 0 ? &B : &A;
    wait_steps(index);
    pthread_rwlock_rdlock(first);
    pthread_rwlock_wrlock(second);
    pthread_rwlock_unlock(second);
    pthread_rwlock_unlock(first);
}

int main(void) {
    run_together(2, body);
    puts("rwlock-read-write: done");
    return 0;
}
