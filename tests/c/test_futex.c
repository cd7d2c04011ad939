/* mapfile_atomic_u32_wait / mapfile_atomic_u32_wake (API.md, Round 2 contract, shared memory):
 * futex wait and wake on a mapping, across processes on shared mappings, with timeouts, and every
 * failure status (NULL, out of bounds, misaligned, timed out, truncated). */
#define _GNU_SOURCE /* fork, truncate, nanosleep in -std=c99 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096 };

static mapfile_t *open_zeroed(const char *name, uint32_t mode) {
    const char *path = scratch_path(name);
    static const unsigned char zeros[2 * PAGE];
    if (write_file(path, zeros, sizeof zeros) != 0) return NULL;
    mapfile_t *m = NULL;
    return mapfile_open(path, mode, &m) == MAPFILE_OK ? m : NULL;
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

TEST(wait_returns_at_once_when_the_value_differs_and_times_out_when_not) {
    mapfile_t *m = open_zeroed("futex-basic", MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    if (m == NULL) return;
    CHECK_OK(mapfile_atomic_u32_store(m, 8, 5));
    CHECK_OK(mapfile_atomic_u32_wait(m, 8, 4, UINT64_MAX)); /* 5 != 4: no sleep at all */
    errno = 0;
    CHECK_STATUS(mapfile_atomic_u32_wait(m, 8, 5, 20 * 1000 * 1000), MAPFILE_ERR_TIMED_OUT);
    CHECK(errno == ETIMEDOUT);
    CHECK(strstr(mapfile_last_error_message(), "mapfile_atomic_u32_wait") != NULL);
    CHECK_STATUS(mapfile_atomic_u32_wait(m, 8, 5, 0), MAPFILE_ERR_TIMED_OUT);
    uint32_t woken = 99;
    CHECK_OK(mapfile_atomic_u32_wake(m, 8, UINT32_MAX, &woken));
    CHECK(woken == 0);
    CHECK_OK(mapfile_atomic_u32_wake(m, 8, 1, NULL)); /* out_woken may be NULL */
    CHECK_OK(mapfile_close(m));
}

TEST(wait_and_wake_refuse_bad_offsets_and_handles) {
    mapfile_t *m = open_zeroed("futex-bad", MAPFILE_MODE_READ_ONLY); /* waiting needs no writing */
    CHECK(m != NULL);
    if (m == NULL) return;
    CHECK_STATUS(mapfile_atomic_u32_wait(m, 2, 0, 0), MAPFILE_ERR_MISALIGNED);
    CHECK_STATUS(mapfile_atomic_u32_wake(m, 6, 1, NULL), MAPFILE_ERR_MISALIGNED);
    CHECK_STATUS(mapfile_atomic_u32_wait(m, 2 * PAGE, 0, 0), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_atomic_u32_wake(m, 2 * PAGE - 2, 1, NULL), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_atomic_u32_wait(m, 0, 0, 1000), MAPFILE_ERR_TIMED_OUT); /* READ_ONLY works */
    CHECK_STATUS(mapfile_atomic_u32_wait(NULL, 0, 0, 0), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_atomic_u32_wake(NULL, 0, 1, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_OK(mapfile_close(m));
}

TEST(wait_on_a_truncated_page_is_truncated) {
    const char *path = scratch_path("futex-truncated");
    CHECK(write_pattern_file(path, 3 * PAGE) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    CHECK(truncate(path, PAGE) == 0);
    CHECK_STATUS(mapfile_atomic_u32_wait(m, 2 * PAGE, 0, UINT64_MAX), MAPFILE_ERR_TRUNCATED);
    CHECK_OK(mapfile_close(m));
}

/* A child process sleeps on a word of a shared file mapping; the parent stores and wakes it. */
TEST(wake_reaches_a_waiter_in_another_process) {
    mapfile_t *m = open_zeroed("futex-processes", MAPFILE_MODE_READ_WRITE);
    CHECK(m != NULL);
    if (m == NULL) return;
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        alarm(30);
        uint32_t value = 0;
        mapfile_atomic_u32_store(m, 4, 1); /* "I am about to wait" */
        while (mapfile_atomic_u32_load(m, 0, &value) == MAPFILE_OK && value == 0) {
            if (mapfile_atomic_u32_wait(m, 0, 0, UINT64_MAX) != MAPFILE_OK) _exit(3);
        }
        _exit(value == 7 ? 0 : 4);
    }
    uint32_t ready = 0;
    while (mapfile_atomic_u32_load(m, 4, &ready) == MAPFILE_OK && ready == 0) sleep_ms(1);
    uint32_t woken = 0;
    int rounds = 0;
    /* The child may not sleep yet: keep waking until it was woken (or has exited). */
    CHECK_OK(mapfile_atomic_u32_store(m, 0, 7));
    int status = 0;
    pid_t reaped = 0;
    while ((reaped = waitpid(child, &status, WNOHANG)) == 0 && rounds++ < 5000) {
        mapfile_atomic_u32_wake(m, 0, UINT32_MAX, &woken);
        sleep_ms(1);
    }
    if (reaped == 0) { /* never woken: end it, and fail */
        fprintf(stderr, "  the waiting child was not woken\n");
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(mapfile_close(m));
}

/* The waiter really sleeps: it is woken by the wake (woken == 1), not by polling. */
struct sleeper {
    mapfile_t *m;
    mapfile_status status;
};

static void *sleep_on_word(void *argument) {
    struct sleeper *s = (struct sleeper *)argument;
    s->status = mapfile_atomic_u32_wait(s->m, 16, 0, 30ull * 1000 * 1000 * 1000);
    return NULL;
}

TEST(wake_counts_the_sleeping_waiter_on_a_private_mapping) {
    mapfile_t *m = open_zeroed("futex-cow", MAPFILE_MODE_COPY_ON_WRITE);
    CHECK(m != NULL);
    if (m == NULL) return;
    struct sleeper s = {m, 99};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, sleep_on_word, &s) == 0);
    uint32_t woken = 0;
    for (int i = 0; i < 5000 && woken == 0; i++) {
        sleep_ms(1);
        CHECK_OK(mapfile_atomic_u32_wake(m, 16, 1, &woken));
    }
    pthread_join(thread, NULL);
    CHECK(woken == 1);
    CHECK_OK(s.status);
    CHECK_OK(mapfile_close(m));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(wait_returns_at_once_when_the_value_differs_and_times_out_when_not);
    RUN(wait_and_wake_refuse_bad_offsets_and_handles);
    RUN(wait_on_a_truncated_page_is_truncated);
    RUN(wake_reaches_a_waiter_in_another_process);
    RUN(wake_counts_the_sleeping_waiter_on_a_private_mapping);
    FINISH();
}
