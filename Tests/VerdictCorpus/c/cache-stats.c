// A cache whose lookup counts hits in a statistics object under the cache lock, and a statistics
// report that reads the cache's size under the statistics lock, called from two worker threads.
// Deadlock-prone: a lookup holding the cache lock and a report holding the statistics lock.
#include "corpus.h"

struct cache {
    pthread_mutex_t lock;
    int keys[16];
    int count;
};

struct stats {
    pthread_mutex_t lock;
    long hits, misses;
};

static struct cache cache;
static struct stats stats;

static void stats_count(int hit) {
    pthread_mutex_lock(&stats.lock);
    if (hit) stats.hits++;
    else stats.misses++;
    pthread_mutex_unlock(&stats.lock);
}

static int cache_count(void) {
    pthread_mutex_lock(&cache.lock);
    int count = cache.count;
    pthread_mutex_unlock(&cache.lock);
    return count;
}

static int cache_lookup(int key) {
    pthread_mutex_lock(&cache.lock);
    int hit = 0;
    for (int index = 0; index < cache.count; index++) hit |= cache.keys[index] == key;
    if (!hit && cache.count < 16) cache.keys[cache.count++] = key;
    stats_count(hit);   // the statistics lock under the cache lock
    pthread_mutex_unlock(&cache.lock);
    return hit;
}

static void stats_report(void) {
    pthread_mutex_lock(&stats.lock);
    printf("hits %ld, misses %ld, %d keys cached\n", stats.hits, stats.misses, cache_count());   // and the reverse
    pthread_mutex_unlock(&stats.lock);
}

static void worker(int index) {
    wait_steps(index);
    if (index == 0) {
        for (int key = 0; key < 20; key++) cache_lookup(key % 7);
    } else {
        stats_report();
    }
}

int main(void) {
    pthread_mutex_init(&cache.lock, NULL);
    pthread_mutex_init(&stats.lock, NULL);
    run_together(2, worker);
    puts("cache-stats: done");
    return 0;
}
