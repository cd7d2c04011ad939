/* The same job as sigbus_raw.c with mapfile: no signal handler, no sigsetjmp. Library calls over
 * the lost bytes return MAPFILE_ERR_TRUNCATED, the rest keeps working, mapfile_check reports the
 * truncation and mapfile_refresh adopts the new length. */
#define _POSIX_C_SOURCE 200809L /* truncate */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapfile.h"

enum { PAGE = 4096, SIZE = 4 * PAGE };

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s NEW_FILE\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    mapfile_t *file = NULL;
    if (mapfile_create(path, SIZE, &file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    uint8_t *bytes = NULL;
    mapfile_slice_mut(file, 0, SIZE, &bytes);
    memset(bytes, 'x', SIZE);
    mapfile_flush(file);

    pid_t other = fork(); /* another process shrinks the file to one page */
    if (other == 0) _exit(truncate(path, PAGE) == 0 ? 0 : 1);
    waitpid(other, NULL, 0);

    char byte = 0;
    mapfile_status status = mapfile_read(file, 0, &byte, 1);
    printf("byte 0: %s %c\n", mapfile_strerror(status), byte);
    status = mapfile_read(file, SIZE - 1, &byte, 1);
    printf("last byte: %s\n", mapfile_strerror(status));
    printf("check: %s\n", mapfile_strerror(mapfile_check(file)));
    mapfile_refresh(file);
    printf("after refresh: %llu bytes, check: %s\n", (unsigned long long)mapfile_len(file),
           mapfile_strerror(mapfile_check(file)));
    return mapfile_close(file) == MAPFILE_OK ? 0 : 1;
}
