/* Observing what the library really asks of the kernel, so that tests of flush, POPULATE and lock
 * fail when the library stops doing it (a shared mapping's bytes reach pread with or without msync,
 * so "the bytes are in the file" alone proves nothing about durability).
 *
 * msync and fdatasync are interposed: a program that includes this header defines them, and the
 * dynamic linker binds libmapfile's calls to these definitions before libc's. They count each call
 * and its arguments, then make the real system call. Include it in one file per program. */
#ifndef MAPFILE_TEST_OBSERVE_H
#define MAPFILE_TEST_OBSERVE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct msync_call {
    uintptr_t start, end;
    int flags;
};

static struct {
    int msyncs, fdatasyncs;
    struct msync_call last_msync;
} observed;

int msync(void *address, size_t len, int flags) {
    observed.msyncs++;
    observed.last_msync.start = (uintptr_t)address;
    observed.last_msync.end = (uintptr_t)address + len;
    observed.last_msync.flags = flags;
    return (int)syscall(SYS_msync, address, len, flags);
}

int fdatasync(int fd) {
    observed.fdatasyncs++;
    return (int)syscall(SYS_fdatasync, fd);
}

static inline void observe_reset(void) { memset(&observed, 0, sizeof observed); }

/* The last msync covered [pointer, pointer + len) with these flags. */
static inline int last_msync_covered(const void *pointer, size_t len, int flags) {
    uintptr_t start = (uintptr_t)pointer;
    return observed.last_msync.flags == flags && observed.last_msync.start <= start &&
           start + len <= observed.last_msync.end;
}

/* Resident bytes of the mapping (VMA) holding `address`: its page-table entries (Rss in
 * /proc/self/smaps), not the page cache, which a freshly written file fills anyway. -1 if absent. */
static inline long long resident_bytes_of_mapping(const void *address) {
    FILE *smaps = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0;
    long long rss = -1;
    while (smaps != NULL && fgets(line, sizeof line, smaps) != NULL) {
        unsigned long long start, end, kib;
        if (sscanf(line, "%llx-%llx ", &start, &end) == 2)
            inside = start <= (uintptr_t)address && (uintptr_t)address < end;
        else if (inside && sscanf(line, "Rss: %llu kB", &kib) == 1) {
            rss = (long long)kib * 1024;
            break;
        }
    }
    if (smaps != NULL) fclose(smaps);
    return rss;
}

/* Locked memory of this process (VmLck in /proc/self/status), in bytes; -1 if unknown. */
static inline long long locked_bytes(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long long kib = -1;
    while (status != NULL && fgets(line, sizeof line, status) != NULL)
        if (sscanf(line, "VmLck: %lld kB", &kib) == 1) break;
    if (status != NULL) fclose(status);
    return kib < 0 ? -1 : kib * 1024;
}

#endif
