// ABBA in one thread while another runs beside it taking A and B, but never one inside the other.
// Not deadlock-prone: the second thread never holds a lock while waiting for one, so it can never
// be half of a deadlock; every order of the cycle is the first thread's.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void body(int index) {
    for (int round = 0; round < 100; round++) {
        if (index == 0) {
            nest(&A, &B);
            nest(&B, &A);
        } else {
            pthread_mutex_lock(&A);
            shared++;
            pthread_mutex_unlock(&A);
            pthread_mutex_lock(&B);
            shared--;
            pthread_mutex_unlock(&B);
        }
    }
}

int main(void) {
    run_together(2, body);
    puts("abba-one-thread-among-many: done");
    return 0;
}
