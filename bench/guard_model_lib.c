/* What each piece of a guarded call costs: a model of mapfile_atomic_u64_load's fast path in C,
 * built up one piece at a time from the non-inlined C accessor (S3c's peer), each step compiled
 * as a shared library's exported function (called through the PLT, as the library is). The
 * driver is guard_model.c (`make bench` runs it after the instruction counts).
 *
 * The steps, each adding to the one before:
 *   model_accessor     range and alignment checks, the load (bench.c's accessor_load)
 *   model_looks        + NULL checks of handle and out-pointer, the view word looked at before
 *   model_second_look  + the view word looked at again after the access (the seqlock's check)
 *   model_flag         + a per-thread flag read and tested (instead of the count below): the
 *                        least a per-thread check can cost (initial-exec TLS, no store)
 *   model_count        model_second_look + the thread's fast-call count (initial-exec TLS, as
 *                        grace.rs keeps it: a subtraction stored back, and its test)
 *   model_mark         + the grace mark: the view word stored into the thread's TLS block
 *                        before the access, cleared after (= the library's fast path,
 *                        grace.rs `enter`: in place, through the block's offset)
 *
 * It answers "what would a design without X gain" by measurement, not by instruction counting:
 * docs/ARCHITECTURE.md ("What a guarded call costs") has the figures and what they mean. */
#include <stddef.h>
#include <stdint.h>

#include "guard_model.h"

/* The thread's block, as the library's (grace.rs `ThreadBlock`): the count of fast calls left
 * before the signal mask is looked at again, and the fast path's grace mark (the view word of
 * the call under way). */
struct model_block {
    uint32_t fast_calls;
    uint32_t checked; /* model_flag's flag */
    uint64_t word;
};

static __thread struct model_block block __attribute__((tls_model("initial-exec")));

enum { SLOW = 2 };

int model_full(const struct model_handle *h, uint64_t offset, uint64_t *out);

/* The full path (never taken in the model's loops: every offset is in range and aligned). */
__attribute__((noinline)) int model_full(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    (void)h;
    (void)offset;
    (void)out;
    return -1;
}

void model_thread_start(void) {
    block.fast_calls = UINT32_MAX;
    block.checked = 1;
}

static uint64_t load(const char *at) {
    return __atomic_load_n((const uint64_t *)(const void *)at, __ATOMIC_SEQ_CST);
}

static uint64_t look(const struct model_handle *h) {
    return __atomic_load_n(&h->word, __ATOMIC_ACQUIRE);
}

int model_accessor(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    if (offset > h->len || 8 > h->len - offset || offset % 8 != 0) return -1;
    *out = load(h->bytes + offset);
    return 0;
}

int model_looks(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    if (h == NULL || out == NULL || look(h) & SLOW) return model_full(h, offset, out);
    uint64_t len = h->len;
    if (len < 8 || offset > len - 8 || (uintptr_t)(h->bytes + offset) % 8 != 0) return model_full(h, offset, out);
    *out = load(h->bytes + offset);
    return 0;
}

int model_second_look(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    if (h == NULL || out == NULL || look(h) & SLOW) return model_full(h, offset, out);
    uint64_t len = h->len;
    if (len < 8 || offset > len - 8 || (uintptr_t)(h->bytes + offset) % 8 != 0) return model_full(h, offset, out);
    uint64_t value = load(h->bytes + offset);
    if (look(h) & SLOW) return model_full(h, offset, out);
    *out = value;
    return 0;
}

int model_flag(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    if (h == NULL || out == NULL || look(h) & SLOW) return model_full(h, offset, out);
    if (!block.checked) return model_full(h, offset, out);
    uint64_t len = h->len;
    if (len < 8 || offset > len - 8 || (uintptr_t)(h->bytes + offset) % 8 != 0) return model_full(h, offset, out);
    uint64_t value = load(h->bytes + offset);
    if (look(h) & SLOW) return model_full(h, offset, out);
    *out = value;
    return 0;
}

int model_count(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    if (h == NULL || out == NULL || look(h) & SLOW) return model_full(h, offset, out);
    struct model_block *b = &block;
    if (b->fast_calls-- == 0) {
        b->fast_calls = 0;
        return model_full(h, offset, out);
    }
    uint64_t len = h->len;
    if (len < 8 || offset > len - 8 || (uintptr_t)(h->bytes + offset) % 8 != 0) return model_full(h, offset, out);
    uint64_t value = load(h->bytes + offset);
    if (look(h) & SLOW) return model_full(h, offset, out);
    *out = value;
    return 0;
}

int model_mark(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    uint64_t word;
    if (h == NULL || out == NULL || (word = look(h)) & SLOW) return model_full(h, offset, out);
    struct model_block *b = &block;
    if (b->fast_calls-- == 0) {
        b->fast_calls = 0;
        return model_full(h, offset, out);
    }
    __atomic_store_n(&b->word, word, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the library's readers need only compiler fences */
    uint64_t len = h->len;
    if (len < 8 || offset > len - 8 || (uintptr_t)(h->bytes + offset) % 8 != 0) {
        __atomic_store_n(&b->word, 0, __ATOMIC_RELAXED);
        return model_full(h, offset, out);
    }
    uint64_t value = load(h->bytes + offset);
    uint64_t again = look(h);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&b->word, 0, __ATOMIC_RELAXED);
    if (again & SLOW) return model_full(h, offset, out);
    *out = value;
    return 0;
}
