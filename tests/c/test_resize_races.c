/* The handle's own resizes and refreshes against concurrent guarded calls and truncations from
 * outside (API.md 6 and 7): a guarded call answers as if it ran entirely before or entirely after
 * each resize; the handle's own shrink never marks anything lost; a log follower never runs out
 * of mappings; with max_len the base never moves. */
#define _GNU_SOURCE /* ftruncate, pwrite in -std=c99 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096, BIG = 1 << 20, ROUNDS = 500 };

static mapfile_t *shared_handle;
static volatile int stop_workers;
static int unexpected[5];

/* One of five workers: read, write, fetch_add, count, find, each below mapfile_len. Any answer
 * but OK or OUT_OF_BOUNDS (the length changed between mapfile_len and the call) is counted. */
static void *worker(void *argument) {
    int kind = (int)(intptr_t)argument;
    uint64_t seed = 88172645463325252ull + (uint64_t)kind;
    uint8_t buffer[64];
    while (!stop_workers) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        uint64_t len = mapfile_len(shared_handle);
        if (len < 64) continue;
        uint64_t at = seed % (len - 63) & ~(uint64_t)7;
        uint64_t result = 0;
        mapfile_status status;
        switch (kind) {
        case 0: status = mapfile_read(shared_handle, at, buffer, 64); break;
        case 1: status = mapfile_write(shared_handle, at, "0123456789abcdef", 16); break;
        case 2: status = mapfile_atomic_u64_fetch_add(shared_handle, at, 1, NULL); break;
        case 3: status = mapfile_count_byte(shared_handle, at, len - at, 'x', &result); break;
        default: status = mapfile_find(shared_handle, at, "no such needle", 14, &result); break;
        }
        if (status != MAPFILE_OK && status != MAPFILE_ERR_OUT_OF_BOUNDS) {
            if (unexpected[kind]++ < 3)
                fprintf(stderr, "  worker %d: status %d: %s\n", kind, status, mapfile_last_error_message());
        }
    }
    return NULL;
}

/* One thread alternates resize(4096) / resize(1 MiB) while five others read, write, add, count
 * and find; nobody else touches the file. Afterwards the handle has lost nothing, and bytes
 * written through a mutable slice reach the file on flush. */
