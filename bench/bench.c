/* The benchmark of PERFORMANCE.md: every scenario (S1-S13) and its peers measured side by side in
 * ONE process, each repeated, medians compared as ratios (absolute times drift between runs on
 * shared machines; ratios measured in the same run do not).
 *
 *   bench DIR [SIZE_MIB]     (make bench: DIR = build/bench, SIZE_MIB = 1024)
 *
 * It writes a text log of SIZE_MIB in DIR once (kept for later runs), then prints one table:
 * scenario, mapfile, peer, ratio, target, met/missed. Cold-cache runs evict the file with
 * posix_fadvise(POSIX_FADV_DONTNEED). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mapfile.h"

enum { REPEATS = 5, RANDOM_READS = 2000000, OPEN_CLOSE_ROUNDS = 2000, WRITE_CHUNK = 4096 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench: %s: %s (%s)\n", what, strerror(errno), mapfile_last_error_message());
    exit(1);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n) {
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* The same newline count for every peer: memchr over a buffer. */
static uint64_t count_newlines(const char *bytes, size_t len) {
    uint64_t count = 0;
    const char *end = bytes + len;
    while (bytes < end) {
        const char *hit = memchr(bytes, '\n', (size_t)(end - bytes));
        if (hit == NULL) break;
        count++;
        bytes = hit + 1;
    }
    return count;
}

static volatile uint64_t sink; /* keeps results alive */

/* --- the table --- */

struct row {
    const char *id, *scenario, *unit, *peer, *target;
    double ours, theirs, ratio;
    int met;
};
static struct row rows[32];
static int row_count;

/* higher_is_better: throughput (ratio = ours / peer); else time per op (ratio = ours / peer, lower
 * is better). `limit` is the target ratio. */
static void report(const char *id, const char *scenario, const char *unit, double ours, const char *peer,
                   double theirs, int higher_is_better, double limit, const char *target) {
    struct row *row = &rows[row_count++];
    row->id = id;
    row->scenario = scenario;
    row->unit = unit;
    row->peer = peer;
    row->target = target;
    row->ours = ours;
    row->theirs = theirs;
    row->ratio = ours / theirs;
    row->met = higher_is_better ? row->ratio >= limit : row->ratio <= limit;
    fprintf(stderr, "  %s %-40s %10.2f vs %-26s %10.2f %s -> %.3fx\n", id, scenario, ours, peer, theirs, unit, row->ratio);
}

/* --- the data --- */

static const char *data_path;
static size_t data_size;

static void make_data(const char *dir, size_t size) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/bench-%zuMiB.log", dir, size >> 20);
    data_path = path;
    data_size = size;
    struct stat info;
    if (stat(path, &info) == 0 && (size_t)info.st_size == size) return;
    fprintf(stderr, "writing %s (%zu MiB of log lines)...\n", path, size >> 20);
    FILE *file = fopen(path, "wb");
    if (file == NULL) die("fopen");
    char line[256];
    size_t written = 0;
    uint64_t state = 1;
    while (written < size) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        int n = snprintf(line, sizeof line, "2026-11-22T10:%02u:%02u.%06u INFO worker-%u request %llu took %u us\n",
                         (unsigned)(state >> 10) % 60, (unsigned)(state >> 20) % 60, (unsigned)(state >> 30) % 1000000,
                         (unsigned)(state >> 40) % 16, (unsigned long long)(state >> 24), (unsigned)(state >> 50) % 5000);
        size_t take = (size_t)n < size - written ? (size_t)n : size - written;
        fwrite(line, 1, take, file);
        written += take;
    }
    if (fflush(file) != 0 || fsync(fileno(file)) != 0 || fclose(file) != 0) die("writing the data");
}

static void warm(void) {
    int fd = open(data_path, O_RDONLY);
    static char buffer[1 << 20];
    while (read(fd, buffer, sizeof buffer) > 0) {
    }
    close(fd);
}

static void evict(void) {
    int fd = open(data_path, O_RDONLY);
    if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) die("posix_fadvise");
    close(fd);
}

struct raw_map {
    int fd;
    char *bytes;
};

static struct raw_map raw_open(void) {
    struct raw_map map;
    map.fd = open(data_path, O_RDONLY);
    map.bytes = mmap(NULL, data_size, PROT_READ, MAP_SHARED, map.fd, 0);
    if (map.fd < 0 || map.bytes == MAP_FAILED) die("raw mmap");
    return map;
}

static void raw_close(struct raw_map map) {
    munmap(map.bytes, data_size);
    close(map.fd);
}

static mapfile_t *ours_open(void) {
    mapfile_t *m = NULL;
    if (mapfile_open(data_path, MAPFILE_MODE_READ_ONLY, &m) != MAPFILE_OK) die("mapfile_open");
    return m;
}

/* read(1 MiB) + memchr: the "BufReader" peer. */
static uint64_t read_loop_count(void) {
    int fd = open(data_path, O_RDONLY);
    static char buffer[1 << 20];
    uint64_t count = 0;
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0) count += count_newlines(buffer, (size_t)got);
    close(fd);
    return count;
}

