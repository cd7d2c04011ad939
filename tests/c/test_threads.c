/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* 6. Every function but mapfile_close may be called on one handle from many threads at once;
 * error detail is per thread. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <pthread.h>
#include <stdint.h>

#include "check.h"

enum { SIZE = 1 << 20, THREADS = 6, ROUNDS = 300 };

static mapfile_t *shared_handle;
static int thread_failures[THREADS];

static void *reader(void *argument) {
    int index = (int)(intptr_t)argument;
    uint8_t buffer[64];
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t offset = ((uint64_t)round * 7919 + (uint64_t)index * 104729) % (SIZE - 64);
        if (mapfile_read(shared_handle, offset, buffer, 64) != MAPFILE_OK) thread_failures[index]++;
        for (int i = 0; i < 64; i++) {
            /* bytes 0..8 of the file are atomics written by other threads; skip them */
            if (offset + i >= 16 && buffer[i] != pattern_byte(offset + i)) thread_failures[index]++;
        }
        uint64_t count = 0;
        if (mapfile_count_byte(shared_handle, 16, 4096, pattern_byte(100), &count) != MAPFILE_OK) thread_failures[index]++;
        uint64_t position = 0;
        uint8_t needle[4] = {pattern_byte(50000), pattern_byte(50001), pattern_byte(50002), pattern_byte(50003)};
        if (mapfile_find(shared_handle, 16, needle, 4, &position) != MAPFILE_OK || position == MAPFILE_NPOS) thread_failures[index]++;
        if (mapfile_atomic_u64_fetch_add(shared_handle, 0, 1, NULL) != MAPFILE_OK) thread_failures[index]++;
        const uint8_t *slice = NULL;
        if (mapfile_slice(shared_handle, 16, 16, &slice) != MAPFILE_OK || slice[0] != pattern_byte(16)) thread_failures[index]++;
        if (round % 50 == 0) {
            if (mapfile_flush_range(shared_handle, offset, 64) != MAPFILE_OK) thread_failures[index]++;
            if (mapfile_advise(shared_handle, MAPFILE_ADVICE_WILL_NEED) != MAPFILE_OK) thread_failures[index]++;
            if (mapfile_check(shared_handle) != MAPFILE_OK) thread_failures[index]++;
            if (mapfile_refresh(shared_handle) != MAPFILE_OK) thread_failures[index]++;
        }
        if (mapfile_len(shared_handle) != SIZE) thread_failures[index]++;
    }
    return NULL;
}

TEST(all_calls_but_close_are_safe_on_one_handle_from_many_threads) {
    const char *path = scratch_path("threads");
    CHECK(write_pattern_file(path, SIZE) == 0);
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &shared_handle));
    CHECK_OK(mapfile_atomic_u64_store(shared_handle, 0, 0));
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, reader, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    int failures = 0;
    for (int t = 0; t < THREADS; t++) failures += thread_failures[t];
    CHECK(failures == 0);
    uint64_t total = 0;
    CHECK_OK(mapfile_atomic_u64_load(shared_handle, 0, &total));
    CHECK(total == (uint64_t)THREADS * ROUNDS);
    CHECK_OK(mapfile_close(shared_handle));
}

/* Threads that read while one thread keeps resizing see either the old or the new length and
 * never crash; their data below the smallest size is always right. */
static volatile int resizing_done;

static void *resizer(void *argument) {
    (void)argument;
    for (int round = 0; round < 200; round++) {
        if (mapfile_resize(shared_handle, (round % 2) ? SIZE : SIZE * 3) != MAPFILE_OK) thread_failures[0]++;
    }
    resizing_done = 1;
    return NULL;
}

static void *steady_reader(void *argument) {
    int index = (int)(intptr_t)argument;
    uint8_t buffer[32];
    while (!resizing_done) {
        if (mapfile_read(shared_handle, SIZE - 100, buffer, 32) != MAPFILE_OK) thread_failures[index]++;
        if (buffer[0] != pattern_byte(SIZE - 100)) thread_failures[index]++;
        uint64_t len = mapfile_len(shared_handle);
        if (len != SIZE && len != SIZE * 3) thread_failures[index]++;
    }
    return NULL;
}

