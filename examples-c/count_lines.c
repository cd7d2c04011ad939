/* Count the lines of a file (the number of '\n' bytes).
 *
 * Replaces a read()/fgets loop or an mmap + byte loop: mapfile_count_byte counts with SIMD over
 * the mapping, and returns MAPFILE_ERR_TRUNCATED instead of dying if the file shrinks meanwhile. */
#include <stdio.h>

#include "mapfile.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    mapfile_t *file = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    mapfile_advise(file, MAPFILE_ADVICE_SEQUENTIAL);
    uint64_t lines = 0;
    mapfile_status status = mapfile_count_byte(file, 0, mapfile_len(file), '\n', &lines);
    if (status != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        mapfile_close(file);
        return 1;
    }
    printf("%llu lines\n", (unsigned long long)lines);
    return mapfile_close(file) == MAPFILE_OK ? 0 : 1;
}
