/* scan_fd: the porting recipe of docs/MIGRATION.md for a read-only scanner, as grep-like tools
 * have it: the program opens and fstat-checks each file itself (it needs the descriptor anyway),
 * maps the descriptor with GUARD_RAW, scans the text with its own code and prints matching lines
 * as it goes, stops before bytes lost to a truncation (mapfile_lost_from, no system call), and
 * checks the file at the end.
 *
 * usage: scan_fd WORD FILE...   prints "FILE:LINE_NUMBER:LINE" for each line containing WORD */
#define _POSIX_C_SOURCE 200809L /* fstat's S_ISREG, strdup-free */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"

/* Whether [line, end) contains word (a plain search, as the legacy code had it). */
static int contains(const char *line, const char *end, const char *word, size_t word_len) {
    for (const char *p = line; p + word_len <= end; p++) {
        if (memcmp(p, word, word_len) == 0) return 1;
    }
    return 0;
}

static int scan(const char *name, int fd, const char *word) {
    mapfile_options options;
    mapfile_options_init(&options);
    options.flags = MAPFILE_FLAG_GUARD_RAW;
    mapfile_t *m = NULL;
    if (mapfile_open_fd(fd, &options, &m) != MAPFILE_OK) {
        fprintf(stderr, "scan_fd: %s: %s\n", name, mapfile_last_error_message());
        return 1;
    }
    const char *text = NULL;
    size_t len = 0;
    mapfile_chars(m, &text, &len);
    size_t word_len = strlen(word);
    unsigned long number = 0;
    int result = 0;
    for (const char *line = text; line < text + len;) {
        const char *end = memchr(line, '\n', (size_t)(text + len - line));
        end = end ? end + 1 : text + len;
        number++;
        if ((uint64_t)(end - text) > mapfile_lost_from(m)) { /* the rest is gone: no zeros as data */
            fprintf(stderr, "scan_fd: %s: file truncated while reading\n", name);
            result = 1;
            break;
        }
        if (contains(line, end, word, word_len)) {
            printf("%s:%lu:%.*s", name, number, (int)(end - line), line);
            if (end[-1] != '\n') putchar('\n');
        }
        line = end;
    }
    mapfile_status status = mapfile_check(m);
    if (status != MAPFILE_OK && result == 0) {
        fprintf(stderr, "scan_fd: %s: %s\n", name, mapfile_last_error_message());
        result = 1;
    }
    mapfile_close(m);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s WORD FILE...\n", argv[0]);
        return 2;
    }
    int failed = 0;
    for (int i = 2; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        struct stat info;
        if (fd < 0 || fstat(fd, &info) != 0) {
            perror(argv[i]);
            failed = 1;
            if (fd >= 0) close(fd);
            continue;
        }
        if (S_ISREG(info.st_mode)) failed |= scan(argv[i], fd, argv[1]); /* the legacy check */
        close(fd);                                                       /* ours to close */
    }
    return failed;
}
