/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* Opening, creating, options and closing. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "observe.h"

TEST(open_maps_the_whole_file_in_every_mode) {
    const char *path = scratch_path("modes");
    CHECK(write_pattern_file(path, 10000) == 0);
    const uint32_t modes[] = {MAPFILE_MODE_READ_ONLY, MAPFILE_MODE_READ_WRITE, MAPFILE_MODE_COPY_ON_WRITE};
    for (size_t i = 0; i < 3; i++) {
        mapfile_t *m = NULL;
        CHECK_OK(mapfile_open(path, modes[i], &m));
        CHECK(mapfile_len(m) == 10000);
        const uint8_t *bytes = NULL;
        CHECK_OK(mapfile_slice(m, 0, 10000, &bytes));
        int same = 1;
        for (size_t j = 0; j < 10000; j++) same &= bytes[j] == pattern_byte(j);
        CHECK(same);
        CHECK_OK(mapfile_close(m));
    }
}

TEST(unknown_mode_is_invalid_arg) {
    mapfile_t *m = NULL;
    CHECK(write_file(scratch_path("mode"), "abc", 3) == 0);
    CHECK_STATUS(mapfile_open(scratch_path("mode"), 3, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK_STATUS(mapfile_open(scratch_path("mode"), UINT32_MAX, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK(m == NULL);
}

TEST(create_makes_a_zeroed_file_of_the_size) {
    const char *path = scratch_path("created");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 12345, &m));
    CHECK(mapfile_len(m) == 12345);
    CHECK(file_size_of(path) == 12345);
    uint64_t zeros = 0;
    CHECK_OK(mapfile_count_byte(m, 0, 12345, 0, &zeros));
    CHECK(zeros == 12345);
    CHECK_OK(mapfile_write(m, 12340, "tail", 4));
    CHECK_OK(mapfile_close(m));
    CHECK(file_bytes_equal(path, 12340, "tail", 4));
}

TEST(create_of_size_zero_works) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(scratch_path("created-empty"), 0, &m));
    CHECK(mapfile_len(m) == 0);
    CHECK(file_size_of(scratch_path("created-empty")) == 0);
    CHECK_OK(mapfile_close(m));
}

TEST(create_on_an_existing_path_is_exists_and_leaves_it_alone) {
    const char *path = scratch_path("keep-me");
    CHECK(write_file(path, "precious", 8) == 0);
    mapfile_t *m = NULL;
    CHECK_STATUS(mapfile_create(path, 4096, &m), MAPFILE_ERR_EXISTS);
    CHECK(m == NULL);
    char buffer[16] = {0};
    CHECK(read_file(path, buffer, sizeof buffer) == 8);
    CHECK(memcmp(buffer, "precious", 8) == 0);
}

TEST(create_in_a_missing_directory_is_not_found) {
    mapfile_t *m = NULL;
    CHECK_STATUS(mapfile_create(scratch_path("no-such-dir/file"), 10, &m), MAPFILE_ERR_NOT_FOUND);
    CHECK_STATUS(mapfile_open_or_create(scratch_path("no-such-dir/file"), 10, &m), MAPFILE_ERR_NOT_FOUND);
}

/* 11. open_or_create on an existing file keeps its contents and size; only a new file gets `size`. */
TEST(open_or_create_keeps_existing_contents_and_size) {
    const char *path = scratch_path("ooc-existing");
    CHECK(write_file(path, "0123456789", 10) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_or_create(path, 1 << 20, &m));
    CHECK(mapfile_len(m) == 10);
    CHECK(file_size_of(path) == 10);
    char buffer[10];
    CHECK_OK(mapfile_read(m, 0, buffer, 10));
    CHECK(memcmp(buffer, "0123456789", 10) == 0);
    CHECK_OK(mapfile_close(m));
    /* smaller size: never truncates either */
    CHECK_OK(mapfile_open_or_create(path, 3, &m));
    CHECK(mapfile_len(m) == 10);
    CHECK_OK(mapfile_close(m));
    CHECK(file_size_of(path) == 10);

    const char *fresh = scratch_path("ooc-new");
    CHECK_OK(mapfile_open_or_create(fresh, 5000, &m));
    CHECK(mapfile_len(m) == 5000);
    CHECK(file_size_of(fresh) == 5000);
    CHECK_OK(mapfile_close(m));
}

