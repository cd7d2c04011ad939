/* Hostile input and resource limits (API.md: "never a crash", out-params only on success, the
 * status table). Each scenario that could crash or be killed runs in a child, so a signal is a
 * failure of that test, not the end of the program. */
#define _GNU_SOURCE /* fork, symlink, setrlimit, mmap flags in -std=c99 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096, SIZE = 8 * PAGE };

/* Under valgrind or AddressSanitizer the address-space limits these tests set do not apply. */
static int address_space_is_emulated(void) {
    const char *preload = getenv("LD_PRELOAD");
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#endif
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

static void open_with_max_len(uint64_t offset, uint64_t max_len) {
    const char *path = scratch_path("max-len");
    EXPECT(write_pattern_file(path, SIZE) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.offset = offset;
    options.max_len = max_len;
    mapfile_t *m = NULL;
    errno = 0;
    EXPECT(mapfile_open_with(path, &options, &m) == MAPFILE_ERR_NO_MEMORY);
    EXPECT(errno == ENOMEM);
    EXPECT(m == NULL);
}
static void max_len_uint64_max_at_100(void) { open_with_max_len(100, UINT64_MAX); }
static void max_len_uint64_max_minus_50_at_100(void) { open_with_max_len(100, UINT64_MAX - 50); }
static void max_len_uint64_max_at_0(void) { open_with_max_len(0, UINT64_MAX); }
static void max_len_2_pow_63_at_4095(void) { open_with_max_len(4095, 1ull << 63); }

/* max_len near UINT64_MAX never wraps into a small reservation that the file is then mapped past
 * (that overwrote memory the library does not own): it is NO_MEMORY, and the process lives. */
TEST(size_arithmetic_never_wraps) {
    CHECK(child_ok(max_len_uint64_max_at_100));
    CHECK(child_ok(max_len_uint64_max_minus_50_at_100));
    CHECK(child_ok(max_len_uint64_max_at_0));
    CHECK(child_ok(max_len_2_pow_63_at_4095));
    /* A sane max_len still works, at an unaligned offset. */
    const char *path = scratch_path("max-len-sane");
    CHECK(write_pattern_file(path, SIZE) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.offset = 100;
    options.max_len = 1 << 20;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    CHECK_OK(mapfile_resize(m, 1 << 20));
    uint8_t byte = 0;
    CHECK_OK(mapfile_read(m, 0, &byte, 1));
    CHECK(byte == pattern_byte(100));
    CHECK_OK(mapfile_close(m));
}

static void huge_lengths(void) {
    const char *path = scratch_path("huge-len");
    EXPECT(write_pattern_file(path, SIZE) == 0);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m) == MAPFILE_OK);
    char buffer[16] = {0};
    size_t lengths[] = {SIZE_MAX, (size_t)1 << 63, ((size_t)1 << 63) + 1, SIZE + 1};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        EXPECT(mapfile_read(m, 0, buffer, lengths[i]) == MAPFILE_ERR_OUT_OF_BOUNDS);
        EXPECT(mapfile_write(m, 0, buffer, lengths[i]) == MAPFILE_ERR_OUT_OF_BOUNDS);
        EXPECT(mapfile_read(m, 1, buffer, lengths[i]) == MAPFILE_ERR_OUT_OF_BOUNDS);
        uint64_t position = 7;
        EXPECT(mapfile_find(m, 0, buffer, lengths[i], &position) == MAPFILE_OK);
        EXPECT(position == MAPFILE_NPOS);
    }
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

/* Lengths above isize::MAX (and any length past the window) are OUT_OF_BOUNDS before anything is
 * built from the caller's pointer (a debug or sanitizer build of the library aborts otherwise). */
TEST(ranges_are_checked_before_anything_is_built_from_them) { CHECK(child_ok(huge_lengths)); }

static void needle_at_the_edge(void) {
    const char *path = scratch_path("long-needle");
    EXPECT(write_pattern_file(path, SIZE) == 0);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    /* One readable byte, then an inaccessible page: reading the needle past it is SIGSEGV. */
    char *pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT(pages != MAP_FAILED);
    EXPECT(mprotect(pages + PAGE, PAGE, PROT_NONE) == 0);
    char *needle = pages + PAGE - 1;
    uint64_t position = 0;
    EXPECT(mapfile_find(m, 0, needle, SIZE + 1, &position) == MAPFILE_OK);
    EXPECT(position == MAPFILE_NPOS);
    EXPECT(mapfile_find(m, SIZE - 10, needle, 100000, &position) == MAPFILE_OK);
    EXPECT(position == MAPFILE_NPOS);
    EXPECT(mapfile_find(m, SIZE, needle, 2, &position) == MAPFILE_OK);
    EXPECT(position == MAPFILE_NPOS);
    EXPECT(mapfile_find(m, SIZE + 1, needle, 2, &position) == MAPFILE_ERR_OUT_OF_BOUNDS);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

/* A needle longer than what is left to search is absent (NPOS) without being read. */
TEST(find_with_a_needle_longer_than_the_range_never_reads_it) { CHECK(child_ok(needle_at_the_edge)); }

/* len == 0 is valid anywhere in [0, len] (API.md 1), even over bytes lost to truncation. */
TEST(zero_length_reads_and_writes_past_lost_bytes_are_ok) {
    const char *path = scratch_path("zero-len-lost");
    CHECK(write_pattern_file(path, SIZE) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m));
    CHECK(truncate(path, PAGE) == 0);
    uint8_t buffer[8];
    CHECK_OK(mapfile_read(m, 6 * PAGE, buffer, 0));
    CHECK_OK(mapfile_write(m, 6 * PAGE, buffer, 0));
    /* After a guarded call faulted on the lost pages, too. */
    CHECK_STATUS(mapfile_read(m, 6 * PAGE, buffer, 8), MAPFILE_ERR_TRUNCATED);
    CHECK_OK(mapfile_read(m, 6 * PAGE, buffer, 0));
    CHECK_OK(mapfile_write(m, 7 * PAGE, buffer, 0));
    CHECK_OK(mapfile_read(m, SIZE, buffer, 0));
    CHECK_OK(mapfile_close(m));
}

static void file_size_limit(void) {
    struct rlimit limit = {1 << 20, 1 << 20};
    EXPECT(setrlimit(RLIMIT_FSIZE, &limit) == 0);
    const char *path = scratch_path("over-fsize");
    unlink(path);
    mapfile_t *m = NULL;
    errno = 0;
    EXPECT(mapfile_create(path, 2 << 20, &m) == MAPFILE_ERR_NO_SPACE);
    EXPECT(errno == EFBIG);
    EXPECT(m == NULL);
    EXPECT(access(path, F_OK) != 0); /* nothing half-made left behind */
    EXPECT(mapfile_open_or_create(path, 2 << 20, &m) == MAPFILE_ERR_NO_SPACE);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.create = MAPFILE_CREATE_NEW;
    options.create_size = 2 << 20;
    EXPECT(mapfile_open_with(path, &options, &m) == MAPFILE_ERR_NO_SPACE);
    EXPECT(mapfile_create(path, 64 << 10, &m) == MAPFILE_OK);
    EXPECT(mapfile_write(m, 0, "kept", 4) == MAPFILE_OK);
    EXPECT(mapfile_resize(m, 2 << 20) == MAPFILE_ERR_NO_SPACE);
    EXPECT(mapfile_len(m) == 64 << 10);
    EXPECT(mapfile_resize(m, 1 << 20) == MAPFILE_OK); /* exactly at the limit is fine */
    EXPECT(mapfile_close(m) == MAPFILE_OK);
    EXPECT(file_bytes_equal(path, 0, "kept", 4));
    EXPECT(file_size_of(path) == 1 << 20);
}

/* Growing a file past RLIMIT_FSIZE is NO_SPACE (errno EFBIG), never death by SIGXFSZ. */
TEST(resource_limits_give_statuses_not_signals) {
    /* SIGXFSZ must keep its default action (death) for the test to mean anything. */
    signal(SIGXFSZ, SIG_DFL);
    CHECK(child_ok(file_size_limit));
}

/* Reads the VmSize of this process in bytes from /proc/self/status, or 0. */
static unsigned long long vm_size(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kib = 0;
    while (status != NULL && fgets(line, sizeof line, status) != NULL)
        if (sscanf(line, "VmSize: %llu kB", &kib) == 1) break;
    if (status != NULL) fclose(status);
    return kib * 1024;
}

static void flusher_without_memory(void) {
    const char *path = scratch_path("no-flusher");
    const char *stderr_path = scratch_path("no-flusher.stderr");
    EXPECT(write_pattern_file(path, SIZE) == 0);
    EXPECT(freopen(stderr_path, "w", stderr) != NULL);
    mapfile_t *warm = NULL; /* the library's one-time set-up happens before the limit */
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &warm) == MAPFILE_OK);
    /* Room for the mapping and the handle, not for a thread stack (2 MiB). */
    struct rlimit limit = {vm_size() + (512 << 10), RLIM_INFINITY};
    EXPECT(setrlimit(RLIMIT_AS, &limit) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.flush_policy = MAPFILE_FLUSH_EVERY_MILLIS;
    options.flush_every = 5;
    mapfile_t *m = NULL;
    errno = 0;
    mapfile_status status = mapfile_open_with(path, &options, &m);
    int saved_errno = errno;
    fflush(stderr);
    EXPECT(status == MAPFILE_ERR_NO_MEMORY);
    EXPECT(saved_errno == ENOMEM);
    EXPECT(m == NULL);
    EXPECT(file_size_of(stderr_path) == 0); /* a C library writes nothing to stderr */
    EXPECT(mapfile_close(warm) == MAPFILE_OK);
}

