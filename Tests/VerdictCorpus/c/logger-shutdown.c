// Workers log under their module's lock (module, then logger); the shutdown path, run by main after
// joining every worker, flushes the logger and reads the module's state under the logger lock
// (logger, then module). Not deadlock-prone: pthread_join orders every worker's order before the
// shutdown's.
#include "corpus.h"

static pthread_mutex_t module_lock;
static pthread_mutex_t logger_lock;
static int module_requests;
static int log_lines;

static void log_line(void) {
    pthread_mutex_lock(&logger_lock);
    log_lines++;
    pthread_mutex_unlock(&logger_lock);
}

static void handle_request(void) {
    pthread_mutex_lock(&module_lock);
    module_requests++;
    log_line();   // the logger under the module lock
    pthread_mutex_unlock(&module_lock);
}

static void shutdown_logging(void) {
    pthread_mutex_lock(&logger_lock);
    pthread_mutex_lock(&module_lock);   // and the reverse, once the workers are gone
    printf("%d requests, %d log lines\n", module_requests, log_lines);
    pthread_mutex_unlock(&module_lock);
    pthread_mutex_unlock(&logger_lock);
}

static void worker(int index) {
    (void)index;
    for (int request = 0; request < 50; request++) handle_request();
}

int main(void) {
    pthread_mutex_init(&module_lock, NULL);
    pthread_mutex_init(&logger_lock, NULL);
    run_together(2, worker);   // returns once both workers are joined
    shutdown_logging();
    puts("logger-shutdown: done");
    return 0;
}
