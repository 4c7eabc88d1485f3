#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "LockValidatorShims.h"

#include <libunwind.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

// Stacks by frame pointers, as Abseil's GetStackTrace takes them on x86-64, made exact: a frame
// record [saved rbp, return address] leads to the caller's record only if the caller keeps rbp as
// its frame pointer. Swift code does; Debian's libc and most -O2 C code do not. So each return
// address is checked once (its function's prologue, found through libunwind), and at the first
// function that keeps no frame pointer libunwind takes over from that frame's registers.

/// Verdicts by return address, shared by all threads without a lock: an entry is
/// `address << 1 | keeps`, 0 when empty. User-space addresses fit in 63 bits.
#define LV_VERDICT_BITS 13
#define LV_VERDICT_PROBES 16
static uint64_t verdicts[1u << LV_VERDICT_BITS];

/// A frame larger than this ends the walk by frame pointers (libunwind goes on): a sanity bound.
#define LV_MAX_FRAME_BYTES (1u << 20)

static size_t verdict_slot(uintptr_t address) {
    return (size_t)(((uint64_t)address * 0x9E3779B97F4A7C15ull) >> (64 - LV_VERDICT_BITS));
}

/// 1 or 0 when decided; -1 when not, with room to keep the verdict; -2 when not, and the address's
/// probe window is full.
static int cached_verdict(uintptr_t address) {
    uint64_t key = (uint64_t)address << 1;
    size_t mask = (1u << LV_VERDICT_BITS) - 1, slot = verdict_slot(address);
    for (int probe = 0; probe < LV_VERDICT_PROBES; probe++) {
        uint64_t entry = __atomic_load_n(&verdicts[(slot + probe) & mask], __ATOMIC_RELAXED);
        if (entry == 0) return -1;
        if ((entry & ~1ull) == key) return (int)(entry & 1);
    }
    return -2;
}

