/* The header compiles standalone (nothing included before it), twice, as C89 to C11 and C++, and
 * its version macros agree with the library's mapfile_version(). C89: declarations first, no //. */
#include "mapfile.h"
#include "mapfile.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    mapfile_options options;
    mapfile_t *handle = NULL;
    /* Status macros are parenthesised: without it this is `3--1`, which does not compile. */
    int difference = 3-MAPFILE_ERR_NULL_ARG;
    if (difference != 4 || sizeof MAPFILE_ERR_NULL_ARG != sizeof(int)) return 1;
    mapfile_options_init(&options);
    if (options.version != MAPFILE_OPTIONS_VERSION) return 1;
    if (strcmp(mapfile_version(), MAPFILE_VERSION) != 0) {
        fprintf(stderr, "header %s, library %s\n", MAPFILE_VERSION, mapfile_version());
        return 1;
    }
    if (mapfile_abi_version() != MAPFILE_ABI_VERSION || MAPFILE_ABI_VERSION != MAPFILE_VERSION_MAJOR) return 1;
    return mapfile_open(NULL, MAPFILE_MODE_READ_ONLY, &handle) == MAPFILE_ERR_NULL_ARG ? 0 : 1;
}
