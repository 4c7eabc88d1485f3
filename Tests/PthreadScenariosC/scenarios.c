#include "PthreadScenariosC.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;

void scenario_c_first_then_second(void) {
    pthread_mutex_lock(&first);
    pthread_mutex_lock(&second);
    pthread_mutex_unlock(&second);
    pthread_mutex_unlock(&first);
}

void scenario_c_second_then_first(void) {
    pthread_mutex_lock(&second);
    pthread_mutex_lock(&first);
    pthread_mutex_unlock(&first);
    pthread_mutex_unlock(&second);
}

static pthread_mutex_t outer;
static pthread_mutex_t inner;
static long shared_counter;

struct work { int rounds; };

static void *take_in_order(void *argument) {
    struct work *work = argument;
    for (int i = 0; i < work->rounds; i++) {
        pthread_mutex_lock(&outer);
        pthread_mutex_lock(&inner);
        shared_counter++;
        pthread_mutex_unlock(&inner);
        pthread_mutex_unlock(&outer);
    }
    return NULL;
}

int scenario_c_consistent(int threads, int rounds) {
    pthread_mutex_init(&outer, NULL);
    pthread_mutex_init(&inner, NULL);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    struct work work = {rounds};
    shared_counter = 0;
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, take_in_order, &work);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    free(ids);
    pthread_mutex_destroy(&inner);
    pthread_mutex_destroy(&outer);
    return shared_counter == (long)threads * rounds ? 0 : 1;
}

#if defined(__x86_64__)
// In assembly, so that no compiler flag can give it a frame pointer; with call-frame information, so
// that libunwind can step over it.
__asm__(
    ".text\n"
    ".globl scenario_c_call_without_frame_pointer\n"
    ".type scenario_c_call_without_frame_pointer, @function\n"
    "scenario_c_call_without_frame_pointer:\n"
    "    .cfi_startproc\n"
    "    subq $8, %rsp\n"
    "    .cfi_adjust_cfa_offset 8\n"
    "    movq %rdi, %rax\n"
    "    movq %rsi, %rdi\n"
    "    callq *%rax\n"
    "    addq $8, %rsp\n"
    "    .cfi_adjust_cfa_offset -8\n"
    "    retq\n"
    "    .cfi_endproc\n"
    ".size scenario_c_call_without_frame_pointer, .-scenario_c_call_without_frame_pointer\n");
#else
void scenario_c_call_without_frame_pointer(void (*function)(void *), void *context) { function(context); }
#endif
