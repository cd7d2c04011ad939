/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* A child forked from a process whose other threads are busy in the library (as Python's
 * multiprocessing and pre-fork servers fork) goes on using its copies of the handles: what those
 * threads were doing at that instant must not freeze the child (src/core/fork.rs). */
#define _GNU_SOURCE /* fork, usleep in -std=c99 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"
#include "observe.h"

enum { SIZE = 1 << 20, KEPT = 8192, FORKS = 20 };

static mapfile_t *busy_handle;
static int stop_busy;

/* Guarded calls back to back, all inside the bytes every child keeps: short fast-path reads,
 * or full-path counts (a grace mark set nearly all the time). */
static void *busy(void *argument) {
    int counting = *(const int *)argument;
    uint64_t value = 0, count = 0;
    while (!__atomic_load_n(&stop_busy, __ATOMIC_RELAXED)) {
        if (counting)
            mapfile_count_byte(busy_handle, 0, KEPT, 'x', &count);
        else
            mapfile_read(busy_handle, 4096, &value, 8);
    }
    return NULL;
}

/* What `in_a_child` runs in the child: the scenario, then a word in shared memory set. */
struct scenario_run {
    void (*scenario)(const void *);
    const void *argument;
    volatile int *done;
};

static void run_to_end(const void *argument) {
    const struct scenario_run *run = argument;
    run->scenario(run->argument);
    *run->done = 1;
}

/* run_in_child (check.h), true when the scenario ran to its end. The answer comes back through
 * shared memory, not the exit status: under valgrind a child's exit status also counts its
 * "leaks", and what the threads that did not come along held is lost to the child by design. */
static int in_a_child(void (*scenario)(const void *), const void *argument, unsigned seconds) {
    volatile int *done = mmap(NULL, sizeof *done, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (done == MAP_FAILED) return 0;
    *done = 0;
    struct scenario_run run = {scenario, argument, done};
    int status = run_in_child(run_to_end, &run, seconds);
    if (WIFSIGNALED(status)) fprintf(stderr, "  child died by signal %d\n", WTERMSIG(status));
    int answer = *done == 1;
    munmap((void *)done, sizeof *done);
    return answer;
}

/* In the child: a shrink waits for the guarded calls on the old length (a grace period); the
 * calls the parent's threads were making do not exist here and must not be waited for. */
static void shrink(const void *argument) {
    (void)argument;
    EXPECT(mapfile_resize(busy_handle, KEPT) == MAPFILE_OK);
    uint64_t value = 0;
    EXPECT(mapfile_read(busy_handle, 4096, &value, 8) == MAPFILE_OK);
    EXPECT(mapfile_read(busy_handle, KEPT, &value, 8) == MAPFILE_ERR_OUT_OF_BOUNDS);
    EXPECT(mapfile_close(busy_handle) == MAPFILE_OK);
}

TEST(a_child_forked_while_threads_make_guarded_calls_can_shrink_and_close) {
    const char *path = scratch_path("busy");
    CHECK_OK(mapfile_create(path, SIZE, &busy_handle));
    pthread_t threads[2];
    int counting[2] = {0, 1};
    stop_busy = 0;
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&threads[i], NULL, busy, &counting[i]) == 0);
    usleep(20000); /* both threads are in their loops */
    int failed = 0;
    for (int i = 0; i < FORKS && !failed; i++) failed = !in_a_child(shrink, NULL, 20);
    CHECK(!failed);
    __atomic_store_n(&stop_busy, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    CHECK_OK(mapfile_close(busy_handle));
}

static mapfile_t *every_millis_handle;

/* The forked child of `flushed_in_child`: the handle is flushed within seconds (its period is
 * 10 ms), by the child's own flusher thread. */
static void flushed_by_the_child(const void *argument) {
    int dirty_at_fork = *(const int *)argument;
    observe_reset();
    if (!dirty_at_fork) EXPECT(mapfile_write(every_millis_handle, 0, "child", 5) == MAPFILE_OK);
    for (int waited = 0; waited < 5000 && __atomic_load_n(&observed.msyncs, __ATOMIC_RELAXED) == 0; waited++)
        usleep(1000);
    EXPECT(__atomic_load_n(&observed.msyncs, __ATOMIC_RELAXED) > 0);
}

/* A process with an EVERY_MILLIS handle (and so a flusher thread) forks; in the child the handle
 * is still flushed, by a flusher thread of the child's own (the parent's did not come along).
 * `dirty_at_fork`: the parent wrote just before forking (the handle is queued, so no later write
 * queues it again); else the handle is clean at the fork and the child writes. */
static void flushed_in_child(const void *argument) {
    int dirty_at_fork = *(const int *)argument;
    mapfile_options options = flushing_options(4096, MAPFILE_FLUSH_EVERY_MILLIS, 10);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open_with(scratch_path(dirty_at_fork ? "every-millis-dirty" : "every-millis-clean"), &options,
                             &m) == MAPFILE_OK);
    every_millis_handle = m;
    /* The open started the flusher thread (this process's first EVERY_MILLIS handle). */
    if (dirty_at_fork) EXPECT(mapfile_write(m, 0, "parent", 6) == MAPFILE_OK); /* due in 10 ms */
    EXPECT(in_a_child(flushed_by_the_child, &dirty_at_fork, 20));
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(a_child_forked_with_every_millis_handles_still_flushes_them) {
    /* Each case in a process of its own, whose flusher thread is the one a fork leaves behind. */
    int dirty = 1, clean = 0;
    CHECK(in_a_child(flushed_in_child, &dirty, 60));
    CHECK(in_a_child(flushed_in_child, &clean, 60));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(a_child_forked_while_threads_make_guarded_calls_can_shrink_and_close);
    RUN(a_child_forked_with_every_millis_handles_still_flushes_them);
    FINISH();
}