/* --- scenarios --- */

static void scans(void) {
    double raw[REPEATS], slice[REPEATS], guarded[REPEATS], reads[REPEATS], resident[REPEATS], find[REPEATS], memmem_times[REPEATS],
        lines[REPEATS];
    struct raw_map map = raw_open();
    mapfile_t *m = ours_open();
    const uint8_t *view = NULL;
    if (mapfile_slice(m, 0, data_size, &view) != MAPFILE_OK) die("mapfile_slice");
    char *copy = malloc(data_size);
    if (copy == NULL) die("malloc");
    memcpy(copy, map.bytes, data_size);
    uint64_t expected = count_newlines(map.bytes, data_size);
    const char needle[16] = {'#', '#', 'a', 'b', 's', 'e', 'n', 't', '-', 'n', 'e', 'e', 'd', 'l', 'e', '#'};
    double gb = (double)data_size / 1e9;
    for (int r = 0; r < REPEATS; r++) {
        /* raw and slice alternate which goes first, so neither always gets the warmer caches */
        uint64_t a = 0, b = 0;
        for (int turn = 0; turn < 2; turn++) {
            double t = now();
            if ((turn + r) % 2 == 0) {
                a = count_newlines(map.bytes, data_size);
                raw[r] = gb / (now() - t);
            } else {
                b = count_newlines((const char *)view, data_size);
                slice[r] = gb / (now() - t);
            }
        }
        double t = now();
        uint64_t c = 0;
        if (mapfile_count_byte(m, 0, data_size, '\n', &c) != MAPFILE_OK) die("mapfile_count_byte");
        guarded[r] = gb / (now() - t);
        t = now();
        uint64_t d = read_loop_count();
        reads[r] = gb / (now() - t);
        t = now();
        uint64_t e = count_newlines(copy, data_size);
        resident[r] = gb / (now() - t);
        if (a != expected || b != expected || c != expected || d != expected || e != expected) {
            fprintf(stderr, "bench: the counts disagree\n");
            exit(1);
        }
        t = now();
        uint64_t position = 0;
        if (mapfile_find(m, 0, needle, sizeof needle, &position) != MAPFILE_OK || position != MAPFILE_NPOS) die("find");
        find[r] = gb / (now() - t);
        t = now();
        sink += memmem(map.bytes, data_size, needle, sizeof needle) != NULL;
        memmem_times[r] = gb / (now() - t);
        /* S15: a log read line by line, one guarded find of the next newline per line (the
         * peer is S1's raw loop, which is exactly that with memchr on a raw mapping) */
        t = now();
        uint64_t f = 0;
        for (uint64_t at = 0; mapfile_find(m, at, "\n", 1, &position) == MAPFILE_OK && position != MAPFILE_NPOS;
             at = position + 1)
            f++;
        lines[r] = gb / (now() - t);
        if (f != expected) die("the line count of S15 disagrees");
    }
    double raw_m = median(raw, REPEATS), reads_m = median(reads, REPEATS), guarded_m = median(guarded, REPEATS);
    report("S1", "scan warm: mapfile_slice + memchr", "GB/s", median(slice, REPEATS), "raw mmap + memchr", raw_m, 1, 0.97, ">= 0.97x");
    report("S2", "scan warm: mapfile_count_byte", "GB/s", guarded_m, "raw mmap + memchr", raw_m, 1, 0.95, ">= 0.95x");
    report("S2", "scan warm: mapfile_count_byte", "GB/s", guarded_m, "read(1 MiB) + memchr", reads_m, 1, 2.0, ">= 2x");
    report("--", "limit: memchr over resident memory", "GB/s", median(resident, REPEATS), "raw mmap + memchr", raw_m, 1, 0.0, "(info)");
    report("S9", "find 16-byte needle, absent", "GB/s", median(find, REPEATS), "memmem on raw mmap", median(memmem_times, REPEATS), 1, 0.9, ">= 0.9x");
    report("S15", "lines one by one: mapfile_find of \"\\n\"", "GB/s", median(lines, REPEATS), "raw mmap + memchr per line", raw_m, 1, 0.67,
           ">= 0.67x");
    free(copy);
    mapfile_close(m);
    raw_close(map);
}

static uint64_t *random_offsets;

static void make_offsets(void) {
    random_offsets = malloc(sizeof(uint64_t) * RANDOM_READS);
    uint64_t state = 7;
    for (int i = 0; i < RANDOM_READS; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        random_offsets[i] = (state >> 11) % (data_size - 8);
    }
}

struct reader {
    mapfile_t *m;
    const char *raw; /* when set, read the raw mapping instead (the machine's own scaling) */
    double ns_per_read;
};

