// Two nested dispatch_sync_f onto two serial queues (an order taken before), for callgrind: run under
// LD_PRELOAD=libLockValidatorPreload.so and without, counting only inside `measured_dispatch_syncs`, it
// gives what the validator adds to a `DispatchQueue.sync` on a known order, in instructions, the same under
// any load. libdispatch's own declarations, so that no header is needed:
//
//     cc -O2 Peers/dispatch_syncs.c -o dispatch_syncs -L<swift>/usr/lib/swift/linux -ldispatch
//     dispatch_syncs <count>
#include <stdlib.h>

void *dispatch_queue_create(const char *label, const void *attribute);
void dispatch_sync_f(void *queue, void *context, void (*work)(void *));

static void *inner_queue;
static void nothing(void *context) { (void)context; }
static void inner(void *context) { dispatch_sync_f(inner_queue, context, nothing); }

__attribute__((noinline)) void measured_dispatch_syncs(void *outer_queue, int count) {
    for (int i = 0; i < count; i++) dispatch_sync_f(outer_queue, NULL, inner);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    void *outer_queue = dispatch_queue_create("outer", NULL);
    inner_queue = dispatch_queue_create("inner", NULL);
    // The first syncs' chain is new to the validator: not counted.
    for (int i = 0; i < 100; i++) dispatch_sync_f(outer_queue, NULL, inner);
    measured_dispatch_syncs(outer_queue, atoi(argv[1]));
    return 0;
}
