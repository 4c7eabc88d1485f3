// The three-lock cycle where the thread taking C -> A is created only after the one taking A -> B was
// joined, while the thread taking B -> C runs across both. Not deadlock-prone: the cycle deadlocks
// only with all three orders in progress at once, and join-then-create keeps the first and the third
// apart (one pair of its threads ordered is enough).
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t C = PTHREAD_MUTEX_INITIALIZER;

static void *first(void *unused) {
    nest(&A, &B);
    return unused;
}

static void *middle(void *unused) {
    wait_steps(1);   // only so that the plain run takes the orders in the ring's order
    nest(&B, &C);
    return unused;
}

static void *last(void *unused) {
    wait_steps(2);
    nest(&C, &A);
    return unused;
}

int main(void) {
    pthread_t first_thread, middle_thread, last_thread;
    pthread_create(&first_thread, NULL, first, NULL);
    pthread_create(&middle_thread, NULL, middle, NULL);
    pthread_join(first_thread, NULL);
    pthread_create(&last_thread, NULL, last, NULL);
    pthread_join(middle_thread, NULL);
    pthread_join(last_thread, NULL);
    puts("cycle-3t-partly-joined: done");
    return 0;
}