static void *guarded_random_reads(void *argument) {
    struct reader *reader = argument;
    uint64_t sum = 0;
    double t = now();
    if (reader->raw != NULL) {
        for (int i = 0; i < RANDOM_READS; i++) {
            uint64_t value;
            memcpy(&value, reader->raw + random_offsets[i], 8);
            sum += value;
        }
    } else {
        for (int i = 0; i < RANDOM_READS; i++) {
            uint64_t value;
            mapfile_read(reader->m, random_offsets[i], &value, 8);
            sum += value;
        }
    }
    reader->ns_per_read = (now() - t) * 1e9 / RANDOM_READS;
    sink += sum;
    return NULL;
}

/* The fair peer of a library call (issue 12): a minimal non-inlined C accessor over a raw
 * mapping, bounds check + memcpy, as a hand-written wrapper library would have it. Compiled as
 * the separate function such a library exports: with plain `noinline`, gcc cloned it for the
 * caller's constant length and passed the struct's fields in registers (constprop + isra:
 * 8 instructions, memcpy folded into one load and store), which no call into a library gets.
 * gcc's `noipa` forbids that; clang does not clone, and external linkage keeps it from
 * propagating the caller's constants. It lives in this program, so it is called directly,
 * without the PLT jump every call into libmapfile.so takes (guard_model.c's accessor lives in
 * a shared library and pays it). */
#if defined(__clang__)
#define LIBRARY_FUNCTION __attribute__((noinline))
#else
#define LIBRARY_FUNCTION __attribute__((noipa))
#endif

struct accessor {
    char *bytes;
    uint64_t len;
};

int accessor_read(const struct accessor *a, uint64_t offset, void *into, size_t len);
int accessor_write(const struct accessor *a, uint64_t offset, const void *from, size_t len);
int accessor_load(const struct accessor *a, uint64_t offset, uint64_t *out);

LIBRARY_FUNCTION int accessor_read(const struct accessor *a, uint64_t offset, void *into, size_t len) {
    if (offset > a->len || len > a->len - offset) return -1;
    memcpy(into, a->bytes + offset, len);
    return 0;
}

LIBRARY_FUNCTION int accessor_write(const struct accessor *a, uint64_t offset, const void *from, size_t len) {
    if (offset > a->len || len > a->len - offset) return -1;
    memcpy(a->bytes + offset, from, len);
    return 0;
}

LIBRARY_FUNCTION int accessor_load(const struct accessor *a, uint64_t offset, uint64_t *out) {
    if (offset > a->len || 8 > a->len - offset || offset % 8 != 0) return -1;
    *out = __atomic_load_n((const uint64_t *)(const void *)(a->bytes + offset), __ATOMIC_SEQ_CST);
    return 0;
}

/* The loops the instruction counts (`bench --instructions`, under callgrind) and the timed rows
 * share: `n` calls at precomputed random offsets inside a scratch file (`call_offsets`, made
 * before the loop runs), one loop per kind of call, so that each iteration is the call and the
 * least a loop needs (load the offset, set the arguments, count): "a fixed loop, divided". */
enum { CALL_READ, CALL_WRITE, CALL_LOAD };

static uint64_t *call_offsets;

/* The first `n` `call_offsets` for a scratch file of `len` bytes (from `random_offsets`, which
 * holds `n`): 8-aligned when `aligned` (the atomics). */
static void make_call_offsets(uint64_t len, int aligned, int n) {
    free(call_offsets);
    call_offsets = malloc(sizeof(uint64_t) * (size_t)n);
    if (!call_offsets) die("malloc");
    for (int i = 0; i < n; i++) {
        call_offsets[i] = random_offsets[i] % (len - 8);
        if (aligned) call_offsets[i] &= ~(uint64_t)7;
    }
}

__attribute__((noinline)) static uint64_t count_calls_mapfile(mapfile_t *m, int call, int n) {
    uint64_t value = 1;
    const uint64_t *offsets = call_offsets;
    if (call == CALL_READ)
        for (int i = 0; i < n; i++) mapfile_read(m, offsets[i], &value, 8);
    else if (call == CALL_WRITE)
        for (int i = 0; i < n; i++) mapfile_write(m, offsets[i], &value, 8);
    else
        for (int i = 0; i < n; i++) mapfile_atomic_u64_load(m, offsets[i], &value);
    return value;
}

__attribute__((noinline)) static uint64_t count_calls_accessor(const struct accessor *a, int call, int n) {
    uint64_t value = 1;
    const uint64_t *offsets = call_offsets;
    if (call == CALL_READ)
        for (int i = 0; i < n; i++) accessor_read(a, offsets[i], &value, 8);
    else if (call == CALL_WRITE)
        for (int i = 0; i < n; i++) accessor_write(a, offsets[i], &value, 8);
    else
        for (int i = 0; i < n; i++) accessor_load(a, offsets[i], &value);
    return value;
}

/* A scratch file of `len` bytes in `dir`, mapped by the library and by hand: the two peers of
 * S3c and of the instruction counts. */
struct scratch {
    char path[4096];
    mapfile_t *m;
    int fd;
    struct accessor raw;
};