static void remember_verdict(uintptr_t address, int keeps) {
    uint64_t entry = (uint64_t)address << 1 | (uint64_t)(keeps == 1);
    size_t mask = (1u << LV_VERDICT_BITS) - 1, slot = verdict_slot(address);
    for (int probe = 0; probe < LV_VERDICT_PROBES; probe++) {
        uint64_t empty = 0;
        uint64_t *at = &verdicts[(slot + probe) & mask];
        if (__atomic_compare_exchange_n(at, &empty, entry, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
        if ((empty & ~1ull) == (entry & ~1ull)) return;  // another thread got there first
    }
    // The window is full: this address is decided again next time.
}

/// `push rbp; mov rbp, rsp` at the function's start, after an `endbr64`.
static int prologue_keeps_frame_pointer(const unsigned char *code) {
    if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) code += 4;
    return code[0] == 0x55 && code[1] == 0x48 && code[2] == 0x89 && code[3] == 0xe5;
}

// Out of line: its libunwind context is a 2 KB frame, which a walk's every cached frame paid for.
__attribute__((noinline)) static int decide_verdict(uintptr_t address) {
    unw_context_t context;
    unw_cursor_t cursor;
    unw_proc_info_t info;
    int keeps = -1;
    lv_enter_validator();  // libunwind's own locks are not the program's
    // `address - 1` is inside the call: a call can be its function's last instruction.
    if (unw_getcontext(&context) == 0 && unw_init_local(&cursor, &context) == 0
        && unw_set_reg(&cursor, UNW_REG_IP, (unw_word_t)(address - 1)) == 0
        && unw_get_proc_info(&cursor, &info) == 0 && info.start_ip != 0) {
        keeps = prologue_keeps_frame_pointer((const unsigned char *)info.start_ip);
    }
    lv_leave_validator();
    return keeps;
}

int lv_keeps_frame_pointer(uintptr_t address) {
    int keeps = cached_verdict(address);
    // A full window: deciding again on every capture would cost more than libunwind from here.
    if (keeps == -2) return -1;
    if (keeps < 0) {
        keeps = decide_verdict(address);
        if (keeps >= 0) remember_verdict(address, keeps);
    }
    return keeps;
}

/// The last stack tail libunwind gave this thread, from the frame the walk handed over at to the end
/// of the stack: the handover is most often at the same frame every time (a thread's start in libc),
/// so the tail is copied when its return addresses are all still in their stack slots.
typedef struct {
    uintptr_t return_address;      ///< where the walk handed over
    const uintptr_t *callee;       ///< the callee's frame record there
    int count;
    uintptr_t addresses[LV_MAX_FRAMES];
    const uintptr_t *slots[LV_MAX_FRAMES];  ///< where each address is on the stack
} lv_stack_tail;

static __thread lv_stack_tail last_tail;

static int copy_last_tail(uintptr_t return_address, const uintptr_t *callee, void **buffer, int capacity) {
    if (last_tail.return_address != return_address || last_tail.callee != callee || last_tail.count == 0) return -1;
    for (int i = 0; i < last_tail.count; i++) {
        if (*last_tail.slots[i] != last_tail.addresses[i]) return -1;
    }
    int count = last_tail.count < capacity ? last_tail.count : capacity;
    for (int i = 0; i < count; i++) buffer[i] = (void *)last_tail.addresses[i];
    return count;
}

/// The return addresses beyond the frame that `return_address` returns into, by libunwind: that
/// frame's stack pointer is just past its callee's record `callee`, and its rbp is the one saved there.
static int unwind_on(uintptr_t return_address, const uintptr_t *callee, void **buffer, int capacity) {
    int copied = copy_last_tail(return_address, callee, buffer, capacity);
    if (copied >= 0) return copied;
    unw_context_t context;
    memset(&context, 0, sizeof context);
    context.uc_mcontext.gregs[REG_RIP] = (greg_t)return_address;
    context.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(callee + 2);
    context.uc_mcontext.gregs[REG_RBP] = (greg_t)callee[0];
    context.uc_mcontext.fpregs = &context.__fpregs_mem;
    unw_cursor_t cursor;
    int count = 0, complete = 0, cacheable = 1;
    lv_enter_validator();
    if (unw_init_local(&cursor, &context) == 0) {
        while (count < LV_MAX_FRAMES) {
            if (unw_step(&cursor) <= 0) {
                complete = 1;
                break;
            }
            unw_word_t ip = 0, sp = 0;
            if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) {
                complete = 1;
                break;
            }
            // A frame's return address is just below its caller's stack pointer, except where a
            // signal frame put it: a tail with one of those is not kept.
            const uintptr_t *slot = NULL;
            if (unw_get_reg(&cursor, UNW_REG_SP, &sp) == 0 && sp >= 8) slot = (const uintptr_t *)(uintptr_t)(sp - 8);
            if (slot == NULL || (uintptr_t)slot <= (uintptr_t)callee || *slot != ip) cacheable = 0;
            last_tail.addresses[count] = ip;
            last_tail.slots[count] = slot;
            count++;
        }
    }
    lv_leave_validator();
    last_tail.count = complete && cacheable ? count : 0;
    last_tail.return_address = return_address;
    last_tail.callee = callee;
    if (count > capacity) count = capacity;
    for (int i = 0; i < count; i++) buffer[i] = (void *)last_tail.addresses[i];
    return count;
}

__attribute__((noinline)) int lv_backtrace(void **buffer, int capacity) {
    const uintptr_t *frame = __builtin_frame_address(0);
    int count = 0, skip = 1;  // our own record returns into our caller: start at the caller's caller
    while (count < capacity) {
        uintptr_t return_address = frame[1];
        if (return_address == 0) break;
        if (skip) {
            skip--;
        } else {
            buffer[count++] = (void *)return_address;
        }
        const uintptr_t *next = (const uintptr_t *)frame[0];
        int sane = next > frame && (uintptr_t)next - (uintptr_t)frame < LV_MAX_FRAME_BYTES
            && ((uintptr_t)next & 7) == 0;
        // The cache probed inline, a call only for an address not decided yet.
        int keeps = sane ? cached_verdict(return_address) : 0;
        if (keeps < 0) keeps = lv_keeps_frame_pointer(return_address);
        if (keeps != 1) {
            if (count < capacity) count += unwind_on(return_address, frame, buffer + count, capacity - count);
            break;
        }
        frame = next;
    }
    return count;
}

__attribute__((noinline)) int lv_unwind_backtrace(void **buffer, int capacity) {
    // Start the trace at our caller's caller: drop libunwind's frames and the caller's own.
    void *caller = __builtin_return_address(0);
    lv_enter_validator();
    int count = unw_backtrace(buffer, capacity);
    lv_leave_validator();
    for (int i = 0; i < count; i++) {
        if (buffer[i] == caller) {
            memmove(buffer, buffer + i + 1, (size_t)(count - i - 1) * sizeof *buffer);
            return count - i - 1;
        }
    }
    return count;
}
