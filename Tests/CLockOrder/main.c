// A C program with no LockValidator in it: two threads, one after the other, take two mutexes in
// opposite orders. Run under LD_PRELOAD=libLockValidatorPreload.so, the inversion is reported.
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t accounts = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ledger = PTHREAD_MUTEX_INITIALIZER;

static void *post_transfer(void *unused) {
    pthread_mutex_lock(&accounts);
    pthread_mutex_lock(&ledger);
    pthread_mutex_unlock(&ledger);
    pthread_mutex_unlock(&accounts);
    return unused;
}

static void *audit(void *unused) {
    pthread_mutex_lock(&ledger);
    pthread_mutex_lock(&accounts);
    pthread_mutex_unlock(&accounts);
    pthread_mutex_unlock(&ledger);
    return unused;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, post_transfer, NULL);
    pthread_join(thread, NULL);
    pthread_create(&thread, NULL, audit, NULL);
    pthread_join(thread, NULL);
    puts("c-lock-order: done");
    return 0;
}