static void scratch_open(struct scratch *s, const char *dir, const char *name, uint64_t len) {
    snprintf(s->path, sizeof s->path, "%s/%s", dir, name);
    unlink(s->path);
    s->m = NULL;
    if (mapfile_create(s->path, len, &s->m) != MAPFILE_OK) die("mapfile_create");
    s->fd = open(s->path, O_RDWR);
    s->raw.bytes = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    s->raw.len = len;
    if (s->fd < 0 || s->raw.bytes == MAP_FAILED) die("mmap");
}

static void scratch_close(struct scratch *s) {
    munmap(s->raw.bytes, s->raw.len);
    close(s->fd);
    mapfile_close(s->m);
    unlink(s->path);
}

/* S3 against the non-inlined accessor, for read, write and atomic load, on a scratch file of
 * SCRATCH_MIB (written by both). */
enum { SCRATCH_MIB = 64 };

static void accessor_calls(const char *dir) {
    uint64_t len = (uint64_t)SCRATCH_MIB << 20;
    struct scratch s;
    scratch_open(&s, dir, "scratch-accessor", len);
    memset(s.raw.bytes, 1, len);
    static const char *const names[] = {"2M random 8-byte mapfile_read", "2M random 8-byte mapfile_write",
                                        "2M random mapfile_atomic_u64_load"};
    for (int call = CALL_READ; call <= CALL_LOAD; call++) {
        double ours[REPEATS], theirs[REPEATS];
        make_call_offsets(len, call == CALL_LOAD, RANDOM_READS);
        for (int r = 0; r < REPEATS; r++) {
            double t = now();
            sink += count_calls_mapfile(s.m, call, RANDOM_READS);
            ours[r] = (now() - t) * 1e9 / RANDOM_READS;
            t = now();
            sink += count_calls_accessor(&s.raw, call, RANDOM_READS);
            theirs[r] = (now() - t) * 1e9 / RANDOM_READS;
        }
        report("S3c", names[call], "ns/op", median(ours, REPEATS), "non-inlined C accessor", median(theirs, REPEATS), 0, 1.3,
               "<= 1.3x");
    }
    scratch_close(&s);
}

/* `bench --instructions DIR CALL N`: runs N calls of one kind (mapfile_read, mapfile_write,
 * mapfile_atomic_u64_load, or the accessor's), for callgrind to count (--toggle-collect on the
 * count_calls_* functions; scripts/instructions.sh divides). */
static int instructions_mode(const char *dir, const char *which, int n) {
    uint64_t len = 4 << 20;
    struct scratch s;
    scratch_open(&s, dir, "scratch-instructions", len);
    static const char *const calls[] = {"read", "write", "load"};
    for (int call = CALL_READ; call <= CALL_LOAD; call++) {
        char ours[32], peer[32];
        snprintf(ours, sizeof ours, "mapfile_%s", calls[call]);
        snprintf(peer, sizeof peer, "accessor_%s", calls[call]);
        if (strcmp(which, ours) != 0 && strcmp(which, peer) != 0) continue;
        make_call_offsets(len, call == CALL_LOAD, n);
        if (strcmp(which, ours) == 0) sink += count_calls_mapfile(s.m, call, n);
        if (strcmp(which, peer) == 0) sink += count_calls_accessor(&s.raw, call, n);
    }
    scratch_close(&s);
    return 0;
}

/* A thread running guarded_random_reads(reader), pinned to `cpu` (modulo the cores there are) so
 * that the VM's scheduler does not decide S7. */
static pthread_t pinned_thread(int cpu, struct reader *reader) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
    pthread_attr_setaffinity_np(&attributes, sizeof set, &set);
    pthread_t thread;
    if (pthread_create(&thread, &attributes, guarded_random_reads, reader) != 0) die("pthread_create");
    pthread_attr_destroy(&attributes);
    return thread;
}

