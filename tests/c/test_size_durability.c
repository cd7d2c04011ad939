/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* Flush, resize, refresh, check, max_len and flush policies. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "observe.h"

/* 5. flush returns after the bytes reached stable storage: msync MS_SYNC over the written bytes,
 * plus fdatasync after a size change (counted through the interposed calls of observe.h). */
TEST(flush_writes_reach_the_file) {
    const char *path = scratch_path("flush");
    mapfile_t *m = NULL;
    const uint8_t *window = NULL;
    CHECK_OK(mapfile_create(path, 3 * 4096, &m));
    CHECK_OK(mapfile_slice(m, 0, 3 * 4096, &window));
    CHECK_OK(mapfile_write(m, 5000, "durable", 7));
    observe_reset();
    CHECK_OK(mapfile_flush(m));
    CHECK(file_bytes_equal(path, 5000, "durable", 7));
    CHECK(observed.msyncs == 1 && last_msync_covered(window, 3 * 4096, MS_SYNC));
    CHECK(observed.fdatasyncs == 1); /* the file was created: its size must be durable too */
    CHECK_OK(mapfile_write(m, 9000, "ranged", 6));
    observe_reset();
    CHECK_OK(mapfile_flush_range(m, 9000, 6));
    CHECK(file_bytes_equal(path, 9000, "ranged", 6));
    CHECK(observed.msyncs == 1 && last_msync_covered(window + 9000, 6, MS_SYNC));
    CHECK(observed.last_msync.end - observed.last_msync.start <= 4096); /* the range, not all */
    CHECK(observed.fdatasyncs == 0);                                    /* size unchanged since */
    CHECK_OK(mapfile_write(m, 100, "async", 5));
    observe_reset();
    CHECK_OK(mapfile_flush_async(m));
    CHECK(file_bytes_equal(path, 100, "async", 5));
    CHECK(observed.msyncs == 1 && last_msync_covered(window, 3 * 4096, MS_ASYNC));
    CHECK_OK(mapfile_resize(m, 5 * 4096));
    observe_reset();
    CHECK_OK(mapfile_flush(m));
    CHECK(observed.msyncs == 1 && observed.fdatasyncs == 1); /* resized: fdatasync again */
    /* close flushes what was written since */
    CHECK_OK(mapfile_write(m, 7, "closing", 7));
    observe_reset();
    CHECK_OK(mapfile_close(m));
    CHECK(observed.msyncs == 1 && observed.last_msync.flags == MS_SYNC);
    CHECK(file_bytes_equal(path, 7, "closing", 7));
}

/* 5. a flush of a read-only or copy-on-write mapping is a successful no-op (no msync at all). */
TEST(flush_of_read_only_or_copy_on_write_is_a_no_op) {
    const char *path = scratch_path("flush-ro");
    CHECK(write_pattern_file(path, 5000) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    observe_reset();
    CHECK_OK(mapfile_flush(m));
    CHECK_OK(mapfile_flush_range(m, 10, 100));
    CHECK_OK(mapfile_flush_async(m));
    CHECK_OK(mapfile_close(m));
    CHECK(observed.msyncs == 0 && observed.fdatasyncs == 0);
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_COPY_ON_WRITE, &m));
    CHECK_OK(mapfile_write(m, 0, "x", 1));
    observe_reset();
    CHECK_OK(mapfile_flush(m));
    CHECK_OK(mapfile_flush_range(m, 0, 5000));
    CHECK_STATUS(mapfile_flush_range(m, 0, 5001), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_OK(mapfile_close(m));
    CHECK(observed.msyncs == 0 && observed.fdatasyncs == 0);
    uint8_t first = 0;
    CHECK(read_file(path, &first, 1) == 1 && first == pattern_byte(0));
}

