/* Find every occurrence of a byte pattern in a file and print its offset.
 *
 * Replaces an mmap + hand-written sliding-window comparison: mapfile_find searches the mapping
 * with a SIMD substring search and never reads past the end. */
#include <stdio.h>
#include <string.h>

#include "mapfile.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE PATTERN\n", argv[0]);
        return 2;
    }
    mapfile_t *file = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    const char *pattern = argv[2];
    size_t pattern_len = strlen(pattern);
    uint64_t from = 0, position = 0, found = 0;
    while (from <= mapfile_len(file)) {
        if (mapfile_find(file, from, pattern, pattern_len, &position) != MAPFILE_OK) {
            fprintf(stderr, "%s\n", mapfile_last_error_message());
            mapfile_close(file);
            return 1;
        }
        if (position == MAPFILE_NPOS) break;
        printf("found at offset %llu\n", (unsigned long long)position);
        found++;
        from = position + (pattern_len ? pattern_len : 1);
    }
    if (found == 0) printf("not found\n");
    return mapfile_close(file) == MAPFILE_OK ? 0 : 1;
}