static void random_reads(void) {
    double raw[REPEATS], ours[REPEATS], pread_times[REPEATS], fread_times[REPEATS], one[REPEATS], two[REPEATS];
    double raw_one[REPEATS], raw_two[REPEATS];
    struct raw_map map = raw_open();
    mapfile_t *m = ours_open();
    int fd = open(data_path, O_RDONLY);
    FILE *stream = fopen(data_path, "rb");
    const int slow_reads = RANDOM_READS / 20; /* pread/fread are ~50x slower: fewer of them */
    for (int r = 0; r < REPEATS; r++) {
        uint64_t sum = 0;
        double t = now();
        for (int i = 0; i < RANDOM_READS; i++) {
            uint64_t value;
            memcpy(&value, map.bytes + random_offsets[i], 8);
            sum += value;
        }
        raw[r] = (now() - t) * 1e9 / RANDOM_READS;
        struct reader reader = {m, NULL, 0};
        guarded_random_reads(&reader);
        ours[r] = reader.ns_per_read;
        t = now();
        for (int i = 0; i < slow_reads; i++) {
            uint64_t value;
            if (pread(fd, &value, 8, (off_t)random_offsets[i]) != 8) die("pread");
            sum += value;
        }
        pread_times[r] = (now() - t) * 1e9 / slow_reads;
        t = now();
        for (int i = 0; i < slow_reads; i++) {
            uint64_t value;
            if (fseek(stream, (long)random_offsets[i], SEEK_SET) != 0 || fread(&value, 8, 1, stream) != 1) die("fread");
            sum += value;
        }
        fread_times[r] = (now() - t) * 1e9 / slow_reads;
        sink += sum;
        /* S7: one thread, then two threads at once on the same handle: aggregate reads/us; the
         * same for the raw mapping tells how far this machine itself scales */
        for (int kind = 0; kind < 2; kind++) {
            const char *raw_bytes = kind ? map.bytes : NULL;
            struct reader solo = {m, raw_bytes, 0}, a = {m, raw_bytes, 0}, b = {m, raw_bytes, 0};
            pthread_join(pinned_thread(0, &solo), NULL);
            pthread_t ta = pinned_thread(0, &a), tb = pinned_thread(1, &b);
            pthread_join(ta, NULL);
            pthread_join(tb, NULL);
            (kind ? raw_one : one)[r] = 1e3 / solo.ns_per_read;
            (kind ? raw_two : two)[r] = 1e3 / a.ns_per_read + 1e3 / b.ns_per_read;
        }
    }
    double ours_m = median(ours, REPEATS);
    /* An inlined load, which no call into a library can match: information only (issue 12);
     * the fair peer of a library call is S3c's non-inlined accessor. */
    report("--", "2M random 8-byte mapfile_read", "ns/op", ours_m, "raw mmap + memcpy, inlined", median(raw, REPEATS), 0, 1.0, "(info)");
    report("S3", "2M random 8-byte mapfile_read", "ns/op", ours_m, "pread", median(pread_times, REPEATS), 0, 0.05, "<= 0.05x (20x faster)");
    report("--", "2M random 8-byte mapfile_read", "ns/op", ours_m, "fseek + fread", median(fread_times, REPEATS), 0, 1.0, "(info)");
    static char s7[96];
    double low = 1e9, high = 0;
    for (int r = 0; r < REPEATS; r++) {
        double ratio = two[r] / one[r];
        low = ratio < low ? ratio : low;
        high = ratio > high ? ratio : high;
    }
    snprintf(s7, sizeof s7, "2 pinned threads of S3 on one handle (runs %.2f-%.2fx)", low, high);
    report("S7", s7, "reads/us", median(two, REPEATS), "1 pinned thread of S3", median(one, REPEATS), 1, 1.8, ">= 1.8x");
    report("--", "2 threads of raw mmap random reads", "reads/us", median(raw_two, REPEATS), "1 thread of raw reads", median(raw_one, REPEATS), 1, 0.0, "(info)");
    fclose(stream);
    close(fd);
    mapfile_close(m);
    raw_close(map);
}

static void open_close(void) {
    double raw[REPEATS], ours[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        double t = now();
        for (int i = 0; i < OPEN_CLOSE_ROUNDS; i++) {
            int fd = open(data_path, O_RDONLY);
            struct stat info;
            fstat(fd, &info);
            char *bytes = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED, fd, 0);
            sink += (uint8_t)bytes[i % 4096];
            munmap(bytes, (size_t)info.st_size);
            close(fd);
        }
        raw[r] = (now() - t) * 1e6 / OPEN_CLOSE_ROUNDS;
        t = now();
        for (int i = 0; i < OPEN_CLOSE_ROUNDS; i++) {
            mapfile_t *m = NULL;
            const uint8_t *bytes = NULL;
            mapfile_open(data_path, MAPFILE_MODE_READ_ONLY, &m);
            mapfile_slice(m, 0, mapfile_len(m), &bytes);
            sink += bytes[i % 4096];
            mapfile_close(m);
        }
        ours[r] = (now() - t) * 1e6 / OPEN_CLOSE_ROUNDS;
    }
    report("S4", "open + slice + touch + close", "us", median(ours, REPEATS), "open/fstat/mmap/munmap/close", median(raw, REPEATS), 0, 1.2, "<= 1.2x");
}

/* S13: the same random reads on a memfd sealed against shrinking (it cannot lose a page, so the
 * guarded call skips the guard) and on the file mapping (S3). */
static void sealed_reads(void) {
    mapfile_t *file = ours_open(), *memory = NULL;
    if (mapfile_open_memfd("bench", data_size, 0, &memory) != MAPFILE_OK) die("mapfile_open_memfd");
    const uint8_t *bytes = NULL;
    uint8_t *into = NULL;
    if (mapfile_slice(file, 0, data_size, &bytes) != MAPFILE_OK ||
        mapfile_slice_mut(memory, 0, data_size, &into) != MAPFILE_OK)
        die("slices");
    memcpy(into, bytes, data_size);
    double sealed[REPEATS], plain[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        struct reader a = {memory, NULL, 0}, b = {file, NULL, 0};
        guarded_random_reads(&a);
        guarded_random_reads(&b);
        sealed[r] = a.ns_per_read;
        plain[r] = b.ns_per_read;
    }
    report("S13", "2M random 8-byte mapfile_read, sealed memfd", "ns/op", median(sealed, REPEATS),
           "the same on a file mapping", median(plain, REPEATS), 0, 1.0, "(info)");
    mapfile_close(memory);
    mapfile_close(file);
}

