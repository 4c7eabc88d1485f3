// ABBA between main and the thread it created, before joining it. Deadlock-prone: after
// pthread_create the two run at once (the child holding A, main holding B). Compare
// abba-ordered-by-create, where main takes its order before creating the child.
#include "corpus.h"

static pthread_mutex_t A = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t B = PTHREAD_MUTEX_INITIALIZER;

static void *child(void *unused) {
    nest(&A, &B);
    return unused;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, child, NULL);
    wait_steps(1);
    nest(&B, &A);
    pthread_join(thread, NULL);
    puts("abba-parent-child: done");
    return 0;
}
