/* Create a 1 MiB file, write "Hello, mmap!" at offset 100, flush, reopen read-only and verify.
 *
 * Replaces open(O_CREAT) + ftruncate + mmap + memcpy + msync + munmap + open + mmap + memcmp:
 * mapfile_create reserves the disk blocks (a full disk fails here, not with a SIGBUS later) and
 * refuses to clobber an existing file. */
#include <stdio.h>
#include <string.h>

#include "mapfile.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s NEW_FILE\n", argv[0]);
        return 2;
    }
    const char message[] = "Hello, mmap!";
    const size_t message_len = sizeof message - 1;
    mapfile_t *file = NULL;
    if (mapfile_create(argv[1], 1024 * 1024, &file) != MAPFILE_OK ||
        mapfile_write(file, 100, message, message_len) != MAPFILE_OK || mapfile_flush(file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        mapfile_close(file);
        return 1;
    }
    mapfile_close(file);

    mapfile_t *again = NULL;
    const uint8_t *seen = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &again) != MAPFILE_OK ||
        mapfile_slice(again, 100, message_len, &seen) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        mapfile_close(again);
        return 1;
    }
    int same = memcmp(seen, message, message_len) == 0;
    printf("%s: %.*s\n", same ? "verified" : "MISMATCH", (int)message_len, (const char *)seen);
    mapfile_close(again);
    return same ? 0 : 1;
}