/* S11: a cross-process ping-pong through one word of shared memory: the parent writes an odd
 * value and wakes, the child answers with the next even one; each side sleeps in the futex while
 * it is the other's turn. Ours: anonymous memory and mapfile_atomic_u32_wait/_wake; the peer: the
 * same protocol on MAP_SHARED|MAP_ANONYMOUS with __atomic builtins and syscall(SYS_futex). */
enum { PING_PONGS = 20000 };

static void raw_wait(uint32_t *word, uint32_t expected) {
    while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == expected)
        syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void raw_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0); }

static void ours_wait(mapfile_t *m, uint32_t expected) {
    uint32_t value = expected;
    while (mapfile_atomic_u32_load(m, 0, &value) == MAPFILE_OK && value == expected)
        mapfile_atomic_u32_wait(m, 0, expected, UINT64_MAX);
}

static void store_and_wake(mapfile_t *m, uint32_t *word, uint32_t value) {
    if (m) {
        mapfile_atomic_u32_store(m, 0, value);
        mapfile_atomic_u32_wake(m, 0, 1, NULL);
    } else {
        __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
        raw_wake(word);
    }
}

/* One side of the game: the parent serves 2i+1 and sleeps while it is still there; the child
 * sleeps while the word holds its last answer 2i, then answers 2i+2. */
static void play(mapfile_t *m, uint32_t *word, int parent) {
    for (uint32_t i = 0; i < PING_PONGS; i++) {
        if (parent) {
            store_and_wake(m, word, 2 * i + 1);
            if (m) ours_wait(m, 2 * i + 1);
            else raw_wait(word, 2 * i + 1);
        } else {
            if (m) ours_wait(m, 2 * i);
            else raw_wait(word, 2 * i);
            store_and_wake(m, word, 2 * i + 2);
        }
    }
}

static double ping_pong(int ours) {
    mapfile_t *m = NULL;
    uint32_t *word = NULL;
    if (ours) {
        if (mapfile_open_anonymous(4096, 0, &m) != MAPFILE_OK) die("mapfile_open_anonymous");
    } else {
        word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (word == MAP_FAILED) die("mmap");
    }
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        play(m, word, 0);
        _exit(0);
    }
    double t = now();
    play(m, word, 1);
    double ns = (now() - t) * 1e9 / PING_PONGS;
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("ping-pong child");
    if (ours) mapfile_close(m);
    else munmap(word, 4096);
    return ns;
}

static void ping_pongs(void) {
    double ours[REPEATS], raw[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        ours[r] = ping_pong(1);
        raw[r] = ping_pong(0);
    }
    report("S11", "cross-process ping-pong, wait/wake", "ns/trip", median(ours, REPEATS),
           "raw SYS_futex, same protocol", median(raw, REPEATS), 0, 1.1, "<= 1.1x");
}

/* S10: a source tree's worth of small files (1,000 of 4-64 KiB), each opened by the program
 * (legacy code holds the fd and fstat-checks it), mapped, touched, unmapped, closed. */
enum { TREE_FILES = 1000 };
static char tree_paths[TREE_FILES][64];

static void make_tree(const char *dir) {
    char tree[4096];
    snprintf(tree, sizeof tree, "%s/tree", dir);
    mkdir(tree, 0755);
    static char content[64 * 1024];
    for (size_t i = 0; i < sizeof content; i++) content[i] = (char)('a' + i % 26);
    for (int i = 0; i < TREE_FILES; i++) {
        snprintf(tree_paths[i], sizeof tree_paths[i], "%.40s/tree/f%04d.c", dir, i);
        struct stat info;
        size_t size = 4096 + (size_t)(i * 7919 % 61) * 1024; /* 4-64 KiB */
        if (stat(tree_paths[i], &info) == 0 && (size_t)info.st_size == size) continue;
        int fd = open(tree_paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, content, size) != (ssize_t)size) die("writing the tree");
        close(fd);
    }
}