TEST(resize_grows_and_shrinks_file_and_mapping) {
    const char *path = scratch_path("resize");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 1000, &m));
    CHECK_OK(mapfile_write(m, 990, "0123456789", 10));
    CHECK_OK(mapfile_resize(m, 100000));
    CHECK(mapfile_len(m) == 100000);
    CHECK(file_size_of(path) == 100000);
    char kept[10];
    CHECK_OK(mapfile_read(m, 990, kept, 10));
    CHECK(memcmp(kept, "0123456789", 10) == 0);
    CHECK_OK(mapfile_write(m, 99990, "end", 3));
    uint64_t zeros = 0;
    CHECK_OK(mapfile_count_byte(m, 1000, 90000, 0, &zeros));
    CHECK(zeros == 90000); /* new space is zero-filled */
    CHECK_OK(mapfile_flush(m));
    CHECK(file_bytes_equal(path, 99990, "end", 3));
    CHECK_OK(mapfile_resize(m, 995));
    CHECK(mapfile_len(m) == 995);
    CHECK(file_size_of(path) == 995);
    CHECK_OK(mapfile_check(m));
    CHECK_STATUS(mapfile_read(m, 990, kept, 10), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_OK(mapfile_read(m, 990, kept, 5));
    CHECK(memcmp(kept, "01234", 5) == 0);
    CHECK_OK(mapfile_resize(m, 0));
    CHECK(mapfile_len(m) == 0 && file_size_of(path) == 0);
    CHECK_OK(mapfile_resize(m, 4096));
    CHECK(mapfile_len(m) == 4096);
    CHECK_OK(mapfile_close(m));
}

/* Resizing a window in the middle of a file never cuts the bytes after the window; growing past
 * the end grows the file; a window that is the file's tail shrinks the file with it. */
TEST(resizing_a_window_never_cuts_bytes_after_it) {
    const char *path = scratch_path("resize-window");
    CHECK(write_pattern_file(path, 10000) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.offset = 1000;
    options.len = 2000;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK_OK(mapfile_resize(m, 500));
    CHECK(mapfile_len(m) == 500);
    CHECK(file_size_of(path) == 10000);
    CHECK_OK(mapfile_resize(m, 8000));
    CHECK(mapfile_len(m) == 8000);
    CHECK(file_size_of(path) == 10000);
    CHECK_OK(mapfile_resize(m, 12000)); /* past the end: the file grows */
    CHECK(file_size_of(path) == 13000);
    CHECK_OK(mapfile_resize(m, 9500)); /* the window is the file's tail now: the file shrinks */
    CHECK(file_size_of(path) == 10500);
    uint8_t byte = 0;
    CHECK_OK(mapfile_read(m, 8999, &byte, 1));
    CHECK(byte == pattern_byte(9999));
    CHECK_OK(mapfile_close(m));
    uint8_t tail[10];
    for (int i = 0; i < 10; i++) tail[i] = pattern_byte(9990 + i);
    CHECK(file_bytes_equal(path, 9990, tail, 10));
}

/* 4. slices stay valid until close: after a resize that moved the window, old pointers still read. */
TEST(old_slices_stay_valid_after_resize_until_close) {
    const char *path = scratch_path("resize-slices");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 4096, &m));
    CHECK_OK(mapfile_write(m, 0, "first", 5));
    const uint8_t *old = NULL;
    CHECK_OK(mapfile_slice(m, 0, 5, &old));
    for (int i = 1; i <= 20; i++) CHECK_OK(mapfile_resize(m, 4096 * (uint64_t)i * 7));
    CHECK(old != NULL && memcmp(old, "first", 5) == 0);
    CHECK_OK(mapfile_close(m));
}

/* max_len: growth inside the reservation never moves the base pointer. */
TEST(max_len_keeps_the_window_in_place_while_growing) {
    const char *path = scratch_path("reserved");
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.create = MAPFILE_CREATE_NEW;
    options.create_size = 100;
    options.max_len = 64ull << 20;
    options.offset = 0;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK(mapfile_len(m) == 100);
    const uint8_t *base = NULL;
    CHECK_OK(mapfile_slice(m, 0, 100, &base));
    CHECK_OK(mapfile_write(m, 0, "base", 4));
    const uint64_t sizes[] = {4096, 4097, 1 << 20, 10 << 20, 3000, 64 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK_OK(mapfile_resize(m, sizes[i]));
        const uint8_t *now = NULL;
        CHECK_OK(mapfile_slice(m, 0, sizes[i], &now));
        CHECK(now == base);
        CHECK_OK(mapfile_write(m, sizes[i] - 1, "z", 1));
        uint8_t *tail = NULL;
        CHECK_OK(mapfile_slice_mut(m, sizes[i] - 1, 1, &tail));
        CHECK(tail != NULL && *tail == 'z');
    }
    CHECK(memcmp(base, "base", 4) == 0);
    CHECK_OK(mapfile_flush(m));
    CHECK(file_size_of(path) == 64 << 20);
    /* beyond max_len it still works, and may move */
    CHECK_OK(mapfile_resize(m, (64 << 20) + 4096));
    CHECK(mapfile_len(m) == (64 << 20) + 4096);
    CHECK_OK(mapfile_close(m));
    CHECK(file_bytes_equal(path, (64 << 20) - 1, "z", 1));
}

