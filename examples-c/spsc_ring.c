/* spsc_ring: a single-producer/single-consumer byte ring between two processes over a memfd.
 * The parent makes the memory with mapfile_open_memfd (sealed: neither side can make the other
 * SIGBUS), the child inherits the descriptor and maps it with mapfile_open_fd, as a process that
 * received it by SCM_RIGHTS would. Each side blocks with mapfile_atomic_u32_wait when the ring is
 * full or empty and the other wakes it with mapfile_atomic_u32_wake: no spinning. Messages are
 * [u32 length][payload][u32 FNV-1a of the payload], wrapping around the ring's end.
 *
 * usage: spsc_ring MESSAGES [RING_BYTES]
 * the producer prints "sent N messages, B bytes, sum S", the consumer "received N messages,
 * B bytes, sum S, bad K"; exits 0 when both agree and no checksum failed */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapfile.h"

/* The shared layout: two free-running byte counters (mod 2^32) on their own cache lines, then
 * the ring. HEAD counts bytes produced, TAIL bytes consumed; HEAD - TAIL bytes are in flight. */
enum { HEAD = 0, TAIL = 64, DATA = 128, MAX_PAYLOAD = 1000 };

static uint32_t ring_bytes;

static uint32_t fnv1a(const unsigned char *bytes, uint32_t len) {
    uint32_t hash = 2166136261u;
    for (uint32_t i = 0; i < len; i++) hash = (hash ^ bytes[i]) * 16777619u;
    return hash;
}

static int fail(const char *who, const char *what) {
    fprintf(stderr, "spsc_ring %s: %s: %s\n", who, what, mapfile_last_error_message());
    return 1;
}

/* Waits until the u32 at `offset` is no longer `seen` (re-checking after every wake-up). */
static int wait_change(mapfile_t *m, uint64_t offset, uint32_t seen) {
    uint32_t now = seen;
    while (mapfile_atomic_u32_load(m, offset, &now) == MAPFILE_OK && now == seen) {
        if (mapfile_atomic_u32_wait(m, offset, seen, UINT64_MAX) != MAPFILE_OK) return -1;
    }
    return now == seen ? -1 : 0;
}

/* Copies `len` bytes at ring position `at` (any counter value), wrapping around the end. */
static int ring_put(mapfile_t *m, uint32_t at, const void *bytes, uint32_t len) {
    uint32_t start = at % ring_bytes, first = len < ring_bytes - start ? len : ring_bytes - start;
    if (mapfile_write(m, DATA + start, bytes, first) != MAPFILE_OK) return -1;
    return mapfile_write(m, DATA, (const unsigned char *)bytes + first, len - first);
}

static int ring_get(mapfile_t *m, uint32_t at, void *bytes, uint32_t len) {
    uint32_t start = at % ring_bytes, first = len < ring_bytes - start ? len : ring_bytes - start;
    if (mapfile_read(m, DATA + start, bytes, first) != MAPFILE_OK) return -1;
    return mapfile_read(m, DATA, (unsigned char *)bytes + first, len - first);
}

