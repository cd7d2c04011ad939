/* A program outside the project, built against an installed (or embedded) libmapfile: counts the
 * lines of the file it is given and checks the library's version against the header's. */
#include <stdio.h>
#include <string.h>

#include <mapfile.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (strcmp(mapfile_version(), MAPFILE_VERSION) != 0) {
        fprintf(stderr, "header %s, library %s\n", MAPFILE_VERSION, mapfile_version());
        return 1;
    }
    mapfile_t *file = NULL;
    uint64_t lines = 0;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &file) != MAPFILE_OK ||
        mapfile_count_byte(file, 0, mapfile_len(file), '\n', &lines) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    printf("consumer: %llu lines with libmapfile %s\n", (unsigned long long)lines, mapfile_version());
    return mapfile_close(file) == MAPFILE_OK ? 0 : 1;
}