TEST(resize_concurrent_with_readers_is_safe) {
    const char *path = scratch_path("threads-resize");
    CHECK(write_pattern_file(path, SIZE) == 0);
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &shared_handle));
    memset(thread_failures, 0, sizeof thread_failures);
    resizing_done = 0;
    pthread_t threads[3];
    pthread_create(&threads[0], NULL, resizer, NULL);
    pthread_create(&threads[1], NULL, steady_reader, (void *)(intptr_t)1);
    pthread_create(&threads[2], NULL, steady_reader, (void *)(intptr_t)2);
    for (int t = 0; t < 3; t++) pthread_join(threads[t], NULL);
    CHECK(thread_failures[0] == 0 && thread_failures[1] == 0 && thread_failures[2] == 0);
    CHECK_OK(mapfile_close(shared_handle));
}

/* Error detail is per thread: one thread's failure never shows in another's message. */
static char other_thread_message[256];

static void *failing_thread(void *argument) {
    (void)argument;
    mapfile_t *m = NULL;
    mapfile_open(scratch_path("thread-b-missing"), MAPFILE_MODE_READ_ONLY, &m);
    snprintf(other_thread_message, sizeof other_thread_message, "%s", mapfile_last_error_message());
    return NULL;
}

static void *fresh_thread_message(void *argument) {
    (void)argument;
    snprintf(other_thread_message, sizeof other_thread_message, "%s", mapfile_last_error_message());
    return NULL;
}

TEST(error_detail_is_per_thread) {
    mapfile_t *m = NULL;
    CHECK_STATUS(mapfile_open(scratch_path("thread-a-missing"), MAPFILE_MODE_READ_ONLY, &m), MAPFILE_ERR_NOT_FOUND);
    pthread_t thread;
    pthread_create(&thread, NULL, failing_thread, NULL);
    pthread_join(thread, NULL);
    CHECK(strstr(mapfile_last_error_message(), "thread-a-missing") != NULL);
    CHECK(strstr(other_thread_message, "thread-b-missing") != NULL);
    pthread_create(&thread, NULL, fresh_thread_message, NULL);
    pthread_join(thread, NULL);
    CHECK(strcmp(other_thread_message, "") == 0); /* a new thread has no failure */
}

/* A C library's per-thread cleanup (a pthread key destructor) may call the library: glibc runs
 * those after the thread-local destructors, the library's included. */
static mapfile_t *destructor_handle;
static pthread_key_t destructor_key;
static mapfile_status destructor_statuses[5];
static uint64_t destructor_value;
static int destructor_saw_message;
static const char *cached_message; /* fetched by the (one) thread before it ends */

static void key_destructor(void *unused) {
    (void)unused;
    uint64_t value = 0, old = 0;
    uint8_t bytes[64];
    destructor_statuses[0] = mapfile_read(destructor_handle, 8, &value, 8);
    destructor_value = value;
    destructor_statuses[1] = mapfile_read(destructor_handle, 0, bytes, sizeof bytes);
    destructor_statuses[2] = mapfile_write(destructor_handle, 16, &value, 8);
    destructor_statuses[3] = mapfile_atomic_u64_fetch_add(destructor_handle, 0, 1, &old);
    destructor_statuses[4] = mapfile_read(destructor_handle, 4096, &value, 8); /* out of bounds */
    /* The pointer fetched while the thread ran is valid for its whole life, cleanup included:
     * it shows the failure just above. */
    destructor_saw_message = strstr(cached_message, "mapfile_read") != NULL;
}

static void *calls_then_exits(void *unused) {
    (void)unused;
    uint64_t value = 0;
    for (int i = 0; i < 100; i++) mapfile_read(destructor_handle, 8, &value, 8); /* the fast path */
    cached_message = mapfile_last_error_message();
    pthread_setspecific(destructor_key, (void *)1);
    return NULL;
}