/* Failing to start the flusher thread is NO_MEMORY, with nothing printed on the host's stderr. */
TEST(flusher_thread_failure_is_no_memory_and_silent) {
    if (address_space_is_emulated()) SKIP("under valgrind or ASan: RLIMIT_AS cannot be made tight");
    CHECK(child_ok(flusher_without_memory));
}

/* open_or_create through a dangling symlink creates the target, as open(O_CREAT) does; a symlink
 * loop is an honest failure (never NO_MEMORY from a retry loop giving up). */
TEST(open_or_create_follows_a_dangling_symlink_like_o_creat) {
    const char *link = scratch_path("dangling-link");
    const char *target = scratch_path("dangling-target");
    unlink(link);
    unlink(target);
    CHECK(symlink("dangling-target", link) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_or_create(link, 100, &m));
    CHECK(mapfile_len(m) == 100);
    CHECK_OK(mapfile_write(m, 0, "via link", 8));
    CHECK_OK(mapfile_close(m));
    CHECK(file_size_of(target) == 100);
    CHECK(file_bytes_equal(target, 0, "via link", 8));
    /* Now the link resolves: open_or_create opens, keeping contents and size. */
    CHECK_OK(mapfile_open_or_create(link, 5000, &m));
    CHECK(mapfile_len(m) == 100);
    CHECK_OK(mapfile_close(m));

    const char *loop_a = scratch_path("loop-a");
    const char *loop_b = scratch_path("loop-b");
    unlink(loop_a);
    unlink(loop_b);
    CHECK(symlink("loop-b", loop_a) == 0);
    CHECK(symlink("loop-a", loop_b) == 0);
    m = NULL;
    errno = 0;
    CHECK_STATUS(mapfile_open_or_create(loop_a, 100, &m), MAPFILE_ERR_IO);
    CHECK(errno == ELOOP);
    CHECK(m == NULL);
}