static void open_fd_tree(const char *dir) {
    make_tree(dir);
    double raw[REPEATS], ours[REPEATS], by_path[REPEATS];
    mapfile_options options;
    mapfile_options_init(&options);
    /* Each repeat runs the peer, S10 and S14 back to back, so that the VM's drift in system-call
     * cost between repeats lands on all three alike. */
    for (int r = 0; r < REPEATS; r++) {
        double t = now();
        for (int i = 0; i < TREE_FILES; i++) {
            int fd = open(tree_paths[i], O_RDONLY | O_CLOEXEC);
            struct stat info;
            if (fd < 0 || fstat(fd, &info) != 0) die("open");
            char *bytes = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED, fd, 0);
            if (bytes == MAP_FAILED) die("mmap");
            sink += (uint8_t)bytes[info.st_size - 1];
            munmap(bytes, (size_t)info.st_size);
            close(fd);
        }
        raw[r] = (now() - t) * 1e6 / TREE_FILES;
        t = now();
        for (int i = 0; i < TREE_FILES; i++) {
            int fd = open(tree_paths[i], O_RDONLY | O_CLOEXEC);
            struct stat info;
            if (fd < 0 || fstat(fd, &info) != 0) die("open");
            mapfile_t *m = NULL;
            const char *bytes = NULL;
            size_t len = 0;
            if (mapfile_open_fd(fd, &options, &m) != MAPFILE_OK) die(mapfile_last_error_message());
            mapfile_chars(m, &bytes, &len);
            sink += (uint8_t)bytes[len - 1];
            mapfile_close(m);
            close(fd);
        }
        ours[r] = (now() - t) * 1e6 / TREE_FILES;
        /* S14: the library opens the files itself (issue 12's "many small files") */
        t = now();
        for (int i = 0; i < TREE_FILES; i++) {
            mapfile_t *m = NULL;
            const uint8_t *bytes = NULL;
            if (mapfile_open(tree_paths[i], MAPFILE_MODE_READ_ONLY, &m) != MAPFILE_OK) die(mapfile_last_error_message());
            mapfile_slice(m, 0, mapfile_len(m), &bytes);
            sink += bytes[mapfile_len(m) - 1];
            mapfile_close(m);
        }
        by_path[r] = (now() - t) * 1e6 / TREE_FILES;
    }
    report("S10", "open_fd + chars + touch + close, 1,000 files", "us", median(ours, REPEATS), "open/fstat/mmap/munmap/close", median(raw, REPEATS), 0, 1.1, "<= 1.1x");
    report("S14", "open + slice + touch + close, 1,000 files", "us", median(by_path, REPEATS), "open/fstat/mmap/munmap/close", median(raw, REPEATS), 0, 1.1, "<= 1.1x");
}

