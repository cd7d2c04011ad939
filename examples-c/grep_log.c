/* Print every line of a log that contains a pattern, with the offset where the line starts.
 *
 * Replaces an mmap + search + "walk back to the previous newline" loop (the seed's Python
 * mmap + regex example): mapfile_find locates the pattern, the line bounds come from the
 * zero-copy slice, and nothing is copied but the printed lines. */
#include <stdio.h>
#include <string.h>

#include "mapfile.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LOGFILE PATTERN\n", argv[0]);
        return 2;
    }
    mapfile_t *log = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &log) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    const char *pattern = argv[2];
    size_t pattern_len = strlen(pattern);
    uint64_t len = mapfile_len(log);
    const uint8_t *bytes = NULL;
    if (mapfile_slice(log, 0, len, &bytes) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        mapfile_close(log);
        return 1;
    }
    uint64_t from = 0, match = 0;
    while (pattern_len > 0 && mapfile_find(log, from, pattern, pattern_len, &match) == MAPFILE_OK &&
           match != MAPFILE_NPOS) {
        uint64_t start = match, end = match;
        while (start > 0 && bytes[start - 1] != '\n') start--;
        while (end < len && bytes[end] != '\n') end++;
        printf("%llu: %.*s\n", (unsigned long long)start, (int)(end - start), (const char *)bytes + start);
        from = end; /* one line printed once, however many matches it has */
    }
    return mapfile_close(log) == MAPFILE_OK ? 0 : 1;
}