static int produce(mapfile_t *m, unsigned long messages) {
    unsigned char record[4 + MAX_PAYLOAD + 4];
    uint32_t head = 0, tail = 0, random = 12345;
    unsigned long long bytes = 0, sum = 0;
    for (unsigned long i = 0; i < messages; i++) {
        random = random * 1103515245u + 12345u;
        uint32_t len = (random >> 8) % (MAX_PAYLOAD + 1);
        for (uint32_t b = 0; b < len; b++) record[4 + b] = (unsigned char)(i * 31 + b * 7);
        uint32_t hash = fnv1a(record + 4, len);
        memcpy(record, &len, 4);
        memcpy(record + 4 + len, &hash, 4);
        uint32_t size = len + 8;
        /* room: wait while the consumer has not freed enough */
        while (head - tail + size > ring_bytes) {
            if (mapfile_atomic_u32_load(m, TAIL, &tail) != MAPFILE_OK) return fail("producer", "load");
            if (head - tail + size > ring_bytes && wait_change(m, TAIL, tail) != 0)
                return fail("producer", "wait");
        }
        if (ring_put(m, head, record, size) != MAPFILE_OK) return fail("producer", "write");
        head += size;
        /* publish the bytes (the store is sequentially consistent), then wake the consumer */
        if (mapfile_atomic_u32_store(m, HEAD, head) != MAPFILE_OK) return fail("producer", "store");
        if (mapfile_atomic_u32_wake(m, HEAD, 1, NULL) != MAPFILE_OK) return fail("producer", "wake");
        bytes += len;
        sum += hash;
    }
    printf("sent %lu messages, %llu bytes, sum %llu\n", messages, bytes, sum);
    return 0;
}

static int consume(mapfile_t *m, unsigned long messages) {
    unsigned char record[MAX_PAYLOAD + 4];
    uint32_t head = 0, tail = 0;
    unsigned long long bytes = 0, sum = 0, bad = 0;
    for (unsigned long i = 0; i < messages; i++) {
        while (head == tail) {
            if (mapfile_atomic_u32_load(m, HEAD, &head) != MAPFILE_OK) return fail("consumer", "load");
            if (head == tail && wait_change(m, HEAD, head) != 0) return fail("consumer", "wait");
        }
        uint32_t len = 0, hash = 0;
        if (ring_get(m, tail, &len, 4) != MAPFILE_OK || len > MAX_PAYLOAD ||
            ring_get(m, tail + 4, record, len + 4) != MAPFILE_OK)
            return fail("consumer", "read");
        memcpy(&hash, record + len, 4);
        if (fnv1a(record, len) != hash) bad++;
        tail += len + 8;
        if (mapfile_atomic_u32_store(m, TAIL, tail) != MAPFILE_OK) return fail("consumer", "store");
        if (mapfile_atomic_u32_wake(m, TAIL, 1, NULL) != MAPFILE_OK) return fail("consumer", "wake");
        bytes += len;
        sum += hash;
    }
    printf("received %lu messages, %llu bytes, sum %llu, bad %llu\n", messages, bytes, sum, bad);
    return bad != 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s MESSAGES [RING_BYTES]\n", argv[0]);
        return 2;
    }
    unsigned long messages = strtoul(argv[1], NULL, 10);
    ring_bytes = argc == 3 ? (uint32_t)strtoul(argv[2], NULL, 10) : 4096;
    if (ring_bytes < MAX_PAYLOAD + 8) {
        fprintf(stderr, "spsc_ring: RING_BYTES must be at least %d\n", MAX_PAYLOAD + 8);
        return 2;
    }
    mapfile_t *producer = NULL;
    if (mapfile_open_memfd("spsc-ring", DATA + (uint64_t)ring_bytes, 0, &producer) != MAPFILE_OK)
        return fail("producer", "mapfile_open_memfd");
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        /* the consumer maps the descriptor it inherited, as a receiver of SCM_RIGHTS would */
        int fd = mapfile_fd(producer);
        mapfile_options options;
        mapfile_options_init(&options);
        options.mode = MAPFILE_MODE_READ_WRITE;
        mapfile_t *consumer = NULL;
        if (mapfile_open_fd(fd, &options, &consumer) != MAPFILE_OK)
            _exit(fail("consumer", "mapfile_open_fd"));
        mapfile_close(producer); /* the consumer uses only its own handle */
        int result = consume(consumer, messages);
        fflush(stdout);
        _exit(result | (mapfile_close(consumer) != MAPFILE_OK));
    }
    int result = produce(producer, messages);
    fflush(stdout);
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        result = 1;
    if (mapfile_close(producer) != MAPFILE_OK) result = fail("producer", "close");
    return result;
}
