/* What ports of hand-written mmap code need (API.md, Round 2 contract, legacy ports):
 * mapfile_open_fd / mapfile_fd, mapfile_lost_from, mapfile_rfind, mapfile_next_chunk /
 * mapfile_page_size, MAPFILE_ERR_REPLACED from mapfile_check, mapfile_watch_fd / mapfile_watch_ack,
 * pseudo-file snapshots, and mapfile_chars. Each function's failure statuses too. */
#define _GNU_SOURCE /* O_PATH, ftruncate, poll... in -std=c99 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096 };

static int open_read_only_fd(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }

static mapfile_options options_for(uint32_t mode, uint32_t flags) {
    mapfile_options o;
    mapfile_options_init(&o);
    o.mode = mode;
    o.flags = flags;
    return o;
}

/* --- mapfile_open_fd and mapfile_fd -------------------------------------------------------- */

TEST(open_fd_maps_the_descriptor_and_keeps_its_own_duplicate) {
    const char *path = scratch_path("fd-basic");
    CHECK(write_pattern_file(path, 3 * PAGE + 10) == 0);
    int fd = open_read_only_fd(path);
    CHECK(fd >= 0);
    mapfile_options o = options_for(MAPFILE_MODE_READ_ONLY, 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_fd(fd, &o, &m));
    if (m == NULL) return;
    CHECK(mapfile_len(m) == 3 * PAGE + 10);
    int own = mapfile_fd(m);
    CHECK(own >= 0 && own != fd);
    CHECK((fcntl(own, F_GETFD) & FD_CLOEXEC) != 0);
    struct stat a, b;
    CHECK(fstat(fd, &a) == 0 && fstat(own, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    CHECK(close(fd) == 0); /* the caller may close its descriptor at once */
    unsigned char byte = 0;
    CHECK_OK(mapfile_read(m, 3 * PAGE + 9, &byte, 1));
    CHECK(byte == pattern_byte(3 * PAGE + 9));
    CHECK_OK(mapfile_check(m));
    CHECK_OK(mapfile_close(m));
    CHECK(mapfile_fd(NULL) == -1);
}

TEST(open_fd_honours_offset_len_and_ignores_create_fields) {
    const char *path = scratch_path("fd-window");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    mapfile_options o = options_for(MAPFILE_MODE_READ_WRITE, 0);
    o.offset = PAGE + 3;
    o.len = 100;
    o.create = MAPFILE_CREATE_NEW; /* ignored: the descriptor is already open */
    o.create_size = 1;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_fd(fd, &o, &m));
    if (m == NULL) return;
    CHECK(mapfile_len(m) == 100);
    const uint8_t *p = NULL;
    CHECK_OK(mapfile_slice(m, 0, 100, &p));
    CHECK(p != NULL && p[0] == pattern_byte(PAGE + 3) && p[99] == pattern_byte(PAGE + 102));
    CHECK_OK(mapfile_write(m, 0, "XY", 2));
    CHECK_OK(mapfile_close(m));
    close(fd);
    CHECK(file_bytes_equal(path, PAGE + 3, "XY", 2));
    CHECK(file_size_of(path) == 4 * PAGE);
}

TEST(open_fd_refuses_bad_descriptors_and_modes_the_fd_does_not_allow) {
    const char *path = scratch_path("fd-modes");
    CHECK(write_pattern_file(path, PAGE) == 0);
    mapfile_options ro = options_for(MAPFILE_MODE_READ_ONLY, 0);
    mapfile_options rw = options_for(MAPFILE_MODE_READ_WRITE, 0);
    mapfile_options cow = options_for(MAPFILE_MODE_COPY_ON_WRITE, 0);
    mapfile_t *m = NULL;
    CHECK_STATUS(mapfile_open_fd(-1, &ro, &m), MAPFILE_ERR_INVALID_ARG);
    int closed = open_read_only_fd(path);
    close(closed);
    CHECK_STATUS(mapfile_open_fd(closed, &ro, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK(strstr(mapfile_last_error_message(), "mapfile_open_fd") != NULL);

    int read_only = open_read_only_fd(path);
    errno = 0;
    CHECK_STATUS(mapfile_open_fd(read_only, &rw, &m), MAPFILE_ERR_PERMISSION);
    CHECK(errno == EACCES);
    CHECK(strstr(mapfile_last_error_message(), "O_RDONLY") != NULL);
    CHECK_OK(mapfile_open_fd(read_only, &cow, &m)); /* private writes need only reading */
    CHECK_OK(mapfile_write(m, 0, "Z", 1));
    CHECK_OK(mapfile_close(m));
    m = NULL;
    close(read_only);

    int write_only = open(path, O_WRONLY | O_CLOEXEC);
    CHECK_STATUS(mapfile_open_fd(write_only, &ro, &m), MAPFILE_ERR_PERMISSION);
    close(write_only);
    int path_only = open(path, O_PATH | O_CLOEXEC);
    CHECK_STATUS(mapfile_open_fd(path_only, &ro, &m), MAPFILE_ERR_PERMISSION);
    close(path_only);
    int directory = open(scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK_STATUS(mapfile_open_fd(directory, &ro, &m), MAPFILE_ERR_UNSUPPORTED);
    close(directory);
    int pipe_ends[2];
    CHECK(pipe(pipe_ends) == 0);
    CHECK_STATUS(mapfile_open_fd(pipe_ends[0], &ro, &m), MAPFILE_ERR_UNSUPPORTED);
    close(pipe_ends[0]);
    close(pipe_ends[1]);

    int fd = open_read_only_fd(path);
    CHECK_STATUS(mapfile_open_fd(fd, NULL, &m), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_fd(fd, &ro, NULL), MAPFILE_ERR_NULL_ARG);
    mapfile_options bad = ro;
    bad.offset = 2 * PAGE;
    CHECK_STATUS(mapfile_open_fd(fd, &bad, &m), MAPFILE_ERR_OUT_OF_BOUNDS);
    bad = ro;
    bad.version = 99;
    CHECK_STATUS(mapfile_open_fd(fd, &bad, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK(m == NULL);
    close(fd);
}

/* --- mapfile_lost_from ------------------------------------------------------------------------ */

TEST(lost_from_tells_a_raw_scanner_where_the_lost_bytes_start) {
    const char *path = scratch_path("lost-from");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    mapfile_options o = options_for(MAPFILE_MODE_READ_ONLY, MAPFILE_FLAG_GUARD_RAW);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &o, &m));
    if (m == NULL) return;
    CHECK(mapfile_lost_from(m) == MAPFILE_NPOS);
    const char *text = NULL;
    size_t len = 0;
    CHECK_OK(mapfile_chars(m, &text, &len));
    CHECK(truncate(path, PAGE + 100) == 0);
    CHECK(mapfile_lost_from(m) == MAPFILE_NPOS); /* no fault yet: no system call asks */
    volatile char seen = text[3 * PAGE]; /* a raw read past the end: zeros, recorded */
    CHECK(seen == 0);
    CHECK(mapfile_lost_from(m) == PAGE + 100); /* the file's new end: everything after is gone */
    CHECK(text[PAGE] == (char)pattern_byte(PAGE)); /* kept bytes are still there */
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_TRUNCATED);
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_lost_from(m) == MAPFILE_NPOS);
    CHECK(mapfile_len(m) == PAGE + 100);
    CHECK_OK(mapfile_close(m));
    CHECK(mapfile_lost_from(NULL) == MAPFILE_NPOS);
}

TEST(lost_from_is_set_by_a_guarded_call_and_is_a_window_offset) {
    const char *path = scratch_path("lost-from-window");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    mapfile_options o = options_for(MAPFILE_MODE_READ_ONLY, 0);
    o.offset = PAGE + 10;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &o, &m));
    if (m == NULL) return;
    CHECK(truncate(path, 2 * PAGE) == 0);
    unsigned char buffer[16];
    CHECK_STATUS(mapfile_read(m, 2 * PAGE, buffer, 16), MAPFILE_ERR_TRUNCATED);
    /* lost from file offset 2 * PAGE: window offset 2 * PAGE - (PAGE + 10) */
    CHECK(mapfile_lost_from(m) == PAGE - 10);
    CHECK_OK(mapfile_close(m));
}

