/* Overwrite bytes of a file in place and make the change durable.
 *
 * Replaces open(O_RDWR) + mmap(PROT_WRITE, MAP_SHARED) + memcpy + msync(MS_SYNC) + munmap:
 * mapfile_write is bounds-checked (a patch past the end is an error, not a SIGBUS or a silent
 * miss), and mapfile_flush returns only once the bytes are on stable storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapfile.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s FILE OFFSET TEXT\n", argv[0]);
        return 2;
    }
    unsigned long long offset = strtoull(argv[2], NULL, 10);
    const char *text = argv[3];
    mapfile_t *file = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_WRITE, &file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    if (mapfile_write(file, offset, text, strlen(text)) != MAPFILE_OK ||
        mapfile_flush_range(file, offset, strlen(text)) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        mapfile_close(file);
        return 1;
    }
    printf("patched %zu bytes at offset %llu\n", strlen(text), offset);
    return mapfile_close(file) == MAPFILE_OK ? 0 : 1;
}
