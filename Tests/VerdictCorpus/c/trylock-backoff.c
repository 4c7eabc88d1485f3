// Thread 0 takes A then B; thread 1 holds B and only tries A, and on failure lets B go and starts
// over. Not deadlock-prone: thread 1 never waits for A while holding B. No cycle in lockdep's sense
// (a try-lock adds no order into the lock tried).
#include "corpus.h"
#include <sched.h>

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static int backoffs;

static void body(int index) {
    for (int round = 0; round < 100; round++) {
        if (index == 0) {
            nest(&A, &B);
            continue;
        }
        for (;;) {
            pthread_mutex_lock(&B);
            if (pthread_mutex_trylock(&A) == 0) break;
            pthread_mutex_unlock(&B);   // back off: never wait for A with B held
            backoffs++;
            sched_yield();
        }
        pthread_mutex_unlock(&A);
        pthread_mutex_unlock(&B);
    }
}

int main(void) {
    run_together(2, body);
    printf("trylock-backoff: done\n");
    return 0;
}
