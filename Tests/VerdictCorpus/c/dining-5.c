// Five dining philosophers, each taking the fork on its left then the one on its right. Deadlock-
// prone: all five holding their left fork. The plain run seats them 200 ms apart. Forks are static,
// each a lock class of its own (as lockdep keys static locks).
#include "corpus.h"

static pthread_mutex_t forks[5] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};
static int meals[5];

static void philosopher(int seat) {
    wait_steps(seat);
    pthread_mutex_lock(&forks[seat]);
    pthread_mutex_lock(&forks[(seat + 1) % 5]);
    meals[seat]++;
    pthread_mutex_unlock(&forks[(seat + 1) % 5]);
    pthread_mutex_unlock(&forks[seat]);
}

int main(void) {
    run_together(5, philosopher);
    puts("dining-5: done");
    return 0;
}
