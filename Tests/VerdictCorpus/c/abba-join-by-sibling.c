// ABBA where the thread taking B then A first joins the thread that took A then B (a sibling, not
// main). Not deadlock-prone: pthread_join orders the two orders, though both threads were started
// together and the joining thread was alive throughout.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;
static pthread_t first_thread;   // written before the joiner is created

static void *first(void *unused) {
    nest(&A, &B);
    return unused;
}

static void *joiner(void *unused) {
    pthread_join(first_thread, NULL);
    nest(&B, &A);
    return unused;
}

int main(void) {
    pthread_t second_thread;
    pthread_create(&first_thread, NULL, first, NULL);
    pthread_create(&second_thread, NULL, joiner, NULL);
    pthread_join(second_thread, NULL);
    puts("abba-join-by-sibling: done");
    return 0;
}