/* Exhausted address space is NO_MEMORY (2^62 bytes cannot be reserved in a 47-bit address space),
 * with errno ENOMEM, and nothing is left open. */
TEST(address_space_exhaustion_is_no_memory) {
    const char *preload = getenv("LD_PRELOAD");
    if (preload != NULL && strstr(preload, "vgpreload") != NULL)
        SKIP("under valgrind: its emulated mmap answers EINVAL where Linux answers ENOMEM "
             "(the test runs without valgrind)");
    const char *path = scratch_path("no-memory");
    CHECK(write_pattern_file(path, 100) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.max_len = 1ull << 62;
    mapfile_t *m = NULL;
    errno = 0;
    CHECK_STATUS(mapfile_open_with(path, &options, &m), MAPFILE_ERR_NO_MEMORY);
    CHECK(errno == ENOMEM);
    CHECK(m == NULL);
}

/* A window at an unaligned offset with max_len: reads through the reservation are right. */
TEST(max_len_with_an_unaligned_window) {
    const char *path = scratch_path("reserved-window");
    CHECK(write_pattern_file(path, 10000) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_COPY_ON_WRITE;
    options.offset = 4099;
    options.max_len = 1 << 20;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK(mapfile_len(m) == 10000 - 4099);
    uint8_t byte = 0;
    CHECK_OK(mapfile_read(m, 1000, &byte, 1));
    CHECK(byte == pattern_byte(5099));
    CHECK_OK(mapfile_write(m, 0, "cow", 3)); /* private change survives a refresh that grows */
    FILE *file = fopen(path, "ab");
    CHECK(file != NULL);
    if (file) {
        static char more[20000];
        fwrite(more, 1, sizeof more, file);
        fclose(file);
    }
    const uint8_t *before = NULL, *after = NULL;
    CHECK_OK(mapfile_slice(m, 0, 3, &before));
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == 30000 - 4099);
    CHECK_OK(mapfile_slice(m, 0, 3, &after));
    CHECK(before == after && memcmp(after, "cow", 3) == 0);
    CHECK_OK(mapfile_close(m));
}

/* Partial-page truncation (inside the last page, which never faults) is reported by check;
 * refresh adopts the new length and clears it. */
TEST(check_reports_truncation_and_refresh_clears_it) {
    const char *path = scratch_path("check");
    CHECK(write_pattern_file(path, 10000) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    CHECK_OK(mapfile_check(m));
    CHECK(truncate(path, 9990) == 0);
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_TRUNCATED);
    CHECK(strstr(mapfile_last_error_message(), "9990") != NULL);
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == 9990);
    CHECK_OK(mapfile_check(m));
    CHECK_OK(mapfile_close(m));
}

/* refresh follows an appended file; a fixed-length window never grows past its len. */
TEST(refresh_follows_an_appended_file) {
    const char *path = scratch_path("log");
    CHECK(write_file(path, "line 1\n", 7) == 0);
    mapfile_t *whole = NULL, *fixed = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &whole));
    mapfile_options options;
    mapfile_options_init(&options);
    options.offset = 2;
    options.len = 5;
    CHECK_OK(mapfile_open_with(path, &options, &fixed));
    FILE *file = fopen(path, "ab");
    CHECK(file != NULL);
    if (file) {
        for (int i = 2; i <= 2000; i++) fprintf(file, "line %d\n", i);
        fclose(file);
    }
    CHECK(mapfile_len(whole) == 7);
    CHECK_OK(mapfile_refresh(whole));
    CHECK(mapfile_len(whole) == (uint64_t)file_size_of(path));
    uint64_t lines = 0;
    CHECK_OK(mapfile_count_byte(whole, 0, mapfile_len(whole), '\n', &lines));
    CHECK(lines == 2000);
    CHECK_OK(mapfile_refresh(fixed));
    CHECK(mapfile_len(fixed) == 5);
    CHECK_OK(mapfile_close(whole));
    CHECK_OK(mapfile_close(fixed));
}

static int thread_count(void) {
    DIR *tasks = opendir("/proc/self/task");
    int count = 0;
    if (tasks == NULL) return -1;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) count += entry->d_name[0] != '.';
    closedir(tasks);
    return count;
}

/* Every policy makes writes durable by itself (msync counted through observe.h); EVERY_MILLIS does
 * it from one background thread shared by all handles, within its period (polled with a generous
 * bound: a loaded machine may be slow to run it). */
