// Two threads read-lock two reader-writer locks in opposite orders; nothing ever write-locks them.
// Not deadlock-prone: a read lock waits only for a writer, and there is none. No cycle in lockdep's
// sense (read-read orders cannot block).
#include "corpus.h"

static pthread_rwlock_t A = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t B = PTHREAD_RWLOCK_INITIALIZER;

static void body(int index) {
    pthread_rwlock_t *first = index == 0 ? &A : &B, *second = index == 0 ? &B : &A;
    for (int round = 0; round < 100; round++) {
        pthread_rwlock_rdlock(first);
        pthread_rwlock_rdlock(second);
        pthread_rwlock_unlock(second);
        pthread_rwlock_unlock(first);
    }
}

int main(void) {
    run_together(2, body);
    puts("rwlock-read-read: done");
    return 0;
}
