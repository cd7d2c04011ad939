/* The driver of guard_model_lib.c: each step of the guarded call's model, and the library's own
 * mapfile_atomic_u64_load, run on 2M random aligned offsets in a scratch file, repeats
 * interleaved, medians compared with the accessor's in the same run.
 *
 *   guard_model DIR          (make bench runs it)
 *
 * Every step is checked first to answer the right value with status 0 (a step that declined to
 * its full path would time nothing). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guard_model.h"
#include "mapfile.h"

typedef int (*model_call)(const struct model_handle *, uint64_t, uint64_t *);

enum { CALLS = 2000000, REPEATS = 9, STEPS = 7, FILE_MIB = 64 };

static uint64_t *offsets;
static mapfile_t *library_handle;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "guard_model: %s (%s)\n", what, mapfile_last_error_message());
    exit(1);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The library's call in the model's signature (the handle is the library's own). */
static int library_call(const struct model_handle *h, uint64_t offset, uint64_t *out) {
    (void)h;
    return mapfile_atomic_u64_load(library_handle, offset, out);
}

/* One loop per step, as bench.c's count_calls_*: the offset, the arguments, the count. */
#define LOOP(name, call)                                                                     \
    __attribute__((noinline)) static uint64_t name(const struct model_handle *h, int n) {    \
        uint64_t value = 1;                                                                  \
        for (int i = 0; i < n; i++) call(h, offsets[i], &value);                             \
        return value;                                                                        \
    }
LOOP(loop_accessor, model_accessor)
LOOP(loop_looks, model_looks)
LOOP(loop_second_look, model_second_look)
LOOP(loop_flag, model_flag)
LOOP(loop_count, model_count)
LOOP(loop_mark, model_mark)
__attribute__((noinline)) static uint64_t loop_library(const struct model_handle *h, int n) {
    (void)h;
    uint64_t value = 1;
    mapfile_t *m = library_handle; /* in a register, as the other loops' handle */
    for (int i = 0; i < n; i++) mapfile_atomic_u64_load(m, offsets[i], &value);
    return value;
}

static const struct step {
    const char *name;
    model_call call;
    uint64_t (*loop)(const struct model_handle *, int);
} steps[STEPS] = {
    {"C accessor: range and alignment checks, load", model_accessor, loop_accessor},
    {"+ NULL checks, view word looked at before", model_looks, loop_looks},
    {"+ view word looked at again after", model_second_look, loop_second_look},
    {"+ a per-thread flag read (TLS), no store", model_flag, loop_flag},
    {"+ instead, thread's fast-call count (TLS)", model_count, loop_count},
    {"+ grace mark stored and cleared (TLS, in place)", model_mark, loop_mark},
    {"mapfile_atomic_u64_load (the library)", library_call, loop_library},
};

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: guard_model DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/scratch-guard-model", argv[1]);
    unlink(path);
    uint64_t len = (uint64_t)FILE_MIB << 20;
    if (mapfile_create(path, len, &library_handle) != MAPFILE_OK) die("mapfile_create");
    /* The model's steps use the library's own mapping (its zero-copy slice), so that every step
     * walks the same page tables: a second mapping of the file would have its own, kept warm in
     * the caches by whichever steps use it more often. */
    uint8_t *bytes = NULL;
    if (mapfile_slice_mut(library_handle, 0, len, &bytes) != MAPFILE_OK) die("mapfile_slice_mut");
    struct model_handle h = {0, (char *)bytes, len};
    for (uint64_t i = 0; i < len / 8; i++) memcpy(h.bytes + i * 8, &i, 8);
    model_thread_start();

    offsets = malloc(sizeof(uint64_t) * CALLS);
    if (!offsets) die("malloc");
    uint64_t state = 7;
    for (int i = 0; i < CALLS; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        offsets[i] = ((state >> 11) % (len - 8)) & ~(uint64_t)7;
    }
    for (int s = 0; s < STEPS; s++)
        for (int i = 0; i < 1000; i++) {
            uint64_t value = ~(uint64_t)0;
            if (steps[s].call(&h, offsets[i], &value) != 0 || value != offsets[i] / 8) {
                fprintf(stderr, "guard_model: step \"%s\" answered wrong at offset %llu\n", steps[s].name,
                        (unsigned long long)offsets[i]);
                return 1;
            }
        }

    double times[STEPS][REPEATS];
    volatile uint64_t sink = 0;
    for (int r = 0; r < REPEATS; r++)
        for (int s = 0; s < STEPS; s++) {
            double t = now();
            sink += steps[s].loop(&h, CALLS);
            times[s][r] = (now() - t) * 1e9 / CALLS;
        }
    for (int s = 0; s < STEPS; s++) qsort(times[s], REPEATS, sizeof(double), compare_doubles);
    double accessor = times[0][REPEATS / 2];
    printf("| step (8-byte atomic load, %d MiB, random offsets) | ns/op | vs accessor | spread of %d repeats |\n",
           FILE_MIB, REPEATS);
    printf("|---|---|---|---|\n");
    for (int s = 0; s < STEPS; s++)
        printf("| %s | %.2f | %.3fx | %.2f-%.2f |\n", steps[s].name, times[s][REPEATS / 2],
               times[s][REPEATS / 2] / accessor, times[s][0], times[s][REPEATS - 1]);
    mapfile_close(library_handle);
    unlink(path);
    return 0;
}