static void writes(const char *dir) {
    enum { WRITE_SIZE = 256 << 20 };
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-writes.bin", dir);
    unlink(path);
    mapfile_t *m = NULL;
    if (mapfile_create(path, WRITE_SIZE, &m) != MAPFILE_OK) die("mapfile_create");
    int fd = open(path, O_RDWR);
    char *raw = mmap(NULL, WRITE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (raw == MAP_FAILED) die("mmap for writes");
    static char chunk[WRITE_CHUNK];
    memset(chunk, 'w', sizeof chunk);
    double raw_times[REPEATS], ours[REPEATS], pwrite_times[REPEATS], flush_ours[REPEATS], flush_raw[REPEATS];
    double gb = (double)WRITE_SIZE / 1e9;
    /* first touch of every page once, so the repeats compare copies, not page faults */
    memset(raw, 0, WRITE_SIZE);
    mapfile_flush(m);
    for (int r = 0; r < REPEATS; r++) {
        chunk[0] = (char)r;
        double t = now();
        for (size_t at = 0; at < WRITE_SIZE; at += WRITE_CHUNK) memcpy(raw + at, chunk, WRITE_CHUNK);
        raw_times[r] = gb / (now() - t);
        t = now();
        for (size_t at = 0; at < WRITE_SIZE; at += WRITE_CHUNK) mapfile_write(m, at, chunk, WRITE_CHUNK);
        ours[r] = gb / (now() - t);
        t = now();
        for (size_t at = 0; at < WRITE_SIZE; at += WRITE_CHUNK) {
            if (pwrite(fd, chunk, WRITE_CHUNK, (off_t)at) != WRITE_CHUNK) die("pwrite");
        }
        pwrite_times[r] = gb / (now() - t);
        msync(raw, WRITE_SIZE, MS_SYNC);
        /* S6: one dirty page, flushed synchronously, 20 times */
        enum { FLUSHES = 20 };
        t = now();
        for (int i = 0; i < FLUSHES; i++) {
            raw[(size_t)i * 4096] = (char)(r + i);
            msync(raw + (size_t)i * 4096, 4096, MS_SYNC);
        }
        flush_raw[r] = (now() - t) * 1e6 / FLUSHES;
        t = now();
        for (int i = 0; i < FLUSHES; i++) {
            mapfile_write(m, (uint64_t)i * 4096 + 1, "x", 1);
            mapfile_flush_range(m, (uint64_t)i * 4096, 4096);
        }
        flush_ours[r] = (now() - t) * 1e6 / FLUSHES;
    }
    double ours_m = median(ours, REPEATS);
    report("S5", "sequential 4 KiB mapfile_write", "GB/s", ours_m, "memcpy into raw mmap", median(raw_times, REPEATS), 1, 0.9, ">= 0.9x");
    report("S5", "sequential 4 KiB mapfile_write", "GB/s", ours_m, "pwrite", median(pwrite_times, REPEATS), 1, 1.0, ">= 1x");
    report("S6", "flush_range of one dirty 4 KiB page", "us", median(flush_ours, REPEATS), "msync(MS_SYNC) of the page", median(flush_raw, REPEATS), 0, 1.1, "<= 1.1x");
    munmap(raw, WRITE_SIZE);
    close(fd);
    mapfile_close(m);
    unlink(path);
}

static void cold_scan(void) {
    enum { COLD_REPEATS = 3 };
    double ours[COLD_REPEATS], reads[COLD_REPEATS];
    double gb = (double)data_size / 1e9;
    for (int r = 0; r < COLD_REPEATS; r++) {
        evict();
        double t = now();
        mapfile_t *m = ours_open();
        mapfile_advise(m, MAPFILE_ADVICE_SEQUENTIAL);
        uint64_t count = 0;
        if (mapfile_count_byte(m, 0, data_size, '\n', &count) != MAPFILE_OK) die("cold count");
        mapfile_close(m);
        ours[r] = gb / (now() - t);
        evict();
        t = now();
        uint64_t other = read_loop_count();
        reads[r] = gb / (now() - t);
        if (count != other) {
            fprintf(stderr, "bench: cold counts disagree\n");
            exit(1);
        }
    }
    report("S8", "scan cold, SEQUENTIAL advice, count_byte", "GB/s", median(ours, COLD_REPEATS), "read(1 MiB) + memchr, cold", median(reads, COLD_REPEATS), 1, 1.0, ">= 1x");
    warm();
}

/* Issue: 300 idle EVERY_MILLIS(1) handles must not burn CPU (one shared flusher that sleeps while
 * nothing is written). CPU time of the whole process over one second of sleep, in % of a core. */
static void idle_flushers(const char *dir) {
    enum { HANDLES = 300 };
    static mapfile_t *handles[HANDLES];
    char path[4200];
    for (int i = 0; i < HANDLES; i++) {
        snprintf(path, sizeof path, "%s/idle-%d", dir, i);
        unlink(path);
        mapfile_options options;
        mapfile_options_init(&options);
        options.mode = MAPFILE_MODE_READ_WRITE;
        options.create = MAPFILE_CREATE_NEW;
        options.create_size = 4096;
        options.flush_policy = MAPFILE_FLUSH_EVERY_MILLIS;
        options.flush_every = 1;
        if (mapfile_open_with(path, &options, &handles[i]) != MAPFILE_OK) die("open EVERY_MILLIS");
        if (mapfile_write(handles[i], 0, "once", 4) != MAPFILE_OK) die("write");
    }
    struct timespec pause = {0, 50 * 1000 * 1000}; /* the one write each is flushed first */
    nanosleep(&pause, NULL);
    struct timespec cpu0, cpu1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    double wall0 = now();
    struct timespec second = {1, 0};
    nanosleep(&second, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    double wall = now() - wall0;
    double cpu = (double)(cpu1.tv_sec - cpu0.tv_sec) + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
    report("S12", "300 idle EVERY_MILLIS(1) handles: CPU", "% core", 100.0 * cpu / wall, "limit", 5.0, 0, 1.0,
           "<= 5% of a core");
    for (int i = 0; i < HANDLES; i++) {
        mapfile_close(handles[i]);
        snprintf(path, sizeof path, "%s/idle-%d", dir, i);
        unlink(path);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [SIZE_MIB]\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "--instructions") == 0) {
        if (argc != 5) {
            fprintf(stderr, "usage: %s --instructions DIR CALL N\n", argv[0]);
            return 2;
        }
        int n = atoi(argv[4]);
        data_size = 1 << 20;
        random_offsets = malloc(sizeof(uint64_t) * (size_t)n);
        uint64_t state = 7;
        for (int i = 0; i < n; i++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            random_offsets[i] = state >> 11;
        }
        return instructions_mode(argv[2], argv[3], n);
    }
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (mib < 16) mib = 16;
    make_data(argv[1], mib << 20);
    warm();
    make_offsets();
    fprintf(stderr, "measuring (%d repeats each, medians)...\n", REPEATS);
    scans();
    random_reads();
    accessor_calls(argv[1]);
    open_close();
    open_fd_tree(argv[1]);
    ping_pongs();
    sealed_reads();
    writes(argv[1]);
    cold_scan();
    idle_flushers(argv[1]);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("libmapfile %s, %zu MiB file, %ld cores, %d repeats (medians), one process\n\n", mapfile_version(), mib, cores, REPEATS);
    printf("| id | scenario | mapfile | peer | peer value | ratio | target | |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int missed = 0;
    for (int i = 0; i < row_count; i++) {
        const struct row *row = &rows[i];
        int info = strcmp(row->target, "(info)") == 0;
        missed += !info && !row->met;
        printf("| %s | %s | %.2f %s | %s | %.2f %s | %.3fx | %s | %s |\n", row->id, row->scenario, row->ours, row->unit, row->peer,
               row->theirs, row->unit, row->ratio, row->target, info ? "" : row->met ? "met" : "MISSED");
    }
    printf("\n%d target(s) missed\n", missed);
    return 0;
}
