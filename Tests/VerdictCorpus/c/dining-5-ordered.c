// Five philosophers who pick up the lower-numbered of their two forks first (resource ordering: the
// last one takes fork 0 before fork 4). Not deadlock-prone, and no cycle: every order goes up.
#include "corpus.h"

static pthread_mutex_t forks[5] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};
static int meals[5];

static void philosopher(int seat) {
    int left = seat, right = (seat + 1) % 5;
    int low = left < right ? left : right, high = left < right ? right : left;
    for (int meal = 0; meal < 50; meal++) {
        pthread_mutex_lock(&forks[low]);
        pthread_mutex_lock(&forks[high]);
        meals[seat]++;
        pthread_mutex_unlock(&forks[high]);
        pthread_mutex_unlock(&forks[low]);
    }
}

int main(void) {
    run_together(5, philosopher);
    puts("dining-5-ordered: done");
    return 0;
}
