/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* Slices, guarded copies, search, counting, atomics, hints. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "observe.h"

static mapfile_t *open_pattern(const char *name, size_t len, uint32_t mode) {
    const char *path = scratch_path(name);
    if (write_pattern_file(path, len) != 0) return NULL;
    mapfile_t *m = NULL;
    return mapfile_open(path, mode, &m) == MAPFILE_OK ? m : NULL;
}

/* 4. mapfile_slice is zero-copy: the pointer points into the mapping (writes show through it). */
TEST(slice_is_zero_copy_into_the_mapping) {
    mapfile_t *m = open_pattern("zero-copy", 3 * 4096, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    const uint8_t *view = NULL;
    CHECK_OK(mapfile_slice(m, 0, 3 * 4096, &view));
    const uint8_t *again = NULL;
    CHECK_OK(mapfile_slice(m, 100, 1, &again));
    CHECK(again == view + 100);
    CHECK_OK(mapfile_write(m, 5000, "seen", 4));
    CHECK(view != NULL && memcmp(view + 5000, "seen", 4) == 0);
    uint8_t *writable = NULL;
    CHECK_OK(mapfile_slice_mut(m, 7000, 4, &writable));
    CHECK(writable == view + 7000);
    if (writable) memcpy(writable, "back", 4);
    char copy[4];
    CHECK_OK(mapfile_read(m, 7000, copy, 4));
    CHECK(memcmp(copy, "back", 4) == 0);
    CHECK_OK(mapfile_close(m));
}

TEST(read_and_write_copy_exact_ranges) {
    mapfile_t *m = open_pattern("copies", 20000, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    static uint8_t buffer[20000];
    CHECK_OK(mapfile_read(m, 0, buffer, 20000));
    int same = 1;
    for (int i = 0; i < 20000; i++) same &= buffer[i] == pattern_byte(i);
    CHECK(same);
    /* a write across a page boundary, read back at odd offsets */
    static uint8_t source[6000];
    for (int i = 0; i < 6000; i++) source[i] = (uint8_t)(255 - i % 256);
    CHECK_OK(mapfile_write(m, 4000, source, 6000));
    CHECK_OK(mapfile_read(m, 3999, buffer, 6002));
    CHECK(buffer[0] == pattern_byte(3999));
    CHECK(memcmp(buffer + 1, source, 6000) == 0);
    CHECK(buffer[6001] == pattern_byte(10000));
    CHECK_OK(mapfile_close(m));
}

TEST(find_locates_needles_across_pages) {
    enum { SIZE = 1 << 20 };
    const char *path = scratch_path("haystack");
    static char data[SIZE];
    for (int i = 0; i < SIZE; i++) data[i] = (char)('a' + i % 13);
    memcpy(data + 4093, "NEEDLE", 6);         /* straddles the first page boundary */
    memcpy(data + SIZE - 6, "NEEDLE", 6);     /* the very end */
    CHECK(write_file(path, data, SIZE) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    uint64_t position = 0;
    CHECK_OK(mapfile_find(m, 0, "NEEDLE", 6, &position));
    CHECK(position == 4093);
    CHECK_OK(mapfile_find(m, 4094, "NEEDLE", 6, &position));
    CHECK(position == SIZE - 6);
    CHECK_OK(mapfile_find(m, SIZE - 5, "NEEDLE", 6, &position));
    CHECK(position == MAPFILE_NPOS);
    CHECK_OK(mapfile_find(m, 0, "NEEDLEX", 7, &position));
    CHECK(position == MAPFILE_NPOS);
    CHECK_OK(mapfile_close(m));
}

TEST(count_byte_matches_a_plain_loop) {
    enum { SIZE = 3 * 4096 + 77 };
    mapfile_t *m = open_pattern("count", SIZE, MAPFILE_MODE_READ_ONLY);
    CHECK(m != NULL);
    const uint64_t starts[] = {0, 1, 4095, 5000};
    const uint64_t lengths[] = {0, 1, 100, 4096, 8000};
    for (size_t s = 0; s < 4; s++) {
        for (size_t l = 0; l < 5; l++) {
            uint64_t start = starts[s], len = lengths[l];
            if (start + len > SIZE) continue;
            uint8_t target = pattern_byte(start + len / 2);
            uint64_t expected = 0, got = 0;
            for (uint64_t i = start; i < start + len; i++) expected += pattern_byte(i) == target;
            CHECK_OK(mapfile_count_byte(m, start, len, target, &got));
            CHECK(got == expected);
        }
    }
    CHECK_OK(mapfile_close(m));
}

TEST(atomics_are_aligned_checked_and_compare_exchange_reports) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(scratch_path("atomics"), 4096, &m));
    uint64_t value = 0, actual = 0;
    uint32_t value32 = 0, actual32 = 0;
    CHECK_OK(mapfile_atomic_u64_store(m, 8, 40));
    CHECK_OK(mapfile_atomic_u64_fetch_add(m, 8, 2, &value));
    CHECK(value == 40);
    CHECK_OK(mapfile_atomic_u64_load(m, 8, &value));
    CHECK(value == 42);
    CHECK_OK(mapfile_atomic_u64_compare_exchange(m, 8, 41, 100, &actual));
    CHECK(actual == 42); /* not swapped */
    CHECK_OK(mapfile_atomic_u64_load(m, 8, &value));
    CHECK(value == 42);
    CHECK_OK(mapfile_atomic_u64_compare_exchange(m, 8, 42, 100, &actual));
    CHECK(actual == 42); /* swapped */
    CHECK_OK(mapfile_atomic_u64_load(m, 8, &value));
    CHECK(value == 100);
    CHECK_STATUS(mapfile_atomic_u64_load(m, 4, &value), MAPFILE_ERR_MISALIGNED);
    CHECK_STATUS(mapfile_atomic_u64_store(m, 12, 1), MAPFILE_ERR_MISALIGNED);
    CHECK_STATUS(mapfile_atomic_u64_load(m, 4096, &value), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_atomic_u64_load(m, 4092, &value), MAPFILE_ERR_OUT_OF_BOUNDS); /* range before alignment */
    CHECK_STATUS(mapfile_atomic_u64_load(m, 4084, &value), MAPFILE_ERR_MISALIGNED);
    CHECK_OK(mapfile_atomic_u32_store(m, 4, 7));
    CHECK_OK(mapfile_atomic_u32_fetch_add(m, 4, 3, &value32));
    CHECK(value32 == 7);
    CHECK_OK(mapfile_atomic_u32_compare_exchange(m, 4, 10, 11, &actual32));
    CHECK(actual32 == 10);
    CHECK_OK(mapfile_atomic_u32_load(m, 4, &value32));
    CHECK(value32 == 11);
    CHECK_STATUS(mapfile_atomic_u32_load(m, 2, &value32), MAPFILE_ERR_MISALIGNED);
    CHECK_OK(mapfile_close(m));
    /* loads work on a read-only mapping; the mutating ones are READ_ONLY */
    CHECK_OK(mapfile_open(scratch_path("atomics"), MAPFILE_MODE_READ_ONLY, &m));
    CHECK_OK(mapfile_atomic_u64_load(m, 8, &value));
    CHECK(value == 100);
    CHECK_STATUS(mapfile_atomic_u64_store(m, 8, 1), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_atomic_u64_fetch_add(m, 8, 1, NULL), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_atomic_u32_compare_exchange(m, 4, 11, 12, &actual32), MAPFILE_ERR_READ_ONLY);
    CHECK_OK(mapfile_close(m));
}

/* Alignment is the byte's position in the file, for windows at odd offsets too. */
TEST(atomic_alignment_is_the_file_position) {
    const char *path = scratch_path("atomics-window");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 8192, &m));
    CHECK_OK(mapfile_close(m));
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.offset = 4100; /* 4100 % 8 == 4 */
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK_STATUS(mapfile_atomic_u64_store(m, 0, 5), MAPFILE_ERR_MISALIGNED);
    CHECK_OK(mapfile_atomic_u64_store(m, 4, 5)); /* file position 4104 */
    CHECK_OK(mapfile_atomic_u32_store(m, 0, 6)); /* file position 4100 */
    CHECK_OK(mapfile_close(m));
}

