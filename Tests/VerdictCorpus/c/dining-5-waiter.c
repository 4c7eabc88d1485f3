// Five philosophers who ask the waiter (a global lock W) before picking up both forks, left then right,
// and let the waiter go before eating. Not deadlock-prone: a philosopher waits for a fork while holding
// another only with W held, so at most one does at a time; a neighbour who holds the fork is eating and
// puts it down without needing W. W is a gate held on every fork-to-fork order.
#include "corpus.h"

static pthread_mutex_t waiter = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t forks[5] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};
static int meals[5];

static void philosopher(int seat) {
    for (int meal = 0; meal < 50; meal++) {
        pthread_mutex_lock(&waiter);
        pthread_mutex_lock(&forks[seat]);
        pthread_mutex_lock(&forks[(seat + 1) % 5]);
        pthread_mutex_unlock(&waiter);
        meals[seat]++;
        pthread_mutex_unlock(&forks[(seat + 1) % 5]);
        pthread_mutex_unlock(&forks[seat]);
    }
}

int main(void) {
    run_together(5, philosopher);
    puts("dining-5-waiter: done");
    return 0;
}