/* Many processes racing open_or_create on one path: exactly one size wins, nobody truncates. */
TEST(open_or_create_is_race_free_across_processes) {
    for (int round = 0; round < 10; round++) {
        char name[64];
        snprintf(name, sizeof name, "race-%d", round);
        const char *path = scratch_path(name);
        enum { CHILDREN = 6 };
        pid_t children[CHILDREN];
        for (int c = 0; c < CHILDREN; c++) {
            children[c] = fork();
            if (children[c] == 0) {
                mapfile_t *m = NULL;
                uint64_t size = 4096 * (uint64_t)(c + 1);
                if (mapfile_open_or_create(path, size, &m) != MAPFILE_OK) _exit(10);
                uint64_t len = mapfile_len(m);
                /* every process sees a whole file of one of the sizes, never a half-made one */
                if (len == 0 || len % 4096 != 0 || len > 4096 * CHILDREN) _exit(11);
                if (mapfile_atomic_u64_fetch_add(m, 0, 1, NULL) != MAPFILE_OK) _exit(12);
                mapfile_close(m);
                _exit(0);
            }
        }
        int all_ok = 1;
        for (int c = 0; c < CHILDREN; c++) {
            int status = 0;
            waitpid(children[c], &status, 0);
            all_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        CHECK(all_ok);
        mapfile_t *m = NULL;
        CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
        uint64_t counter = 0;
        CHECK_OK(mapfile_atomic_u64_load(m, 0, &counter));
        CHECK(counter == CHILDREN); /* every process worked on the same file */
        CHECK_OK(mapfile_close(m));
    }
}

TEST(open_with_maps_an_unaligned_window) {
    const char *path = scratch_path("window");
    CHECK(write_pattern_file(path, 3 * 4096 + 500) == 0);
    const uint64_t offsets[] = {0, 1, 4095, 4096, 4097, 8191, 3 * 4096 + 499};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        mapfile_options options;
        mapfile_options_init(&options);
        options.offset = offsets[i];
        options.len = 1;
        mapfile_t *m = NULL;
        CHECK_OK(mapfile_open_with(path, &options, &m));
        CHECK(mapfile_len(m) == 1);
        const uint8_t *byte = NULL;
        CHECK_OK(mapfile_slice(m, 0, 1, &byte));
        CHECK(byte != NULL && *byte == pattern_byte(offsets[i]));
        CHECK_OK(mapfile_close(m));
    }
    mapfile_options options;
    mapfile_options_init(&options);
    options.offset = 5000;
    options.mode = MAPFILE_MODE_READ_WRITE;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK(mapfile_len(m) == 3 * 4096 + 500 - 5000);
    uint8_t buffer[100];
    CHECK_OK(mapfile_read(m, 10, buffer, 100));
    int same = 1;
    for (int j = 0; j < 100; j++) same &= buffer[j] == pattern_byte(5010 + j);
    CHECK(same);
    uint64_t position = 0;
    uint8_t needle[3] = {pattern_byte(6000), pattern_byte(6001), pattern_byte(6002)};
    CHECK_OK(mapfile_find(m, 0, needle, 3, &position));
    CHECK(position != MAPFILE_NPOS && pattern_byte(5000 + position) == needle[0]);
    CHECK_OK(mapfile_write(m, 0, "W", 1));
    CHECK_OK(mapfile_flush(m));
    CHECK_OK(mapfile_close(m));
    uint8_t whole[5001];
    CHECK(read_file(path, whole, sizeof whole) == 5001);
    CHECK(whole[5000] == 'W' && whole[4999] == pattern_byte(4999));
}