/* --- mapfile_rfind --------------------------------------------------------------------------- */

TEST(rfind_finds_the_last_match_wholly_before_end) {
    const char *path = scratch_path("rfind");
    const char text[] = "one\ntwo\nthree\nfour";
    CHECK(write_file(path, text, sizeof text - 1) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    uint64_t pos = 0, len = mapfile_len(m);
    CHECK_OK(mapfile_rfind(m, len, "\n", 1, &pos));
    CHECK(pos == 13);
    CHECK_OK(mapfile_rfind(m, 13, "\n", 1, &pos)); /* end is exclusive */
    CHECK(pos == 7);
    CHECK_OK(mapfile_rfind(m, 9, "two", 3, &pos)); /* "two" ends at 7 <= 9 */
    CHECK(pos == 4);
    CHECK_OK(mapfile_rfind(m, 6, "two", 3, &pos)); /* not wholly before 6 */
    CHECK(pos == MAPFILE_NPOS);
    CHECK_OK(mapfile_rfind(m, len, "zzz", 3, &pos));
    CHECK(pos == MAPFILE_NPOS);
    CHECK_OK(mapfile_rfind(m, 5, "", 0, &pos));
    CHECK(pos == 5);
    CHECK_OK(mapfile_rfind(m, 2, "one", 3, &pos)); /* longer than [0, end) */
    CHECK(pos == MAPFILE_NPOS);
    CHECK_STATUS(mapfile_rfind(m, len + 1, "o", 1, &pos), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK_STATUS(mapfile_rfind(m, len, NULL, 1, &pos), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_rfind(m, len, "o", 1, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_rfind(NULL, len, "o", 1, &pos), MAPFILE_ERR_NULL_ARG);
    CHECK_OK(mapfile_close(m));
}

TEST(rfind_over_lost_bytes_is_truncated) {
    const char *path = scratch_path("rfind-truncated");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    CHECK(truncate(path, PAGE) == 0);
    uint64_t pos = 1;
    unsigned char needle = pattern_byte(5);
    CHECK_STATUS(mapfile_rfind(m, 4 * PAGE, &needle, 1, &pos), MAPFILE_ERR_TRUNCATED);
    CHECK(pos == 1);
    CHECK_OK(mapfile_rfind(m, PAGE, &needle, 1, &pos)); /* wholly in the kept bytes */
    CHECK(pos != MAPFILE_NPOS && pos < PAGE);
    CHECK_OK(mapfile_close(m));
}

/* --- mapfile_next_chunk, mapfile_page_size, mapfile_chars ------------------------------------ */

TEST(next_chunk_iterates_the_window_without_allocation) {
    const char *path = scratch_path("chunks");
    size_t size = 3 * PAGE + 123;
    CHECK(write_pattern_file(path, size) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    CHECK(mapfile_page_size() == (size_t)sysconf(_SC_PAGESIZE));
    uint64_t cursor = 0, n = 0, total = 0;
    const uint8_t *p = NULL;
    int chunks = 0, bytes_right = 1;
    while (mapfile_next_chunk(m, mapfile_page_size(), &cursor, &p, &n) == MAPFILE_OK && n > 0) {
        for (uint64_t i = 0; i < n; i++) bytes_right &= p[i] == pattern_byte(total + i);
        total += n;
        chunks++;
        if (chunks > 10) break;
    }
    CHECK(bytes_right);
    CHECK(total == size && chunks == 4 && cursor == size);
    CHECK(n == 0);
    CHECK_OK(mapfile_next_chunk(m, 7, &cursor, &p, &n)); /* at the end: OK, length 0 */
    CHECK(n == 0 && cursor == size);
    cursor = 0;
    CHECK_STATUS(mapfile_next_chunk(m, 0, &cursor, &p, &n), MAPFILE_ERR_INVALID_ARG);
    cursor = size + 1;
    CHECK_STATUS(mapfile_next_chunk(m, 7, &cursor, &p, &n), MAPFILE_ERR_OUT_OF_BOUNDS);
    CHECK(cursor == size + 1);
    CHECK_STATUS(mapfile_next_chunk(m, 7, NULL, &p, &n), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_next_chunk(m, 7, &cursor, NULL, &n), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_next_chunk(m, 7, &cursor, &p, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_OK(mapfile_close(m));
}

TEST(chars_gives_the_whole_window_as_const_char) {
    const char *path = scratch_path("chars");
    CHECK(write_file(path, "hello, world\n", 13) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    const char *text = NULL;
    size_t len = 0;
    CHECK_OK(mapfile_chars(m, &text, &len));
    const uint8_t *bytes = NULL;
    CHECK_OK(mapfile_slice(m, 0, 0, &bytes));
    CHECK(len == 13 && (const void *)text == (const void *)bytes && strncmp(text, "hello, world\n", 13) == 0);
    CHECK_STATUS(mapfile_chars(m, NULL, &len), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_chars(m, &text, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_chars(NULL, &text, &len), MAPFILE_ERR_NULL_ARG);
    CHECK_OK(mapfile_close(m));
}

/* --- MAPFILE_ERR_REPLACED -------------------------------------------------------------------- */

TEST(check_reports_replaced_when_the_path_names_another_file_or_none) {
    const char *path = scratch_path("replaced");
    const char *newer = scratch_path("replaced.new");
    CHECK(write_pattern_file(path, PAGE) == 0);
    mapfile_t *m = NULL, *by_fd = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    int fd = open_read_only_fd(path);
    mapfile_options o = options_for(MAPFILE_MODE_READ_ONLY, 0);
    CHECK_OK(mapfile_open_fd(fd, &o, &by_fd));
    close(fd);
    if (m == NULL || by_fd == NULL) return;
    CHECK_OK(mapfile_check(m));
    CHECK(write_file(newer, "new config", 10) == 0);
    CHECK(rename(newer, path) == 0); /* the config/database replaced by rename */
    errno = 0;
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_REPLACED);
    CHECK(errno == ESTALE);
    CHECK(strstr(mapfile_last_error_message(), "mapfile_check") != NULL);
    CHECK_OK(mapfile_check(by_fd)); /* a descriptor has no name to lose */
    unsigned char byte = 0;
    CHECK_OK(mapfile_read(m, 1, &byte, 1)); /* the mapping still shows the old file */
    CHECK(byte == pattern_byte(1));
    CHECK(unlink(path) == 0);
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_REPLACED);
    CHECK_OK(mapfile_close(m));
    CHECK_OK(mapfile_close(by_fd));
}

TEST(check_prefers_truncated_to_replaced) {
    const char *path = scratch_path("replaced-truncated");
    const char *moved = scratch_path("replaced-truncated.old");
    CHECK(write_pattern_file(path, 2 * PAGE) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    CHECK(rename(path, moved) == 0);
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_REPLACED);
    CHECK(truncate(moved, 10) == 0);
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_TRUNCATED);
    CHECK_OK(mapfile_close(m));
}

/* --- mapfile_watch_fd / mapfile_watch_ack ---------------------------------------------------- */

static int readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 2000) == 1 && (p.revents & POLLIN);
}

static int still_quiet(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

static int append(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

TEST(watch_reports_growth_shrinking_and_replacement) {
    const char *path = scratch_path("watched.log");
    const char *rotated = scratch_path("watched.log.1");
    CHECK(write_file(path, "first\n", 6) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    uint32_t changes = 99;
    CHECK_STATUS(mapfile_watch_ack(m, &changes), MAPFILE_ERR_INVALID_ARG); /* no watch yet */
    int fd = -1, again = -2;
    CHECK_OK(mapfile_watch_fd(m, &fd));
    CHECK_OK(mapfile_watch_fd(m, &again));
    CHECK(fd >= 0 && fd == again);
    CHECK(still_quiet(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK(changes == 0);

    CHECK(append(path, "second\n") == 0);
    CHECK(readable(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK(changes == (MAPFILE_CHANGE_GREW | MAPFILE_CHANGE_MODIFIED));
    CHECK(still_quiet(fd)); /* drained */
    CHECK_OK(mapfile_refresh(m));
    CHECK(mapfile_len(m) == 13);

    CHECK(truncate(path, 0) == 0); /* copytruncate */
    CHECK(readable(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK(changes == (MAPFILE_CHANGE_SHRANK | MAPFILE_CHANGE_MODIFIED));
    CHECK_OK(mapfile_refresh(m));

    CHECK(rename(path, rotated) == 0); /* rotation by rename */
    CHECK(readable(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK((changes & MAPFILE_CHANGE_REPLACED) != 0);
    CHECK(write_file(path, "fresh\n", 6) == 0); /* the new file: no second REPLACED */
    CHECK(readable(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK((changes & MAPFILE_CHANGE_REPLACED) == 0);
    CHECK_STATUS(mapfile_check(m), MAPFILE_ERR_REPLACED);

    CHECK_STATUS(mapfile_watch_fd(m, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_watch_ack(m, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_watch_fd(NULL, &fd), MAPFILE_ERR_NULL_ARG);
    CHECK_OK(mapfile_close(m));
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF); /* closed with the handle */
}

TEST(watch_reports_a_rename_over_and_a_deletion) {
    const char *path = scratch_path("watched.db");
    const char *newer = scratch_path("watched.db.tmp");
    CHECK(write_file(path, "v1", 2) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    int fd = -1;
    uint32_t changes = 0;
    CHECK_OK(mapfile_watch_fd(m, &fd));
    CHECK(write_file(newer, "v2", 2) == 0);
    CHECK(readable(fd)); /* another name in the directory wakes the loop... */
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK(changes == 0); /* ...but changes nothing of ours */
    CHECK(rename(newer, path) == 0);
    CHECK(readable(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK(changes == MAPFILE_CHANGE_REPLACED);
    CHECK_OK(mapfile_close(m));

    /* A descriptor handle: deletion of the file is a replacement too. */
    CHECK(write_file(newer, "v3", 2) == 0);
    int file = open_read_only_fd(newer);
    mapfile_options o = options_for(MAPFILE_MODE_READ_ONLY, 0);
    CHECK_OK(mapfile_open_fd(file, &o, &m));
    close(file);
    if (m == NULL) return;
    CHECK_OK(mapfile_watch_fd(m, &fd));
    CHECK(unlink(newer) == 0);
    CHECK(readable(fd));
    CHECK_OK(mapfile_watch_ack(m, &changes));
    CHECK(changes == MAPFILE_CHANGE_REPLACED);
    CHECK_OK(mapfile_close(m));
}

/* --- pseudo-files ---------------------------------------------------------------------------- */

TEST(pseudo_files_open_read_only_as_a_snapshot_of_their_content) {
    struct stat info;
    if (stat("/proc/self/status", &info) != 0 || info.st_size != 0) {
        SKIP("/proc is not mounted (or reports sizes): no pseudo-file to open");
    }
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open("/proc/self/status", MAPFILE_MODE_READ_ONLY, &m));
    if (m == NULL) return;
    const char *text = NULL;
    size_t len = 0;
    CHECK_OK(mapfile_chars(m, &text, &len));
    CHECK(len > 100 && strncmp(text, "Name:", 5) == 0);
    CHECK(text[len - 1] == '\n');
    uint64_t pos = 0;
    CHECK_OK(mapfile_find(m, 0, "\nPid:", 5, &pos));
    CHECK(pos != MAPFILE_NPOS);
    CHECK_OK(mapfile_check(m));
    CHECK_OK(mapfile_close(m));

    /* Through a descriptor too; a window of it. */
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    mapfile_options o = options_for(MAPFILE_MODE_READ_ONLY, 0);
    o.offset = 1;
    o.len = 4;
    CHECK_OK(mapfile_open_fd(fd, &o, &m));
    close(fd);
    if (m == NULL) return;
    char four[5] = {0};
    CHECK_OK(mapfile_read(m, 0, four, 4));
    CHECK(strcmp(four, "ame:") == 0);
    CHECK_OK(mapfile_close(m));

    /* READ_WRITE on a pseudo-file (comm is writable by its own process) is refused. */
    CHECK_STATUS(mapfile_open("/proc/self/comm", MAPFILE_MODE_READ_WRITE, &m), MAPFILE_ERR_UNSUPPORTED);
    CHECK(strstr(mapfile_last_error_message(), "READ_ONLY") != NULL);
}

TEST(an_empty_regular_file_still_opens_with_length_zero) {
    const char *path = scratch_path("empty");
    CHECK(write_file(path, "", 0) == 0);
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m));
    if (m == NULL) return;
    CHECK(mapfile_len(m) == 0);
    CHECK_OK(mapfile_resize(m, 10)); /* a real file, not a snapshot */
    CHECK_OK(mapfile_close(m));
    CHECK(file_size_of(path) == 10);
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(open_fd_maps_the_descriptor_and_keeps_its_own_duplicate);
    RUN(open_fd_honours_offset_len_and_ignores_create_fields);
    RUN(open_fd_refuses_bad_descriptors_and_modes_the_fd_does_not_allow);
    RUN(lost_from_tells_a_raw_scanner_where_the_lost_bytes_start);
    RUN(lost_from_is_set_by_a_guarded_call_and_is_a_window_offset);
    RUN(rfind_finds_the_last_match_wholly_before_end);
    RUN(rfind_over_lost_bytes_is_truncated);
    RUN(next_chunk_iterates_the_window_without_allocation);
    RUN(chars_gives_the_whole_window_as_const_char);
    RUN(check_reports_replaced_when_the_path_names_another_file_or_none);
    RUN(check_prefers_truncated_to_replaced);
    RUN(watch_reports_growth_shrinking_and_replacement);
    RUN(watch_reports_a_rename_over_and_a_deletion);
    RUN(pseudo_files_open_read_only_as_a_snapshot_of_their_content);
    RUN(an_empty_regular_file_still_opens_with_length_zero);
    FINISH();
}
