/* Random-access reads of 8-byte values, with mapfile_read and with fseek + fread, compared.
 *
 * Replaces the seed's benchmark of mmap against fseek + fread: both walk the same pseudo-random
 * offsets, must produce the same checksum, and their times are printed side by side. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mapfile.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The same sequence of offsets for both readers. */
static uint64_t next_offset(uint64_t *state, uint64_t limit) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (*state >> 17) % limit;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE READS\n", argv[0]);
        return 2;
    }
    long reads = atol(argv[2]);
    mapfile_t *file = NULL;
    if (mapfile_open(argv[1], MAPFILE_MODE_READ_ONLY, &file) != MAPFILE_OK) {
        fprintf(stderr, "%s\n", mapfile_last_error_message());
        return 1;
    }
    uint64_t len = mapfile_len(file);
    if (len < 8) {
        fprintf(stderr, "the file needs at least 8 bytes\n");
        mapfile_close(file);
        return 1;
    }
    mapfile_advise(file, MAPFILE_ADVICE_RANDOM);
    uint64_t state = 42, mapped_sum = 0;
    double start = now_seconds();
    for (long i = 0; i < reads; i++) {
        uint64_t value = 0;
        if (mapfile_read(file, next_offset(&state, len - 7), &value, 8) != MAPFILE_OK) {
            fprintf(stderr, "%s\n", mapfile_last_error_message());
            mapfile_close(file);
            return 1;
        }
        mapped_sum += value;
    }
    double mapped_seconds = now_seconds() - start;
    mapfile_close(file);

    FILE *stream = fopen(argv[1], "rb");
    if (stream == NULL) {
        perror("fopen");
        return 1;
    }
    state = 42;
    uint64_t stream_sum = 0;
    start = now_seconds();
    for (long i = 0; i < reads; i++) {
        uint64_t value = 0;
        if (fseek(stream, (long)next_offset(&state, len - 7), SEEK_SET) != 0 || fread(&value, 8, 1, stream) != 1) {
            perror("fseek/fread");
            fclose(stream);
            return 1;
        }
        stream_sum += value;
    }
    double stream_seconds = now_seconds() - start;
    fclose(stream);

    printf("mapfile_read checksum %llu\n", (unsigned long long)mapped_sum);
    printf("fseek+fread checksum %llu\n", (unsigned long long)stream_sum);
    printf("%s\n", mapped_sum == stream_sum ? "checksums match" : "CHECKSUMS DIFFER");
    printf("time: mapfile_read %.1f ns/read, fseek+fread %.1f ns/read\n", mapped_seconds * 1e9 / (double)reads,
           stream_seconds * 1e9 / (double)reads);
    return mapped_sum == stream_sum ? 0 : 1;
}