TEST(open_with_window_outside_the_file_is_out_of_bounds) {
    const char *path = scratch_path("window-oob");
    CHECK(write_pattern_file(path, 1000) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    mapfile_t *m = NULL;
    options.offset = 1001;
    CHECK_STATUS(mapfile_open_with(path, &options, &m), MAPFILE_ERR_OUT_OF_BOUNDS);
    options.offset = 500;
    options.len = 501;
    CHECK_STATUS(mapfile_open_with(path, &options, &m), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(m == NULL);
    options.offset = 1000; /* the very end, up to the end: an empty window */
    options.len = 0;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK(mapfile_len(m) == 0);
    CHECK_OK(mapfile_close(m));
}

TEST(open_with_rejects_bad_versions_values_and_combinations) {
    const char *path = scratch_path("bad-options");
    CHECK(write_pattern_file(path, 100) == 0);
    mapfile_t *m = NULL;
    mapfile_options options;
#define EXPECT_INVALID(statement)                                                     \
    do {                                                                              \
        mapfile_options_init(&options);                                               \
        statement;                                                                    \
        CHECK_STATUS(mapfile_open_with(path, &options, &m), MAPFILE_ERR_INVALID_ARG); \
    } while (0)
    EXPECT_INVALID(options.version = 0);
    EXPECT_INVALID(options.version = MAPFILE_OPTIONS_VERSION + 1);
    EXPECT_INVALID(options.mode = 17);
    EXPECT_INVALID(options.flags = 1u << 20);
    EXPECT_INVALID(options.create = 9);
    EXPECT_INVALID(options.flush_policy = 42);
    EXPECT_INVALID((options.mode = MAPFILE_MODE_READ_WRITE, options.flush_policy = MAPFILE_FLUSH_EVERY_BYTES, options.flush_every = 0));
    EXPECT_INVALID((options.mode = MAPFILE_MODE_READ_ONLY, options.flush_policy = MAPFILE_FLUSH_ALWAYS));
    EXPECT_INVALID((options.mode = MAPFILE_MODE_COPY_ON_WRITE, options.create = MAPFILE_CREATE_IF_MISSING));
    EXPECT_INVALID((options.len = 50, options.max_len = 10));
#undef EXPECT_INVALID
    CHECK(m == NULL);
}

TEST(open_with_creates_per_disposition) {
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.create = MAPFILE_CREATE_NEW;
    options.create_size = 3000;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(scratch_path("disposition"), &options, &m));
    CHECK(mapfile_len(m) == 3000);
    CHECK_OK(mapfile_close(m));
    CHECK_STATUS(mapfile_open_with(scratch_path("disposition"), &options, &m), MAPFILE_ERR_EXISTS);
    options.create = MAPFILE_CREATE_IF_MISSING;
    options.create_size = 1;
    CHECK_OK(mapfile_open_with(scratch_path("disposition"), &options, &m));
    CHECK(mapfile_len(m) == 3000);
    CHECK_OK(mapfile_close(m));
    options.create = MAPFILE_CREATE_NEVER;
    CHECK_STATUS(mapfile_open_with(scratch_path("disposition-missing"), &options, &m), MAPFILE_ERR_NOT_FOUND);
}

TEST(directories_and_fifos_are_unsupported_without_hanging) {
    mapfile_t *m = NULL;
    CHECK_STATUS(mapfile_open(scratch_dir, MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_UNSUPPORTED);
    const char *fifo = scratch_path("fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK_STATUS(mapfile_open(fifo, MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_UNSUPPORTED);
    CHECK_STATUS(mapfile_open("/dev/null", MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_UNSUPPORTED);
    CHECK(m == NULL);
}

/* EACCES is PERMISSION. Root ignores file modes, so the check runs in a child without privileges. */
TEST(permission_denied_is_permission) {
    const char *path = scratch_path("locked");
    CHECK(write_file(path, "secret", 6) == 0);
    CHECK(chmod(path, 0) == 0);
    CHECK(chmod(scratch_dir, 0755) == 0);
    pid_t child = fork();
    if (child == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(20);
        mapfile_t *m = NULL;
        mapfile_status status = mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m);
        if (status != MAPFILE_ERR_PERMISSION) _exit(21);
        if (errno != EACCES) _exit(22);
        status = mapfile_create(path, 10, &m);
        _exit(status == MAPFILE_ERR_EXISTS || status == MAPFILE_ERR_PERMISSION ? 0 : 23);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* 5. mapfile_close never loses data written to a READ_WRITE mapping. */
TEST(close_never_loses_written_data) {
    const char *path = scratch_path("close-keeps");
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(path, 8192, &m));
    uint8_t *bytes = NULL;
    CHECK_OK(mapfile_slice_mut(m, 0, 8192, &bytes));
    if (bytes) memcpy(bytes + 4000, "through the pointer", 19);
    CHECK_OK(mapfile_write(m, 100, "through write", 13));
    CHECK_OK(mapfile_close(m));
    static char buffer[8192];
    CHECK(read_file(path, buffer, sizeof buffer) == 8192);
    CHECK(memcmp(buffer + 4000, "through the pointer", 19) == 0);
    CHECK(memcmp(buffer + 100, "through write", 13) == 0);
}

TEST(copy_on_write_changes_never_reach_the_file) {
    const char *path = scratch_path("cow");
    CHECK(write_pattern_file(path, 5000) == 0);
    CHECK(chmod(path, 0444) == 0); /* a readable file is enough for COPY_ON_WRITE */
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_COPY_ON_WRITE, &m));
    CHECK_OK(mapfile_write(m, 10, "private", 7));
    uint8_t *bytes = NULL;
    CHECK_OK(mapfile_slice_mut(m, 0, 5000, &bytes));
    if (bytes) bytes[4999] = 'Z';
    char seen[7];
    CHECK_OK(mapfile_read(m, 10, seen, 7));
    CHECK(memcmp(seen, "private", 7) == 0);
    CHECK_OK(mapfile_flush(m)); /* a successful no-op */
    CHECK_STATUS(mapfile_resize(m, 6000), MAPFILE_ERR_READ_ONLY);
    CHECK_OK(mapfile_close(m));
    static uint8_t buffer[5000];
    CHECK(read_file(path, buffer, sizeof buffer) == 5000);
    int untouched = 1;
    for (int i = 0; i < 5000; i++) untouched &= buffer[i] == pattern_byte(i);
    CHECK(untouched);
}

/* MAPFILE_FLAG_POPULATE maps every page of the window at open (its page-table entries are
 * resident before anything touches it); without the flag, nothing is. */
TEST(populate_flag_opens_a_prefaulted_window) {
    const char *path = scratch_path("populate");
    CHECK(write_pattern_file(path, 1 << 20) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    mapfile_t *m = NULL;
    const uint8_t *window = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK_OK(mapfile_slice(m, 0, 1 << 20, &window));
    CHECK(resident_bytes_of_mapping(window) == 0);
    CHECK_OK(mapfile_close(m));
    options.flags = MAPFILE_FLAG_POPULATE;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK_OK(mapfile_slice(m, 0, 1 << 20, &window));
    CHECK(resident_bytes_of_mapping(window) >= 1 << 20);
    uint64_t count = 0;
    CHECK_OK(mapfile_count_byte(m, 0, 1 << 20, pattern_byte(77), &count));
    CHECK(count > 0);
    CHECK_OK(mapfile_close(m));
}

/* PERFORMANCE.md: 10,000 open handles work. */
TEST(ten_thousand_handles_stay_open_at_once) {
    enum { HANDLES = 10000 };
    struct rlimit limit;
    CHECK(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur < HANDLES + 100) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < HANDLES + 100) {
        fprintf(stderr, "ten_thousand_handles: RLIMIT_NOFILE hard limit %llu is below %d: cannot run here\n",
                (unsigned long long)limit.rlim_cur, HANDLES);
        CHECK(!"RLIMIT_NOFILE too low for 10,000 handles");
        return;
    }
    const char *path = scratch_path("many");
    CHECK(write_pattern_file(path, 100) == 0);
    static mapfile_t *handles[HANDLES];
    int opened = 0;
    for (int i = 0; i < HANDLES; i++) {
        if (mapfile_open(path, MAPFILE_MODE_READ_ONLY, &handles[i]) != MAPFILE_OK) {
            fprintf(stderr, "handle %d: %s\n", i, mapfile_last_error_message());
            break;
        }
        opened++;
    }
    CHECK(opened == HANDLES);
    uint8_t byte = 0;
    if (opened == HANDLES) {
        CHECK_OK(mapfile_read(handles[HANDLES - 1], 50, &byte, 1));
        CHECK(byte == pattern_byte(50));
    }
    for (int i = 0; i < opened; i++) CHECK_OK(mapfile_close(handles[i]));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(open_maps_the_whole_file_in_every_mode);
    RUN(unknown_mode_is_invalid_arg);
    RUN(create_makes_a_zeroed_file_of_the_size);
    RUN(create_of_size_zero_works);
    RUN(create_on_an_existing_path_is_exists_and_leaves_it_alone);
    RUN(create_in_a_missing_directory_is_not_found);
    RUN(open_or_create_keeps_existing_contents_and_size);
    RUN(open_or_create_is_race_free_across_processes);
    RUN(open_with_maps_an_unaligned_window);
    RUN(open_with_window_outside_the_file_is_out_of_bounds);
    RUN(open_with_rejects_bad_versions_values_and_combinations);
    RUN(open_with_creates_per_disposition);
    RUN(directories_and_fifos_are_unsupported_without_hanging);
    RUN(permission_denied_is_permission);
    RUN(close_never_loses_written_data);
    RUN(copy_on_write_changes_never_reach_the_file);
    RUN(populate_flag_opens_a_prefaulted_window);
    RUN(ten_thousand_handles_stay_open_at_once);
    FINISH();
}
