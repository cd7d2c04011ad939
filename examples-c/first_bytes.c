/* Print the first byte of a file and the byte at offset 1000.
 *
 * Replaces the hand-written open + fstat + mmap + index + munmap + close sequence (and its
 * forgotten error checks): mapfile_open maps the whole file, mapfile_read is bounds-checked, so a
 * file shorter than 1001 bytes is a clear message instead of a read past the mapping. */
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
    int result = 0;
    unsigned char first = 0, at_1000 = 0;
    if (mapfile_read(file, 0, &first, 1) == MAPFILE_OK) {
        printf("first byte: %u\n", first);
    } else {
        printf("the file is empty\n");
    }
    if (mapfile_read(file, 1000, &at_1000, 1) == MAPFILE_OK) {
        printf("byte at offset 1000: %u\n", at_1000);
    } else {
        printf("no byte at offset 1000: the file has %llu bytes\n", (unsigned long long)mapfile_len(file));
    }
    if (mapfile_close(file) != MAPFILE_OK) result = 1;
    return result;
}