TEST(own_resize_is_not_a_truncation) {
    const char *path = scratch_path("own-resize");
    CHECK_OK(mapfile_create(path, BIG, &shared_handle));
    pthread_t threads[5];
    stop_workers = 0;
    memset(unexpected, 0, sizeof unexpected);
    for (intptr_t i = 0; i < 5; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    int resize_failures = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int round = 0; round < ROUNDS; round++) {
        resize_failures += mapfile_resize(shared_handle, PAGE) != MAPFILE_OK;
        resize_failures += mapfile_resize(shared_handle, BIG) != MAPFILE_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    stop_workers = 1;
    for (int i = 0; i < 5; i++) pthread_join(threads[i], NULL);
    fprintf(stderr, "  %d resize rounds in %.2f s\n", ROUNDS,
            (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    CHECK(resize_failures == 0);
    for (int i = 0; i < 5; i++) CHECK(unexpected[i] == 0);
    CHECK_OK(mapfile_check(shared_handle));
    uint8_t *bytes = NULL;
    CHECK_OK(mapfile_slice_mut(shared_handle, 0, BIG, &bytes));
    memcpy(bytes + 512 * 1024 + 3, "reached!", 8);
    uint8_t back[8];
    CHECK_OK(mapfile_read(shared_handle, 512 * 1024 + 3, back, 8));
    CHECK(memcmp(back, "reached!", 8) == 0);
    CHECK_OK(mapfile_flush(shared_handle));
    CHECK(file_bytes_equal(path, 512 * 1024 + 3, "reached!", 8));
    CHECK_OK(mapfile_close(shared_handle));
    CHECK(file_size_of(path) == BIG);
}

/* 8-byte reads (the guarded fast path) of the part that the handle's own resizes cut and grow
 * back: each answers the file's bytes or OUT_OF_BOUNDS, and zeros only when a regrown, not yet
 * rewritten period overlapped it. A read that began before a shrink finishes before the file is
 * cut (the shrink waits for it), so it never faults into zeros the file never held. */
enum { CUT_LEN = 64 * PAGE, CUT_KEPT = 8 * PAGE, CUT_ROUNDS = 3000 };
static const uint64_t CUT_FILL = 0x5a5a5a5a5a5a5a5aull;
static uint64_t zeros_begun, zeros_ended; /* regrown periods begun and rewritten (atomics) */
static int wrong_zeros, wrong_answers;

static void *cut_reader(void *argument) {
    uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)(intptr_t)argument;
    while (!__atomic_load_n(&stop_workers, __ATOMIC_RELAXED)) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        uint64_t at = CUT_KEPT + (seed % (CUT_LEN - CUT_KEPT - 8) & ~(uint64_t)7);
        uint64_t ended = __atomic_load_n(&zeros_ended, __ATOMIC_SEQ_CST);
        /* A read, a count, a find and an rfind (each on the fast path when it can): each one's
         * answer says whether it saw a zero. */
        uint64_t value = CUT_FILL, found = 0;
        mapfile_status status;
        int saw_zero;
        switch (seed >> 62) {
        case 0:
            status = mapfile_read(shared_handle, at, &value, 8);
            saw_zero = value != CUT_FILL;
            break;
        case 1:
            status = mapfile_count_byte(shared_handle, at, 64, 0x5a, &found);
            saw_zero = found != 64;
            break;
        case 2:
            status = mapfile_find(shared_handle, at, "", 1, &found); /* a zero byte, to the end */
            saw_zero = found != MAPFILE_NPOS;
            break;
        default:
            status = mapfile_rfind(shared_handle, at + 8, "", 1, &found);
            saw_zero = found != MAPFILE_NPOS;
            break;
        }
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the call's loads before the counter's */
        uint64_t begun = __atomic_load_n(&zeros_begun, __ATOMIC_SEQ_CST);
        int zeros_allowed = begun > ended;
        if (status == MAPFILE_OK && saw_zero && !zeros_allowed) {
            if (__atomic_fetch_add(&wrong_zeros, 1, __ATOMIC_RELAXED) < 3)
                fprintf(stderr, "  call %d at %llu saw a zero outside any regrown period (%#llx, %llu)\n",
                        (int)(seed >> 62), (unsigned long long)at, (unsigned long long)value,
                        (unsigned long long)found);
        } else if (status != MAPFILE_OK && status != MAPFILE_ERR_OUT_OF_BOUNDS) {
            if (__atomic_fetch_add(&wrong_answers, 1, __ATOMIC_RELAXED) < 3)
                fprintf(stderr, "  status %d: %s\n", status, mapfile_last_error_message());
        }
    }
    return NULL;
}

TEST(small_calls_racing_the_own_shrink_see_file_bytes_or_out_of_bounds) {
    const char *path = scratch_path("own-cut");
    CHECK_OK(mapfile_create(path, CUT_LEN, &shared_handle));
    static uint8_t fill[CUT_LEN];
    memset(fill, 0x5a, sizeof fill);
    CHECK_OK(mapfile_write(shared_handle, 0, fill, CUT_LEN));
    stop_workers = 0;
    wrong_zeros = wrong_answers = 0;
    pthread_t readers[2];
    for (intptr_t i = 0; i < 2; i++) pthread_create(&readers[i], NULL, cut_reader, (void *)i);
    int failures = 0;
    for (int round = 0; round < CUT_ROUNDS; round++) {
        failures += mapfile_resize(shared_handle, CUT_KEPT) != MAPFILE_OK;
        __atomic_fetch_add(&zeros_begun, 1, __ATOMIC_SEQ_CST); /* the regrown part reads zeros */
        failures += mapfile_resize(shared_handle, CUT_LEN) != MAPFILE_OK;
        failures += mapfile_write(shared_handle, CUT_KEPT, fill, CUT_LEN - CUT_KEPT) != MAPFILE_OK;
        __atomic_fetch_add(&zeros_ended, 1, __ATOMIC_SEQ_CST);
        /* The pages leave the page tables (not the file): the readers' next touches fault them
         * in, which is when a read is slow enough for the next shrink to catch it mid-way. */
        failures += mapfile_advise_range(shared_handle, MAPFILE_ADVICE_DONT_NEED, CUT_KEPT, CUT_LEN - CUT_KEPT) != MAPFILE_OK;
    }
    __atomic_store_n(&stop_workers, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++) pthread_join(readers[i], NULL);
    CHECK(failures == 0);
    CHECK(wrong_zeros == 0);
    CHECK(wrong_answers == 0);
    CHECK_OK(mapfile_check(shared_handle));
    CHECK_OK(mapfile_close(shared_handle));
}

/* Lines of /proc/self/maps: how many mappings this process has. */
static int mapping_count(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    int lines = 0, c;
    while (maps != NULL && (c = fgetc(maps)) != EOF) lines += c == '\n';
    if (maps != NULL) fclose(maps);
    return lines;
}

/* copytruncate, then a guarded read (TRUNCATED), refresh, the log grows again, refresh: 100,000
 * rounds, and the process's mapping count stays where it was (the handle repairs its mapping
 * instead of keeping a new one per round). The data read after each round is the file's. */
TEST(log_follower_never_runs_out_of_mappings) {
    enum { FOLLOW_ROUNDS = 100000, LOG = 3 * PAGE };
    const char *path = scratch_path("follower");
    CHECK(write_pattern_file(path, LOG) == 0);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    int before = mapping_count();
    int wrong = 0;
    char line[24]; /* "round NNNNNNN\n" is 14 bytes; room for any int */
    static char log_bytes[LOG];
    for (int round = 0; round < FOLLOW_ROUNDS && wrong < 5; round++) {
        wrong += ftruncate(fd, 0) != 0;
        uint8_t byte = 0;
        wrong += mapfile_read(m, LOG - 1, &byte, 1) != MAPFILE_ERR_TRUNCATED;
        wrong += mapfile_refresh(m) != MAPFILE_OK || mapfile_len(m) != 0;
        snprintf(line, sizeof line, "round %07d\n", round);
        for (int off = 0; off < LOG; off++) log_bytes[off] = line[off % 14];
        wrong += pwrite(fd, log_bytes, LOG, 0) != LOG;
        wrong += mapfile_refresh(m) != MAPFILE_OK || mapfile_len(m) != LOG;
        char seen[14];
        wrong += mapfile_read(m, (2 * PAGE / 14 + 1) * 14, seen, 14) != MAPFILE_OK || memcmp(seen, line, 14) != 0;
    }
    int after = mapping_count();
    CHECK(wrong == 0);
    fprintf(stderr, "  mappings before %d, after 100000 rounds %d\n", before, after);
    CHECK(after <= before + 64); /* the bug grew 3 a round; 64 leaves room for a sanitizer allocator */
    CHECK_OK(mapfile_check(m));
    CHECK_OK(mapfile_close(m));
    close(fd);
}

/* With max_len, the base pointer never moves: not after a truncation fault and refresh, nor when
 * the file grows back within max_len. */
TEST(max_len_means_the_base_never_moves) {
    const char *path = scratch_path("max-len-base");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.max_len = 64 * PAGE;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    const uint8_t *base = NULL, *now = NULL;
    CHECK_OK(mapfile_slice(m, 0, 0, &base));
    CHECK(truncate(path, PAGE) == 0);
    uint8_t byte = 0;
    CHECK_STATUS(mapfile_read(m, 3 * PAGE, &byte, 1), MAPFILE_ERR_TRUNCATED);
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == PAGE);
    CHECK(write_pattern_file(path, 10 * PAGE) == 0);
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == 10 * PAGE);
    CHECK_OK(mapfile_slice(m, 0, 0, &now));
    CHECK(now == base);
    CHECK_OK(mapfile_read(m, 3 * PAGE + 5, &byte, 1));
    CHECK(byte == pattern_byte(3 * PAGE + 5));
    CHECK(base[9 * PAGE + 7] == pattern_byte(9 * PAGE + 7));
    CHECK_OK(mapfile_check(m));
    CHECK_OK(mapfile_close(m));
}

