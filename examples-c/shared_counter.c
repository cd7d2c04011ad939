/* shared_counter: N processes add to one counter in anonymous shared memory, and the total is
 * exact. The children are forked after mapfile_open_anonymous, so they share the memory; they
 * sleep on a start word (mapfile_atomic_u32_wait) until the parent, woken by each child's
 * arrival, releases them all at once (mapfile_atomic_u32_wake), then race on the counter with mapfile_atomic_u64_fetch_add.
 *
 * usage: shared_counter PROCESSES INCREMENTS
 * prints "total T (expected E)" and exits 0 when T == E == PROCESSES * INCREMENTS */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapfile.h"

enum { COUNTER = 0, START = 8, READY = 12 }; /* offsets of the words in the shared page */

static int fail(const char *what) {
    fprintf(stderr, "shared_counter: %s: %s\n", what, mapfile_last_error_message());
    return 1;
}

/* A child: says it is ready, sleeps until the start word is 1, then adds. */
static int add(mapfile_t *m, unsigned long increments) {
    if (mapfile_atomic_u32_fetch_add(m, READY, 1, NULL) != MAPFILE_OK) return 1;
    if (mapfile_atomic_u32_wake(m, READY, 1, NULL) != MAPFILE_OK) return 1; /* the parent */
    uint32_t started = 0;
    while (mapfile_atomic_u32_load(m, START, &started) == MAPFILE_OK && started == 0) {
        /* a wake-up, a signal or a value already changed: look again */
        if (mapfile_atomic_u32_wait(m, START, 0, UINT64_MAX) != MAPFILE_OK) return 1;
    }
    for (unsigned long i = 0; i < increments; i++) {
        if (mapfile_atomic_u64_fetch_add(m, COUNTER, 1, NULL) != MAPFILE_OK) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PROCESSES INCREMENTS\n", argv[0]);
        return 2;
    }
    unsigned long processes = strtoul(argv[1], NULL, 10);
    unsigned long increments = strtoul(argv[2], NULL, 10);
    mapfile_t *m = NULL;
    if (mapfile_open_anonymous(4096, 0, &m) != MAPFILE_OK) return fail("mapfile_open_anonymous");
    fflush(stdout);
    for (unsigned long p = 0; p < processes; p++) {
        pid_t child = fork();
        if (child < 0) {
            perror("fork");
            return 1;
        }
        if (child == 0) _exit(add(m, increments));
    }
    /* release everyone at once, once everyone is there */
    uint32_t ready = 0;
    while (mapfile_atomic_u32_load(m, READY, &ready) == MAPFILE_OK && ready < processes) {
        if (mapfile_atomic_u32_wait(m, READY, ready, UINT64_MAX) != MAPFILE_OK) return fail("wait");
    }
    if (mapfile_atomic_u32_store(m, START, 1) != MAPFILE_OK) return fail("store");
    uint32_t woken = 0;
    if (mapfile_atomic_u32_wake(m, START, UINT32_MAX, &woken) != MAPFILE_OK) return fail("wake");
    int failed = 0;
    for (unsigned long p = 0; p < processes; p++) {
        int status = 0;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    uint64_t total = 0;
    if (mapfile_atomic_u64_load(m, COUNTER, &total) != MAPFILE_OK) return fail("load");
    uint64_t expected = (uint64_t)processes * increments;
    printf("total %llu (expected %llu)\n", (unsigned long long)total, (unsigned long long)expected);
    if (mapfile_close(m) != MAPFILE_OK) return fail("close");
    return failed || total != expected;
}
