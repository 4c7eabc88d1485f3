#include "CLedger.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t sales_journal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cash_journal = PTHREAD_MUTEX_INITIALIZER;

static void take(pthread_mutex_t *mutex) { pthread_mutex_lock(mutex); }
static void give(pthread_mutex_t *mutex) { pthread_mutex_unlock(mutex); }

void cledger_post_twice(void) {
    for (int round = 0; round < 2; round++) {
        take(&sales_journal);
        take(&cash_journal);
        give(&cash_journal);
        give(&sales_journal);
    }
}

struct ledger {
    pthread_mutex_t books;
    pthread_mutex_t vault;
};

static struct ledger *ledger_open(void) {
    struct ledger *ledger = calloc(1, sizeof *ledger);
    pthread_mutex_init(&ledger->books, NULL);
    pthread_mutex_init(&ledger->vault, NULL);
    return ledger;
}

void cledger_open_and_reconcile(void) {
    struct ledger *ledger = ledger_open();
    pthread_mutex_lock(&ledger->books);
    pthread_mutex_lock(&ledger->vault);
    pthread_mutex_unlock(&ledger->vault);
    pthread_mutex_unlock(&ledger->books);
    pthread_mutex_lock(&ledger->vault);
    pthread_mutex_lock(&ledger->books);
    pthread_mutex_unlock(&ledger->books);
    pthread_mutex_unlock(&ledger->vault);
    pthread_mutex_destroy(&ledger->vault);
    pthread_mutex_destroy(&ledger->books);
    free(ledger);
}

void cledger_reindex(void) {
    static pthread_rwlock_t index_lock = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_t *pages = calloc(1, sizeof *pages);
    pthread_rwlock_init(pages, NULL);
    pthread_rwlock_wrlock(&index_lock);
    pthread_rwlock_wrlock(pages);
    pthread_rwlock_unlock(pages);
    pthread_rwlock_unlock(&index_lock);
    pthread_rwlock_wrlock(pages);
    pthread_rwlock_wrlock(&index_lock);
    pthread_rwlock_unlock(&index_lock);
    pthread_rwlock_unlock(pages);
    pthread_rwlock_destroy(pages);
    free(pages);
}

static pthread_mutex_t closed_period = PTHREAD_MUTEX_INITIALIZER;

int cledger_close_period(void) { return pthread_mutex_unlock(&closed_period); }
