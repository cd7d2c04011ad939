/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* The general promises of API.md ("Behaviour every user can rely on"), one test each, named after
 * the promise. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

static mapfile_t *open_pattern(const char *name, size_t len, uint32_t mode) {
    const char *path = scratch_path(name);
    if (write_pattern_file(path, len) != 0) return NULL;
    mapfile_t *m = NULL;
    if (mapfile_open(path, mode, &m) != MAPFILE_OK) return NULL;
    return m;
}

/* 1. Out-parameters are written only on success. */
TEST(out_params_written_only_on_success) {
    mapfile_t *m = open_pattern("out_params", 1000, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    const uint8_t *sentinel_ptr = (const uint8_t *)&m;
    const uint8_t *slice = sentinel_ptr;
    CHECK_STATUS(mapfile_slice(m, 999, 2, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(slice == sentinel_ptr);
    uint64_t value = 12345;
    CHECK_STATUS(mapfile_find(m, 1001, "x", 1, &value), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(value == 12345);
    CHECK_STATUS(mapfile_count_byte(m, 0, 1001, 'a', &value), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(value == 12345);
    CHECK_STATUS(mapfile_atomic_u64_load(m, 3, &value), MAPFILE_ERR_MISALIGNED);
    CHECK(value == 12345);
    mapfile_t *other = (mapfile_t *)sentinel_ptr;
    CHECK_STATUS(mapfile_open(scratch_path("does-not-exist"), MAPFILE_MODE_READ_ONLY, &other), MAPFILE_ERR_NOT_FOUND);
    CHECK(other == (mapfile_t *)sentinel_ptr);
    CHECK_STATUS(mapfile_open(scratch_path("out_params"), 99, &other), MAPFILE_ERR_INVALID_ARG);
    CHECK(other == (mapfile_t *)sentinel_ptr);
    uint8_t buffer[4] = {9, 9, 9, 9};
    CHECK_STATUS(mapfile_read(m, 998, buffer, 4), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(buffer[0] == 9 && buffer[3] == 9);
    CHECK_OK(mapfile_close(m));
}

/* 1. Every pointer argument may be NULL: the answer is MAPFILE_ERR_NULL_ARG, never a crash. */
TEST(every_null_argument_is_null_arg) {
    mapfile_t *m = open_pattern("nulls", 4096, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    mapfile_t *out = NULL;
    mapfile_options options;
    mapfile_options_init(&options);
    const uint8_t *slice = NULL;
    uint8_t *slice_mut = NULL;
    uint8_t byte = 0;
    uint64_t u64 = 0;
    uint32_t u32 = 0;

    CHECK_STATUS(mapfile_open(NULL, MAPFILE_MODE_READ_ONLY, &out), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open(scratch_path("nulls"), MAPFILE_MODE_READ_ONLY, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_create(NULL, 10, &out), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_create(scratch_path("nulls-new"), 10, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK(access(scratch_path("nulls-new"), F_OK) != 0); /* nothing created on a NULL out */
    CHECK_STATUS(mapfile_open_or_create(NULL, 10, &out), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_or_create(scratch_path("nulls-new"), 10, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_with(NULL, &options, &out), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_with(scratch_path("nulls"), NULL, &out), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_with(scratch_path("nulls"), &options, NULL), MAPFILE_ERR_NULL_ARG);
    mapfile_options_init(NULL); /* documented no-op */
    CHECK_OK(mapfile_close(NULL));
    CHECK(mapfile_len(NULL) == 0);

    CHECK_STATUS(mapfile_slice(NULL, 0, 0, &slice), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_slice(m, 0, 0, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_slice_mut(NULL, 0, 0, &slice_mut), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_slice_mut(m, 0, 0, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_read(NULL, 0, &byte, 1), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_read(m, 0, NULL, 1), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_read(m, 0, NULL, 0), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_write(NULL, 0, &byte, 1), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_write(m, 0, NULL, 1), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_find(NULL, 0, "a", 1, &u64), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_find(m, 0, NULL, 1, &u64), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_find(m, 0, "a", 1, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_count_byte(NULL, 0, 1, 'a', &u64), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_count_byte(m, 0, 1, 'a', NULL), MAPFILE_ERR_NULL_ARG);

    CHECK_STATUS(mapfile_flush(NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_flush_range(NULL, 0, 0), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_flush_async(NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_advise(NULL, MAPFILE_ADVICE_NORMAL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_advise_range(NULL, MAPFILE_ADVICE_NORMAL, 0, 0), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_resize(NULL, 10), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_check(NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_refresh(NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_lock(NULL, 0, 0), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_unlock(NULL, 0, 0), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_prefault(NULL, 0, 0), MAPFILE_ERR_NULL_ARG);

    CHECK_STATUS(mapfile_atomic_u64_load(NULL, 0, &u64), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u64_load(m, 0, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u64_store(NULL, 0, 1), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u64_fetch_add(NULL, 0, 1, &u64), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u64_compare_exchange(NULL, 0, 1, 2, &u64), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u64_compare_exchange(m, 0, 1, 2, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_load(NULL, 0, &u32), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_load(m, 0, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_store(NULL, 0, 1), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_fetch_add(NULL, 0, 1, &u32), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_compare_exchange(NULL, 0, 1, 2, &u32), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_compare_exchange(m, 0, 1, 2, NULL), MAPFILE_ERR_NULL_ARG);
    /* out_old of fetch_add is optional */
    CHECK_OK(mapfile_atomic_u64_fetch_add(m, 0, 1, NULL));

    CHECK(mapfile_strerror(MAPFILE_ERR_NULL_ARG) != NULL);
    CHECK(strstr(mapfile_last_error_message(), "NULL") != NULL);
    CHECK_OK(mapfile_close(m));
}

/* 1. len == 0 ranges are valid anywhere inside [0, mapfile_len]. */
TEST(zero_length_ranges_are_valid_anywhere_inside) {
    mapfile_t *m = open_pattern("zero_len", 5000, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    uint64_t positions[] = {0, 1, 4095, 4096, 4999, 5000};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        uint64_t at = positions[i], count = 99;
        const uint8_t *slice = NULL;
        uint8_t *slice_mut = NULL;
        uint8_t byte = 0;
        CHECK_OK(mapfile_slice(m, at, 0, &slice));
        CHECK_OK(mapfile_slice_mut(m, at, 0, &slice_mut));
        CHECK_OK(mapfile_read(m, at, &byte, 0));
        CHECK_OK(mapfile_write(m, at, &byte, 0));
        CHECK_OK(mapfile_count_byte(m, at, 0, 0, &count));
        CHECK(count == 0);
        CHECK_OK(mapfile_flush_range(m, at, 0));
        CHECK_OK(mapfile_advise_range(m, MAPFILE_ADVICE_NORMAL, at, 0));
        CHECK_OK(mapfile_prefault(m, at, 0));
        CHECK_OK(mapfile_lock(m, at, 0));
        CHECK_OK(mapfile_unlock(m, at, 0));
    }
    const uint8_t *slice = NULL;
    CHECK_STATUS(mapfile_slice(m, 5001, 0, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_OK(mapfile_close(m));
}

/* 2. An empty file opens fine: len 0, any non-empty range is OUT_OF_BOUNDS. */
TEST(empty_file_opens_with_len_zero) {
    const uint32_t modes[] = {MAPFILE_MODE_READ_ONLY, MAPFILE_MODE_READ_WRITE, MAPFILE_MODE_COPY_ON_WRITE};
    CHECK(write_file(scratch_path("empty"), "", 0) == 0);
    for (size_t i = 0; i < 3; i++) {
        mapfile_t *m = NULL;
        CHECK_OK(mapfile_open(scratch_path("empty"), modes[i], &m));
        CHECK(mapfile_len(m) == 0);
        const uint8_t *slice = NULL;
        uint8_t byte = 0;
        uint64_t count = 7, position = 7;
        CHECK_OK(mapfile_slice(m, 0, 0, &slice));
        CHECK_STATUS(mapfile_slice(m, 0, 1, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
        CHECK_STATUS(mapfile_read(m, 0, &byte, 1), MAPFILE_ERR_OUT_OF_BOUNDS);
        CHECK_OK(mapfile_count_byte(m, 0, 0, 'a', &count));
        CHECK(count == 0);
        CHECK_OK(mapfile_find(m, 0, "a", 1, &position));
        CHECK(position == MAPFILE_NPOS);
        CHECK_OK(mapfile_check(m));
        CHECK_OK(mapfile_flush(m));
        CHECK_OK(mapfile_advise(m, MAPFILE_ADVICE_SEQUENTIAL));
        CHECK_OK(mapfile_close(m));
    }
}

/* 3. offset + len overflow is OUT_OF_BOUNDS, not a wrap-around. */
TEST(offset_plus_len_overflow_is_out_of_bounds) {
    mapfile_t *m = open_pattern("overflow", 8192, MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    const uint8_t *slice = NULL;
    uint8_t *slice_mut = NULL;
    uint64_t count = 0;
    uint8_t byte = 0;
    const uint64_t huge = UINT64_MAX;
    CHECK_STATUS(mapfile_slice(m, 1, huge, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_slice(m, huge, 1, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_slice(m, huge, huge, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_slice_mut(m, 8000, huge - 100, &slice_mut), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_read(m, huge, &byte, 1), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_write(m, huge, &byte, 1), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_count_byte(m, 2, huge - 1, 'a', &count), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_flush_range(m, 4096, huge - 4095), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_advise_range(m, MAPFILE_ADVICE_NORMAL, 1, huge), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_prefault(m, huge, 2), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_lock(m, 1, huge), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_find(m, huge, "a", 1, &count), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_atomic_u64_load(m, huge - 7, &count), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_resize(m, huge), MAPFILE_ERR_OUT_OF_BOUNDS);
    /* the exact end is fine, one past is not */
    CHECK_OK(mapfile_slice(m, 0, 8192, &slice));
    CHECK_STATUS(mapfile_slice(m, 0, 8193, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_slice(m, 8192, 1, &slice), MAPFILE_ERR_OUT_OF_BOUNDS);
    mapfile_options options;
    mapfile_options_init(&options);
    options.offset = 100;
    options.len = huge - 50;
    mapfile_t *window = NULL;
    CHECK_STATUS(mapfile_open_with(scratch_path("overflow"), &options, &window), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(window == NULL);
    CHECK_OK(mapfile_close(m));
}

/* 9. find: an absent needle is OK with MAPFILE_NPOS; an empty needle is found at `from`. */
TEST(find_absent_is_npos_and_empty_needle_is_at_from) {
    const char *text = "alpha beta gamma beta";
    CHECK(write_file(scratch_path("find"), text, strlen(text)) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(scratch_path("find"), MAPFILE_MODE_READ_ONLY, &m));
    uint64_t position = 0;
    CHECK_OK(mapfile_find(m, 0, "beta", 4, &position));
    CHECK(position == 6);
    CHECK_OK(mapfile_find(m, 7, "beta", 4, &position));
    CHECK(position == 17);
    CHECK_OK(mapfile_find(m, 18, "beta", 4, &position));
    CHECK(position == MAPFILE_NPOS);
    CHECK_OK(mapfile_find(m, 0, "delta", 5, &position));
    CHECK(position == MAPFILE_NPOS);
    CHECK_OK(mapfile_find(m, 0, "a much longer needle than the whole file is", 43, &position));
    CHECK(position == MAPFILE_NPOS);
    CHECK_OK(mapfile_find(m, 5, "", 0, &position));
    CHECK(position == 5);
    CHECK_OK(mapfile_find(m, strlen(text), "", 0, &position));
    CHECK(position == strlen(text));
    CHECK_OK(mapfile_find(m, strlen(text), "a", 1, &position));
    CHECK(position == MAPFILE_NPOS);
    CHECK_STATUS(mapfile_find(m, strlen(text) + 1, "", 0, &position), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_OK(mapfile_close(m));
}

/* 10. Arguments are checked in order: NULL, then enumerated values, then ranges, then the mode. */
TEST(arguments_checked_null_then_values_then_ranges_then_mode) {
    mapfile_t *m = open_pattern("order", 4096, MAPFILE_MODE_READ_ONLY);
    CHECK(m != NULL);
    /* NULL before anything */
    CHECK_STATUS(mapfile_slice_mut(m, UINT64_MAX, 5, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open(NULL, 77, NULL), MAPFILE_ERR_NULL_ARG);
    /* enumerated values before ranges */
    CHECK_STATUS(mapfile_advise_range(m, 99, UINT64_MAX, 5), MAPFILE_ERR_INVALID_ARG);
    mapfile_options options;
    mapfile_options_init(&options);
    options.version = 0;
    options.offset = UINT64_MAX;
    mapfile_t *out = NULL;
    CHECK_STATUS(mapfile_open_with(scratch_path("order"), &options, &out), MAPFILE_ERR_INVALID_ARG);
    /* ranges before the mode: an out-of-range flush_range on a read-only mapping is OUT_OF_BOUNDS */
    CHECK_STATUS(mapfile_flush_range(m, 4000, 200), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_OK(mapfile_flush_range(m, 0, 4096)); /* in range: a successful no-op */
    uint8_t *slice_mut = NULL;
    CHECK_STATUS(mapfile_slice_mut(m, 4000, 200, &slice_mut), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_write(m, 4096, "x", 1), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_atomic_u64_store(m, 4096, 1), MAPFILE_ERR_OUT_OF_BOUNDS);
    /* alignment is about the range's place, before the mode */
    CHECK_STATUS(mapfile_atomic_u64_store(m, 4, 1), MAPFILE_ERR_MISALIGNED);
    /* then the mode */
    CHECK_STATUS(mapfile_slice_mut(m, 0, 10, &slice_mut), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_write(m, 0, "x", 1), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_atomic_u64_store(m, 8, 1), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_resize(m, 10), MAPFILE_ERR_READ_ONLY);
    CHECK_OK(mapfile_close(m));
}

/* Status codes: all distinct, all negative but OK, every one has a text, unknown ones too. */
TEST(status_codes_distinct_negative_with_text) {
    const mapfile_status codes[] = {
        MAPFILE_ERR_NULL_ARG, MAPFILE_ERR_INVALID_ARG, MAPFILE_ERR_OUT_OF_BOUNDS, MAPFILE_ERR_NOT_FOUND,
        MAPFILE_ERR_PERMISSION, MAPFILE_ERR_EXISTS, MAPFILE_ERR_READ_ONLY, MAPFILE_ERR_TRUNCATED,
        MAPFILE_ERR_MISALIGNED, MAPFILE_ERR_NO_MEMORY, MAPFILE_ERR_NO_SPACE, MAPFILE_ERR_UNSUPPORTED,
        MAPFILE_ERR_IO, MAPFILE_ERR_INTERNAL, MAPFILE_ERR_REPLACED, MAPFILE_ERR_TIMED_OUT};
    const size_t n = sizeof codes / sizeof codes[0];
    CHECK(MAPFILE_OK == 0);
    const char *unknown = mapfile_strerror(-12345);
    CHECK(unknown != NULL && strlen(unknown) > 0);
    CHECK(mapfile_strerror(12345) != NULL);
    for (size_t i = 0; i < n; i++) {
        CHECK(codes[i] < 0);
        const char *text = mapfile_strerror(codes[i]);
        CHECK(text != NULL && strlen(text) > 0 && strcmp(text, unknown) != 0);
        for (size_t j = i + 1; j < n; j++) {
            CHECK(codes[i] != codes[j]);
            CHECK(strcmp(text, mapfile_strerror(codes[j])) != 0);
        }
    }
}

/* Every failure with an OS cause sets errno to it when the function returns. */
TEST(os_failures_set_errno) {
    mapfile_t *m = NULL;
    errno = 0;
    CHECK_STATUS(mapfile_open(scratch_path("no/such/dir/file"), MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_NOT_FOUND);
    CHECK(errno == ENOENT);
    CHECK(strstr(mapfile_last_error_message(), "mapfile_open") != NULL);
    CHECK(write_file(scratch_path("exists"), "abc", 3) == 0);
    errno = 0;
    CHECK_STATUS(mapfile_create(scratch_path("exists"), 10, &m), MAPFILE_ERR_EXISTS);
    CHECK(errno == EEXIST);
    errno = 0;
    CHECK_STATUS(mapfile_open(scratch_dir, MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_UNSUPPORTED);
    CHECK(errno != 0);
}

/* The last error message is per thread and names the failure; success leaves it alone. */
TEST(last_error_message_names_the_failure) {
    mapfile_t *m = NULL;
    CHECK_STATUS(mapfile_open(scratch_path("missing-file"), MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_NOT_FOUND);
    const char *message = mapfile_last_error_message();
    CHECK(strstr(message, "missing-file") != NULL);
    CHECK(strstr(message, "No such file") != NULL);
}

/* A failure's message starts with the name of the function that failed: "mapfile_read: ...". */
#define CHECK_NAMED(call, name)                                                                 \
    do {                                                                                        \
        CHECK((call) != MAPFILE_OK);                                                            \
        CHECK(strncmp(mapfile_last_error_message(), name ": ", strlen(name) + 2) == 0);         \
    } while (0)

TEST(failure_messages_name_the_function) {
    mapfile_t *m = open_pattern("named", 64, MAPFILE_MODE_READ_ONLY);
    CHECK(m != NULL);
    mapfile_t *out = NULL;
    const uint8_t *slice = NULL;
    uint8_t *slice_mut = NULL;
    uint8_t byte = 0;
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    mapfile_options options;
    mapfile_options_init(&options);
    options.version = 999;
    CHECK_NAMED(mapfile_open(NULL, MAPFILE_MODE_READ_ONLY, &out), "mapfile_open");
    CHECK_NAMED(mapfile_create(NULL, 1, &out), "mapfile_create");
    CHECK_NAMED(mapfile_open_or_create(NULL, 1, &out), "mapfile_open_or_create");
    CHECK_NAMED(mapfile_open_with(scratch_path("named"), &options, &out), "mapfile_open_with");
    CHECK_NAMED(mapfile_slice(m, 65, 0, &slice), "mapfile_slice");
    CHECK_NAMED(mapfile_slice_mut(m, 0, 1, &slice_mut), "mapfile_slice_mut");
    CHECK_NAMED(mapfile_read(m, 64, &byte, 1), "mapfile_read");
    CHECK_NAMED(mapfile_write(m, 0, &byte, 1), "mapfile_write");
    CHECK_NAMED(mapfile_find(m, 65, "x", 1, &u64), "mapfile_find");
    CHECK_NAMED(mapfile_count_byte(m, 0, 65, 'x', &u64), "mapfile_count_byte");
    CHECK_NAMED(mapfile_flush(NULL), "mapfile_flush");
    CHECK_NAMED(mapfile_flush_range(m, 0, 65), "mapfile_flush_range");
    CHECK_NAMED(mapfile_flush_async(NULL), "mapfile_flush_async");
    CHECK_NAMED(mapfile_advise(m, 99), "mapfile_advise");
    CHECK_NAMED(mapfile_advise_range(m, MAPFILE_ADVICE_NORMAL, 0, 65), "mapfile_advise_range");
    CHECK_NAMED(mapfile_lock(m, 0, 65), "mapfile_lock");
    CHECK_NAMED(mapfile_unlock(m, 0, 65), "mapfile_unlock");
    CHECK_NAMED(mapfile_prefault(m, 0, 65), "mapfile_prefault");
    CHECK_NAMED(mapfile_resize(m, 10), "mapfile_resize");
    CHECK_NAMED(mapfile_check(NULL), "mapfile_check");
    CHECK_NAMED(mapfile_refresh(NULL), "mapfile_refresh");
    CHECK_NAMED(mapfile_atomic_u64_load(m, 4, &u64), "mapfile_atomic_u64_load");
    CHECK_NAMED(mapfile_atomic_u64_store(m, 0, 1), "mapfile_atomic_u64_store");
    CHECK_NAMED(mapfile_atomic_u64_fetch_add(m, 0, 1, NULL), "mapfile_atomic_u64_fetch_add");
    CHECK_NAMED(mapfile_atomic_u64_compare_exchange(m, 0, 0, 1, &u64), "mapfile_atomic_u64_compare_exchange");
    CHECK_NAMED(mapfile_atomic_u32_load(m, 2, &u32), "mapfile_atomic_u32_load");
    CHECK_NAMED(mapfile_atomic_u32_store(m, 0, 1), "mapfile_atomic_u32_store");
    CHECK_NAMED(mapfile_atomic_u32_fetch_add(m, 0, 1, NULL), "mapfile_atomic_u32_fetch_add");
    CHECK_NAMED(mapfile_atomic_u32_compare_exchange(m, 0, 0, 1, &u32), "mapfile_atomic_u32_compare_exchange");
    CHECK_NAMED(mapfile_sigbus_mode(99), "mapfile_sigbus_mode");
    CHECK_STATUS(mapfile_close(m), MAPFILE_OK);
}

/* mapfile_version is "MAJOR.MINOR.PATCH" and matches the header macros. */
TEST(version_matches_header_macros) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", MAPFILE_VERSION_MAJOR, MAPFILE_VERSION_MINOR, MAPFILE_VERSION_PATCH);
    CHECK(strcmp(mapfile_version(), expected) == 0);
    CHECK(strcmp(mapfile_version(), MAPFILE_VERSION) == 0);
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(out_params_written_only_on_success);
    RUN(every_null_argument_is_null_arg);
    RUN(zero_length_ranges_are_valid_anywhere_inside);
    RUN(empty_file_opens_with_len_zero);
    RUN(offset_plus_len_overflow_is_out_of_bounds);
    RUN(find_absent_is_npos_and_empty_needle_is_at_from);
    RUN(arguments_checked_null_then_values_then_ranges_then_mode);
    RUN(status_codes_distinct_negative_with_text);
    RUN(os_failures_set_errno);
    RUN(last_error_message_names_the_failure);
    RUN(failure_messages_name_the_function);
    RUN(version_matches_header_macros);
    FINISH();
}
