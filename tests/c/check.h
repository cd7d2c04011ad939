/* A tiny test framework for the C test programs: CHECK / CHECK_STATUS record failures with their
 * line, TEST defines a test, RUN runs it, SKIP(reason) marks it skipped (counted apart, never as
 * passed), FINISH prints "N passed, N failed, N skipped" and gives the exit code.
 * Every program takes a scratch directory as argv[1]; scratch_path() names files inside it. */
#ifndef MAPFILE_TEST_CHECK_H
#define MAPFILE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapfile.h"

static int check_failed_in_test = 0;
static int skipped_in_test = 0;
static int tests_passed = 0;
static int tests_failed = 0;
static int tests_skipped = 0;
static const char *scratch_dir = ".";

#define CHECK(condition)                                                                    \
    do {                                                                                    \
        if (!(condition)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition);   \
            check_failed_in_test = 1;                                                       \
        }                                                                                   \
    } while (0)

/* Compares a status with the expected one and prints both names and the message on mismatch. */
#define CHECK_STATUS(expression, expected)                                                  \
    do {                                                                                    \
        mapfile_status check_got_ = (expression);                                           \
        mapfile_status check_want_ = (expected);                                            \
        if (check_got_ != check_want_) {                                                    \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s); last error: %s\n", \
                    __FILE__, __LINE__, #expression, (int)check_got_,                       \
                    mapfile_strerror(check_got_), (int)check_want_,                         \
                    mapfile_strerror(check_want_), mapfile_last_error_message());           \
            check_failed_in_test = 1;                                                       \
        }                                                                                   \
    } while (0)

#define CHECK_OK(expression) CHECK_STATUS(expression, MAPFILE_OK)

/* For scenarios that run in a forked child: a failed expectation ends the child with an exit code
 * made from the line number, after saying what failed. */
#define EXPECT(condition)                                                                   \
    do {                                                                                    \
        if (!(condition)) {                                                                 \
            fprintf(stderr, "  %s:%d: expectation failed: %s (last error: %s)\n", __FILE__, \
                    __LINE__, #condition, mapfile_last_error_message());                    \
            _exit(100 + (__LINE__ % 100));                                                  \
        }                                                                                   \
    } while (0)

/* Ends the current test as skipped, saying why on stderr. A skipped test never counts as passed. */
#define SKIP(...)                                                                           \
    do {                                                                                    \
        fprintf(stderr, "  SKIPPED: " __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                              \
        skipped_in_test = 1;                                                                \
        return;                                                                             \
    } while (0)

#define TEST(name) static void name(void)

#define RUN(name)                                                                           \
    do {                                                                                    \
        check_failed_in_test = 0;                                                           \
        skipped_in_test = 0;                                                                \
        name();                                                                             \
        if (check_failed_in_test) {                                                         \
            tests_failed++;                                                                 \
            printf("FAILED %s\n", #name);                                                   \
        } else if (skipped_in_test) {                                                       \
            tests_skipped++;                                                                \
            printf("SKIPPED %s\n", #name);                                                  \
        } else {                                                                            \
            tests_passed++;                                                                 \
            printf("ok %s\n", #name);                                                       \
        }                                                                                   \
        fflush(stdout);                                                                     \
    } while (0)

#define START(argc, argv)                                                                   \
    do {                                                                                    \
        if ((argc) < 2) {                                                                   \
            fprintf(stderr, "usage: %s SCRATCH_DIR\n", (argv)[0]);                          \
            return 2;                                                                       \
        }                                                                                   \
        scratch_dir = (argv)[1];                                                            \
    } while (0)

#define FINISH()                                                                            \
    do {                                                                                    \
        printf("%d passed, %d failed, %d skipped\n", tests_passed, tests_failed, tests_skipped); \
        return tests_failed == 0 && tests_passed > 0 ? 0 : 1;                               \
    } while (0)

/* Runs `scenario` in a forked child (which EXPECTs, and may die): true when it exited 0. A child
 * killed by a signal says which; a hung one is ended by alarm after 60 s. */
static inline int child_ok(void (*scenario)(void)) {
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        alarm(60);
        scenario();
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) fprintf(stderr, "  child died by signal %d\n", WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs scenario(argument) in a forked child that dies of SIGALRM after `seconds` (a hung child
 * ends too) and returns its wait status. */
static inline int run_in_child(void (*scenario)(const void *), const void *argument, unsigned seconds) {
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        alarm(seconds);
        scenario(argument);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return status;
}

/* Options that create a new file of `size` bytes, READ_WRITE, with flush policy `policy`
 * (MAPFILE_FLUSH_*) and its `every` (ms, bytes or writes). */
static inline mapfile_options flushing_options(uint64_t size, uint32_t policy, uint64_t every) {
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.create = MAPFILE_CREATE_NEW;
    options.create_size = size;
    options.flush_policy = policy;
    options.flush_every = every;
    return options;
}

/* For scenarios of pthread_cancel during library calls (run them in a child: a cancellation
 * acted on inside the library would abort the process): `rounds` times, starts
 * worker(argument), cancels it a few ms later and expects it to end cancelled. */
static inline void cancel_rounds(void *(*worker)(void *), void *argument, int rounds) {
    for (int round = 0; round < rounds; round++) {
        pthread_t thread;
        EXPECT(pthread_create(&thread, NULL, worker, argument) == 0);
        usleep(2000 + 1000 * (useconds_t)round);
        EXPECT(pthread_cancel(thread) == 0);
        void *result = NULL;
        EXPECT(pthread_join(thread, &result) == 0 && result == PTHREAD_CANCELED);
    }
}

/* A path inside the scratch directory. Rotates over 8 buffers so a few can be alive at once. */
static inline const char *scratch_path(const char *name) {
    static char buffers[8][4096];
    static int next = 0;
    char *buffer = buffers[next];
    next = (next + 1) % 8;
    snprintf(buffer, sizeof buffers[0], "%s/%s", scratch_dir, name);
    return buffer;
}

/* Writes `len` bytes of `data` to a fresh file at `path`; returns 0 on success. */
static inline int write_file(const char *path, const void *data, size_t len) {
    FILE *file = fopen(path, "wb");
    if (file == NULL) return -1;
    size_t done = len ? fwrite(data, 1, len, file) : 0;
    int closed = fclose(file);
    return done == len && closed == 0 ? 0 : -1;
}

/* A file of `len` bytes where byte i is (i * 7 + 3) % 251: every position is recognisable. */
static inline int write_pattern_file(const char *path, size_t len) {
    unsigned char *data = (unsigned char *)malloc(len ? len : 1);
    if (data == NULL) return -1;
    for (size_t i = 0; i < len; i++) data[i] = (unsigned char)((i * 7 + 3) % 251);
    int result = write_file(path, data, len);
    free(data);
    return result;
}

static inline unsigned char pattern_byte(unsigned long long i) {
    return (unsigned char)((i * 7 + 3) % 251);
}

/* The size of a file, or -1. */
static inline long long file_size_of(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 ? (long long)info.st_size : -1;
}

/* Reads bytes straight from the file with pread (not through any mapping). */
static inline int file_bytes_equal(const char *path, long long offset, const void *expected, size_t len) {
    char buffer[256];
    if (len > sizeof buffer) return 0; /* before open: nothing to leak */
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t got = pread(fd, buffer, len, offset);
    close(fd);
    return got == (ssize_t)len && memcmp(buffer, expected, len) == 0;
}

/* Reads a whole small file into `buffer` (at most `capacity` bytes); returns its length or -1. */
static inline long read_file(const char *path, void *buffer, size_t capacity) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return -1;
    size_t got = fread(buffer, 1, capacity, file);
    fclose(file);
    return (long)got;
}

#endif