/* Atomics on a READ_WRITE mapping are shared across processes. */
TEST(atomics_are_shared_across_processes) {
    const char *path = scratch_path("shared-counter");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 64, &m));
    enum { CHILDREN = 4, ADDS = 20000 };
    pid_t children[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        children[c] = fork();
        if (children[c] == 0) {
            mapfile_t *own = NULL;
            if (mapfile_open(path, MAPFILE_MODE_READ_WRITE, &own) != MAPFILE_OK) _exit(1);
            for (int i = 0; i < ADDS; i++) {
                if (mapfile_atomic_u64_fetch_add(own, 0, 1, NULL) != MAPFILE_OK) _exit(2);
                if (mapfile_atomic_u32_fetch_add(own, 8, 1, NULL) != MAPFILE_OK) _exit(3);
            }
            _exit(mapfile_close(own) == MAPFILE_OK ? 0 : 4);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status = 0;
        waitpid(children[c], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    uint64_t total = 0;
    uint32_t total32 = 0;
    CHECK_OK(mapfile_atomic_u64_load(m, 0, &total));
    CHECK_OK(mapfile_atomic_u32_load(m, 8, &total32));
    CHECK(total == CHILDREN * ADDS);
    CHECK(total32 == CHILDREN * ADDS);
    CHECK_OK(mapfile_close(m));
}

TEST(every_advice_is_accepted_or_unsupported) {
    mapfile_t *m = open_pattern("advice", 1 << 16, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    const uint32_t advice[] = {MAPFILE_ADVICE_NORMAL, MAPFILE_ADVICE_RANDOM, MAPFILE_ADVICE_SEQUENTIAL,
                               MAPFILE_ADVICE_WILL_NEED, MAPFILE_ADVICE_DONT_NEED, MAPFILE_ADVICE_HUGE_PAGE,
                               MAPFILE_ADVICE_NO_HUGE_PAGE};
    for (size_t i = 0; i < 7; i++) {
        mapfile_status status = mapfile_advise(m, advice[i]);
        CHECK(status == MAPFILE_OK || status == MAPFILE_ERR_UNSUPPORTED);
        status = mapfile_advise_range(m, advice[i], 100, 5000);
        CHECK(status == MAPFILE_OK || status == MAPFILE_ERR_UNSUPPORTED);
    }
    /* the basic five are on every Linux */
    for (size_t i = 0; i < 5; i++) CHECK_OK(mapfile_advise(m, advice[i]));
    CHECK_STATUS(mapfile_advise(m, 7), MAPFILE_ERR_INVALID_ARG);
    CHECK_STATUS(mapfile_advise_range(m, 1000, 0, 1), MAPFILE_ERR_INVALID_ARG);
    /* DONT_NEED on a shared mapping keeps the data */
    uint8_t byte = 0;
    CHECK_OK(mapfile_read(m, 30000, &byte, 1));
    CHECK(byte == pattern_byte(30000));
    CHECK_OK(mapfile_close(m));
}

TEST(lock_unlock_and_prefault_work_on_ranges) {
    mapfile_t *m = open_pattern("lock", 1 << 16, MAPFILE_MODE_READ_ONLY);
    CHECK(m != NULL);
#if defined(__SANITIZE_ADDRESS__)
    mapfile_close(m);
    SKIP("under AddressSanitizer, whose interceptor makes mlock a no-op");
#endif
    long long before = locked_bytes();
    mapfile_status status = mapfile_lock(m, 10, 8000);
    if (status == MAPFILE_ERR_NO_MEMORY || status == MAPFILE_ERR_PERMISSION) {
        mapfile_close(m);
        SKIP("mlock is refused here (RLIMIT_MEMLOCK): %s", mapfile_last_error_message());
    }
    CHECK_OK(status);
    CHECK(before >= 0 && locked_bytes() == before + 2 * 4096); /* the two pages holding 10..8010 */
    CHECK_OK(mapfile_unlock(m, 10, 8000));
    CHECK(locked_bytes() == before);
    CHECK_OK(mapfile_prefault(m, 0, 1 << 16));
    CHECK_OK(mapfile_prefault(m, 4095, 2));
    CHECK_OK(mapfile_close(m));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(slice_is_zero_copy_into_the_mapping);
    RUN(read_and_write_copy_exact_ranges);
    RUN(find_locates_needles_across_pages);
    RUN(count_byte_matches_a_plain_loop);
    RUN(atomics_are_aligned_checked_and_compare_exchange_reports);
    RUN(atomic_alignment_is_the_file_position);
    RUN(atomics_are_shared_across_processes);
    RUN(every_advice_is_accepted_or_unsupported);
    RUN(lock_unlock_and_prefault_work_on_ranges);
    FINISH();
}