TEST(flush_policies_keep_writes_and_one_flusher_serves_every_handle) {
    const uint32_t policies[] = {MAPFILE_FLUSH_ALWAYS, MAPFILE_FLUSH_EVERY_BYTES, MAPFILE_FLUSH_EVERY_WRITES,
                                 MAPFILE_FLUSH_EVERY_MILLIS};
    for (size_t i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "policy-%zu", i);
        mapfile_options options;
        mapfile_options_init(&options);
        options.mode = MAPFILE_MODE_READ_WRITE;
        options.create = MAPFILE_CREATE_NEW;
        options.create_size = 1 << 16;
        options.flush_policy = policies[i];
        options.flush_every = 5;
        mapfile_t *m = NULL;
        CHECK_OK(mapfile_open_with(scratch_path(name), &options, &m));
        observe_reset();
        for (int w = 0; w < 50; w++) CHECK_OK(mapfile_write(m, (uint64_t)w * 100, "policy", 6));
        for (int waited = 0; waited < 200 && observed.msyncs == 0; waited++) usleep(5000);
        CHECK(observed.msyncs > 0); /* flushed without an explicit call */
        CHECK(file_bytes_equal(scratch_path(name), 4900, "policy", 6));
        CHECK_OK(mapfile_close(m));
    }
    /* Fifty EVERY_MILLIS handles, written and idle, run on one flusher thread in all. */
    int threads_before = thread_count();
    enum { HANDLES = 50 };
    observe_reset();
    mapfile_t *handles[HANDLES];
    for (int i = 0; i < HANDLES; i++) {
        char name[32];
        snprintf(name, sizeof name, "millis-%d", i);
        mapfile_options options = flushing_options(4096, MAPFILE_FLUSH_EVERY_MILLIS, 1);
        handles[i] = NULL;
        CHECK_OK(mapfile_open_with(scratch_path(name), &options, &handles[i]));
        if (handles[i] != NULL && i % 2 == 0) CHECK_OK(mapfile_write(handles[i], 0, "x", 1));
    }
    CHECK(thread_count() <= threads_before + 1);
    /* each written handle is flushed once (polled: a loaded machine may be slow to run it) ... */
    for (int waited = 0; waited < 400 && observed.msyncs < HANDLES / 2; waited++) usleep(5000);
    CHECK(observed.msyncs == HANDLES / 2);
    /* ... and then nothing more: idle handles cost no flushes */
    usleep(100000);
    CHECK(observed.msyncs == HANDLES / 2);
    for (int i = 0; i < HANDLES; i++) CHECK_OK(mapfile_close(handles[i]));
}

TEST(resize_reserves_space_or_fails_no_space_leaving_data) {
    const char *path = scratch_path("huge");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 4096, &m));
    CHECK_OK(mapfile_write(m, 0, "kept", 4));
    /* 2^62 bytes fits no disk: NO_SPACE (EFBIG/ENOSPC), and the mapping is unchanged */
    mapfile_status status = mapfile_resize(m, 1ull << 62);
    CHECK(status == MAPFILE_ERR_NO_SPACE);
    CHECK(mapfile_len(m) == 4096);
    char kept[4];
    CHECK_OK(mapfile_read(m, 0, kept, 4));
    CHECK(memcmp(kept, "kept", 4) == 0);
    CHECK_OK(mapfile_close(m));
    CHECK_STATUS(mapfile_create(scratch_path("too-big"), 1ull << 62, &m), MAPFILE_ERR_NO_SPACE);
    CHECK(access(scratch_path("too-big"), F_OK) != 0); /* nothing half-made is left behind */
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(flush_writes_reach_the_file);
    RUN(flush_of_read_only_or_copy_on_write_is_a_no_op);
    RUN(resize_grows_and_shrinks_file_and_mapping);
    RUN(resizing_a_window_never_cuts_bytes_after_it);
    RUN(old_slices_stay_valid_after_resize_until_close);
    RUN(max_len_keeps_the_window_in_place_while_growing);
    RUN(max_len_with_an_unaligned_window);
    RUN(address_space_exhaustion_is_no_memory);
    RUN(check_reports_truncation_and_refresh_clears_it);
    RUN(refresh_follows_an_appended_file);
    RUN(flush_policies_keep_writes_and_one_flusher_serves_every_handle);
    RUN(resize_reserves_space_or_fails_no_space_leaving_data);
    FINISH();
}
