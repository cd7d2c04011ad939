/* Overlay fixed-size binary records (u32 id, f64 value) on a mapped file, after checking that the
 * file holds a whole number of records and that the mapping is aligned for them.
 *
 * Replaces mmap + a cast to `struct record *` with no checks: a file whose size is not a multiple
 * of the record size, or a mapping at an unaligned address, is reported instead of read wrongly. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mapfile.h"

struct record {
    uint32_t id;
    double value;
};

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s RECORDS_FILE\n", argv[0]);
        return 2;
    }
    mapfile_t *file = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    uint64_t len = mapfile_len(file);
    if (len % sizeof(struct record) != 0) {
        fprintf(stderr, "%llu bytes is not a whole number of %zu-byte records\n", (unsigned long long)len,
                sizeof(struct record));
        mapfile_close(file);
        return 1;
    }
    const uint8_t *bytes = NULL;
    if (mapfile_slice(file, 0, len, &bytes) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        mapfile_close(file);
        return 1;
    }
    struct alignment_probe {
        char byte;
        struct record record;
    };
    if ((uintptr_t)bytes % offsetof(struct alignment_probe, record) != 0) {
        fprintf(stderr, "the mapping is not aligned for records\n");
        mapfile_close(file);
        return 1;
    }
    const struct record *records = (const struct record *)(const void *)bytes;
    size_t count = (size_t)(len / sizeof(struct record));
    double sum = 0;
    for (size_t i = 0; i < count; i++) sum += records[i].value;
    printf("%zu records\n", count);
    if (count > 0) {
        printf("first id %u value %.3f\n", records[0].id, records[0].value);
        printf("last id %u value %.3f\n", records[count - 1].id, records[count - 1].value);
    }
    printf("sum of values %.3f\n", sum);
    return mapfile_close(file) == MAPFILE_OK ? 0 : 1;
}
