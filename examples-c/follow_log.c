/* follow_log: `tail -f` on libmapfile. Prints every complete line of PATH, then follows it: new
 * lines as they are appended, from the start again after a copytruncate rotation, and the new
 * file after a rotation by rename (the rest of the old one first). It sleeps in poll() on the
 * handle's watch descriptor; nothing polls the file's size.
 *
 * usage: follow_log PATH [MAX_LINES]   (with MAX_LINES it exits 0 after printing that many)
 *
 * Limits (as GNU tail's): a copytruncate is noticed because the file got shorter than what was
 * printed; if the logger writes more than that before this program wakes up, the lines written
 * since the truncation are printed from where the old file ended. */
#define _POSIX_C_SOURCE 200809L /* nanosleep, poll */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mapfile.h"

static const char *path;
static long max_lines;
static long printed;

static int fail(const char *what, mapfile_status status) {
    fprintf(stderr, "follow_log: %s: %s (%s)\n", what, mapfile_last_error_message(), mapfile_strerror(status));
    return 1;
}

/* Opens PATH, waiting (up to a minute) while it does not exist: after a rotation by rename the
 * logger creates the new file a moment later. GUARD_RAW: the lines are printed straight from the
 * mapping, and a truncation at any moment must not kill the program (lost_from tells where the
 * lost bytes start). */
static mapfile_status open_waiting(mapfile_t **m, int *watch) {
    struct timespec pause = {0, 20 * 1000 * 1000};
    mapfile_options options;
    mapfile_options_init(&options);
    options.flags = MAPFILE_FLAG_GUARD_RAW;
    mapfile_status status = MAPFILE_ERR_NOT_FOUND;
    for (int tries = 0; tries < 3000 && status == MAPFILE_ERR_NOT_FOUND; tries++) {
        status = mapfile_open_with(path, &options, m);
        if (status == MAPFILE_ERR_NOT_FOUND) nanosleep(&pause, NULL);
    }
    if (status != MAPFILE_OK) return status;
    return mapfile_watch_fd(*m, watch);
}

/* Prints the complete lines from *position on; returns 1 when MAX_LINES are printed, 0 when all
 * complete lines are, -1 with a status in *status (TRUNCATED: the file shrank meanwhile). */
static int print_lines(mapfile_t *m, uint64_t *position, mapfile_status *status) {
    const char *text = NULL;
    size_t len = 0;
    if ((*status = mapfile_chars(m, &text, &len)) != MAPFILE_OK) return -1;
    while (*position < len) {
        uint64_t newline = 0;
        if ((*status = mapfile_find(m, *position, "\n", 1, &newline)) != MAPFILE_OK) return -1;
        if (newline == MAPFILE_NPOS) break; /* an incomplete last line: wait for the rest */
        /* The guarded find saw these bytes; a truncation since then shows in lost_from. */
        if (newline >= mapfile_lost_from(m)) break;
        fwrite(text + *position, 1, (size_t)(newline + 1 - *position), stdout);
        *position = newline + 1;
        if (max_lines > 0 && ++printed >= max_lines) {
            fflush(stdout);
            return 1;
        }
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH [MAX_LINES]\n", argv[0]);
        return 2;
    }
    path = argv[1];
    max_lines = argc > 2 ? atol(argv[2]) : 0;
    mapfile_t *m = NULL;
    int watch = -1;
    mapfile_status status = open_waiting(&m, &watch);
    if (status != MAPFILE_OK) return fail(path, status);
    uint64_t position = 0;
    for (;;) {
        int done = print_lines(m, &position, &status);
        if (done == 1) break;
        if (done < 0 && status != MAPFILE_ERR_TRUNCATED) return fail("reading", status);
        struct pollfd wait_for = {watch, POLLIN, 0};
        if (done == 0 && poll(&wait_for, 1, -1) < 0 && errno != EINTR) {
            perror("follow_log: poll");
            return 1;
        }
        uint32_t changes = 0;
        if ((status = mapfile_watch_ack(m, &changes)) != MAPFILE_OK) return fail("watch", status);
        if ((status = mapfile_refresh(m)) != MAPFILE_OK) return fail("refresh", status);
        if (mapfile_len(m) < position) { /* copytruncate: the file starts again */
            fprintf(stderr, "follow_log: %s: file truncated\n", path);
            position = 0;
        }
        if (changes & MAPFILE_CHANGE_REPLACED) {
            if (print_lines(m, &position, &status) == 1) break; /* the rest of the old file */
            fprintf(stderr, "follow_log: %s has been replaced; following the new file\n", path);
            mapfile_close(m);
            m = NULL;
            if ((status = open_waiting(&m, &watch)) != MAPFILE_OK) return fail(path, status);
            position = 0;
        }
    }
    return mapfile_close(m) == MAPFILE_OK ? 0 : 1;
}