/* The pointer from mapfile_last_error_message stays valid for the thread's life: fetched in the
 * same expression as the failing call (argument order is unspecified in C), it shows a message,
 * never freed memory. Messages name the path, and the function only once. */
TEST(last_error_message_stays_valid_and_names_the_path) {
    const char *missing = scratch_path("no-such-file");
    mapfile_t *m = NULL;
    const char *before = mapfile_last_error_message();
    CHECK_STATUS(mapfile_open(missing, MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_NOT_FOUND);
    const char *first = mapfile_last_error_message();
    CHECK(first == before);
    CHECK(strstr(first, missing) != NULL);
    CHECK(strstr(first, "file") != NULL);
    CHECK_STATUS(mapfile_open(NULL, MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_NULL_ARG);
    CHECK(mapfile_last_error_message() == first); /* rewritten in place */
    CHECK(strstr(first, "`path`") != NULL);       /* ... and reads the newer message */

    /* A very long path: the message is cut, still NUL-terminated. */
    char long_path[3000];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    CHECK(mapfile_open(long_path, MAPFILE_MODE_READ_ONLY, &m) != MAPFILE_OK);
    CHECK(strlen(mapfile_last_error_message()) < 1024);

    /* The function's name appears once, whatever the failure. */
    const char *path = scratch_path("read-only-messages");
    CHECK(write_pattern_file(path, SIZE) == 0);
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    CHECK_STATUS(mapfile_resize(m, 10), MAPFILE_ERR_READ_ONLY);
    const char *message = mapfile_last_error_message();
    CHECK(strstr(message, "mapfile_resize") == message);
    CHECK(strstr(message + 1, "mapfile_resize") == NULL);
    CHECK_STATUS(mapfile_atomic_u64_store(m, 4, 1), MAPFILE_ERR_MISALIGNED);
    message = mapfile_last_error_message();
    CHECK(strstr(message + 1, "mapfile_atomic_u64_store") == NULL);
    CHECK_STATUS(mapfile_atomic_u64_store(m, 8, 1), MAPFILE_ERR_READ_ONLY);
    message = mapfile_last_error_message();
    CHECK(strstr(message + 1, "mapfile_atomic_u64_store") == NULL);
    CHECK_OK(mapfile_close(m));
}

/* A program that closes the handle's descriptor behind its back (a daemon closing every fd, say)
 * and whose next open reuses the number: the handle must never act on the other file through it.
 * A resize would otherwise cut that file; it answers IO (errno EBADF) and touches nothing. */
TEST(a_descriptor_closed_behind_the_handle_never_cuts_another_file) {
    const char *other = scratch_path("not-the-mapped-file");
    CHECK(write_pattern_file(other, 3 * 4096) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_create(scratch_path("mapped"), 3 * 4096, &m));
    int fd = mapfile_fd(m);
    int other_fd = open(other, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0 && other_fd >= 0);
    CHECK(dup2(other_fd, fd) == fd); /* the library's number now names the other file */
    close(other_fd);
    CHECK_STATUS(mapfile_resize(m, 4096), MAPFILE_ERR_IO);
    CHECK(errno == EBADF && strstr(mapfile_last_error_message(), "no longer names") != NULL);
    CHECK_STATUS(mapfile_refresh(m), MAPFILE_ERR_IO);
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_IO);
    struct stat info;
    CHECK(stat(other, &info) == 0 && info.st_size == 3 * 4096); /* not cut */
    uint8_t byte = 1;
    CHECK_OK(mapfile_read(m, 100, &byte, 1)); /* the mapping itself is still the mapped file's */
    CHECK(byte == 0);
    CHECK_OK(mapfile_close(m));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(size_arithmetic_never_wraps);
    RUN(ranges_are_checked_before_anything_is_built_from_them);
    RUN(find_with_a_needle_longer_than_the_range_never_reads_it);
    RUN(zero_length_reads_and_writes_past_lost_bytes_are_ok);
    RUN(resource_limits_give_statuses_not_signals);
    RUN(flusher_thread_failure_is_no_memory_and_silent);
    RUN(open_or_create_follows_a_dangling_symlink_like_o_creat);
    RUN(last_error_message_stays_valid_and_names_the_path);
    RUN(a_descriptor_closed_behind_the_handle_never_cuts_another_file);
    FINISH();
}