TEST(guarded_calls_work_in_pthread_key_destructors) {
    CHECK_STATUS(mapfile_create(scratch_path("key-destructor"), 4096, &destructor_handle), MAPFILE_OK);
    uint64_t marker = 0x1234567890abcdefull;
    CHECK_STATUS(mapfile_write(destructor_handle, 8, &marker, 8), MAPFILE_OK);
    CHECK(pthread_key_create(&destructor_key, key_destructor) == 0);
    for (int round = 0; round < 3; round++) {
        pthread_t thread;
        pthread_create(&thread, NULL, calls_then_exits, NULL);
        pthread_join(thread, NULL);
        CHECK_STATUS(destructor_statuses[0], MAPFILE_OK);
        CHECK(destructor_value == marker);
        CHECK_STATUS(destructor_statuses[1], MAPFILE_OK);
        CHECK_STATUS(destructor_statuses[2], MAPFILE_OK);
        CHECK_STATUS(destructor_statuses[3], MAPFILE_OK);
        CHECK_STATUS(destructor_statuses[4], MAPFILE_ERR_OUT_OF_BOUNDS);
        CHECK(destructor_saw_message);
    }
    uint64_t value = 0;
    CHECK_STATUS(mapfile_read(destructor_handle, 0, &value, 8), MAPFILE_OK); /* not poisoned */
    CHECK(value == 3);
    pthread_key_delete(destructor_key);
    CHECK_STATUS(mapfile_close(destructor_handle), MAPFILE_OK);
}

/* A thread cancelled (pthread_cancel, deferred) while it makes library calls that reach
 * cancellation points inside (msync, open, close, fdatasync; a write whose flush policy flushes):
 * the cancellation is acted on at its next cancellation point outside the library, the thread
 * ends cleanly, and the handles work on (nothing it held stays held). Acted on inside, it would
 * unwind through the library's Rust frames, which aborts the process: the scenario runs in a
 * child. (test_sigbus_modes.c does the same for reads through pread.) */
static mapfile_t *cancelled_handle, *flushing_handle;

/* The workers keep no array or address-taken local on their stack (one runs at a time): a
 * cancelled thread's unwind leaves such a frame's AddressSanitizer redzones poisoned, and ASan's
 * own thread teardown then reports a false stack-buffer-underflow (a plain C program shows it). */
static char worker_bytes[64];
static mapfile_t *worker_other;

static void *flushing_worker(void *argument) {
    (void)argument;
    for (;;) {
        mapfile_write(cancelled_handle, 4096, worker_bytes, sizeof worker_bytes);
        mapfile_flush(cancelled_handle);
        if (mapfile_open(scratch_path("cancel-other"), MAPFILE_MODE_READ_ONLY, &worker_other) == MAPFILE_OK)
            mapfile_close(worker_other);
        pthread_testcancel();
    }
    return NULL;
}

static void *policy_worker(void *argument) {
    (void)argument;
    for (;;) {
        mapfile_write(flushing_handle, 0, worker_bytes, sizeof worker_bytes); /* flushes: EVERY_WRITES(1) */
        pthread_testcancel();
    }
    return NULL;
}

static void cancel_scenario(const void *argument) {
    (void)argument;
    EXPECT(write_pattern_file(scratch_path("cancel-other"), 4096) == 0);
    EXPECT(mapfile_create(scratch_path("cancel"), 1 << 16, &cancelled_handle) == MAPFILE_OK);
    mapfile_options options = flushing_options(4096, MAPFILE_FLUSH_EVERY_WRITES, 1);
    EXPECT(mapfile_open_with(scratch_path("cancel-policy"), &options, &flushing_handle) == MAPFILE_OK);
    cancel_rounds(flushing_worker, NULL, 10);
    cancel_rounds(policy_worker, NULL, 10);
    EXPECT(mapfile_resize(cancelled_handle, 8192) == MAPFILE_OK); /* no call of theirs is waited for */
    EXPECT(mapfile_write(cancelled_handle, 0, "after", 5) == MAPFILE_OK);
    EXPECT(mapfile_flush(cancelled_handle) == MAPFILE_OK);
    EXPECT(mapfile_close(cancelled_handle) == MAPFILE_OK);
    EXPECT(mapfile_close(flushing_handle) == MAPFILE_OK);
}

TEST(a_thread_cancelled_during_library_calls_ends_cleanly) {
    int status = run_in_child(cancel_scenario, NULL, 60);
    if (WIFSIGNALED(status)) fprintf(stderr, "  child died by signal %d\n", WTERMSIG(status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(all_calls_but_close_are_safe_on_one_handle_from_many_threads);
    RUN(resize_concurrent_with_readers_is_safe);
    RUN(error_detail_is_per_thread);
    RUN(guarded_calls_work_in_pthread_key_destructors);
    RUN(a_thread_cancelled_during_library_calls_ends_cleanly);
    FINISH();
}