/* The header's rules for resize: a whole-file window resized below the file's size (the file grew
 * from outside) cuts the file; a fixed-length window grown by resize keeps its length across a
 * refresh when the file did not change. */
TEST(resize_does_what_the_header_says) {
    const char *path = scratch_path("resize-rules");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m));
    CHECK(write_pattern_file(path, 8 * PAGE) == 0); /* grown from outside */
    CHECK_OK(mapfile_resize(m, 2 * PAGE));
    CHECK(file_size_of(path) == 2 * PAGE);
    CHECK_OK(mapfile_close(m));

    CHECK(write_pattern_file(path, 8 * PAGE) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.len = PAGE;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK_OK(mapfile_resize(m, 3 * PAGE));
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == 3 * PAGE);
    CHECK(file_size_of(path) == 8 * PAGE); /* a window in the middle never cuts the file */
    CHECK_OK(mapfile_close(m));
}

/* A COPY_ON_WRITE handle keeps its private view of the kept range when a refresh after appends
 * has to map the window anew: new reads and old pointers alike show the private bytes, and
 * pages it never wrote show the file. */
TEST(copy_on_write_refresh_keeps_private_writes) {
    const char *path = scratch_path("cow-refresh");
    CHECK(write_pattern_file(path, 2 * PAGE + 100) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_COPY_ON_WRITE, &m));
    const uint8_t *old = NULL;
    CHECK_OK(mapfile_slice(m, 0, 2 * PAGE + 100, &old));
    CHECK_OK(mapfile_write(m, 10, "private", 7));
    CHECK_OK(mapfile_write(m, 2 * PAGE + 50, "tail", 4));
    {   /* another writer appends, continuing the pattern */
        static uint8_t more[62 * PAGE - 100];
        for (size_t i = 0; i < sizeof more; i++) more[i] = pattern_byte(2 * PAGE + 100 + i);
        FILE *file = fopen(path, "ab");
        CHECK(file != NULL && fwrite(more, 1, sizeof more, file) == sizeof more);
        if (file != NULL) fclose(file);
    }
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == 64 * PAGE);
    const uint8_t *now = NULL;
    CHECK_OK(mapfile_slice(m, 0, 64 * PAGE, &now));
    char seen[8] = {0};
    CHECK_OK(mapfile_read(m, 10, seen, 7));
    CHECK(memcmp(seen, "private", 7) == 0);
    CHECK_OK(mapfile_read(m, 2 * PAGE + 50, seen, 4));
    CHECK(memcmp(seen, "tail", 4) == 0);
    CHECK(memcmp(old + 10, "private", 7) == 0);
    CHECK(now[PAGE + 3] == pattern_byte(PAGE + 3)); /* an unwritten page: the file */
    CHECK(now[40 * PAGE] == pattern_byte(40 * PAGE));
    CHECK(file_bytes_equal(path, 10, (uint8_t[]){pattern_byte(10)}, 1)); /* never reached it */
    CHECK_OK(mapfile_close(m));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(own_resize_is_not_a_truncation);
    RUN(small_calls_racing_the_own_shrink_see_file_bytes_or_out_of_bounds);
    RUN(log_follower_never_runs_out_of_mappings);
    RUN(max_len_means_the_base_never_moves);
    RUN(resize_does_what_the_header_says);
    RUN(copy_on_write_refresh_keeps_private_writes);
    FINISH();
}
