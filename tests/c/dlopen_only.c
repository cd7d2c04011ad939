/* A program with no link-time dependency on libmapfile: it loads the library with dlopen, checks
 * the ABI version, uses the API through dlsym, survives a truncation, and shows that dlclose never
 * unloads the library's SIGBUS handler (a later unrelated SIGBUS still ends as the default action,
 * not as a jump into unmapped code). Usage: dlopen_only LIBRARY SCRATCH_DIR */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapfile.h" /* types and constants only; no symbol is linked */

/* POSIX guarantees dlsym results convert to function pointers; ISO C does not, hence memcpy. */
#define LOAD(name)                               \
    name##_fn name##_ptr;                        \
    do {                                         \
        void *symbol_ = load(library, #name);    \
        memcpy(&name##_ptr, &symbol_, sizeof symbol_); \
    } while (0)
typedef uint32_t (*mapfile_abi_version_fn)(void);
typedef mapfile_status (*mapfile_open_fn)(const char *, uint32_t, mapfile_t **);
typedef mapfile_status (*mapfile_read_fn)(const mapfile_t *, uint64_t, void *, size_t);
typedef mapfile_status (*mapfile_check_fn)(const mapfile_t *);
typedef mapfile_status (*mapfile_close_fn)(mapfile_t *);
typedef const char *(*mapfile_strerror_fn)(mapfile_status);

static void *load(void *library, const char *name) {
    void *symbol = dlsym(library, name);
    if (symbol == NULL) {
        fprintf(stderr, "dlsym(%s): %s\n", name, dlerror());
        _exit(1);
    }
    return symbol;
}

/* Is the library still mapped into this process? */
static int library_mapped(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL) found |= strstr(line, "libmapfile") != NULL;
    if (maps != NULL) fclose(maps);
    return found;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    /* Phase 1: only successful calls (a failure would pin the library through its thread-local
     * message anyway), then dlclose: the handler was installed, so the code must stay. */
    void *first = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (first == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    {
        void *library = first;
        LOAD(mapfile_open);
        LOAD(mapfile_close);
        mapfile_t *m = NULL;
        if (mapfile_open_ptr(argv[1], MAPFILE_MODE_READ_ONLY, &m) != MAPFILE_OK || mapfile_close_ptr(m) != MAPFILE_OK) return 1;
    }
    dlclose(first);
    printf("after dlclose with the handler installed: %s\n", library_mapped() ? "still mapped" : "UNLOADED");

    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    LOAD(mapfile_abi_version);
    LOAD(mapfile_open);
    LOAD(mapfile_read);
    LOAD(mapfile_check);
    LOAD(mapfile_close);
    LOAD(mapfile_strerror);
    if (mapfile_abi_version_ptr() != MAPFILE_ABI_VERSION) {
        fprintf(stderr, "ABI %u, header %u\n", mapfile_abi_version_ptr(), MAPFILE_ABI_VERSION);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/dlopen-data", argv[2]);
    static char data[4 * 4096];
    memset(data, 'd', sizeof data);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data) return 1;
    mapfile_t *m = NULL;
    if (mapfile_open_ptr(path, MAPFILE_MODE_READ_ONLY, &m) != MAPFILE_OK) return 1;
    /* Reads before the cut: from the second on they take the fast path, whose grace mark lives
     * in the library's initial-exec thread-local word, so the fault below is met through it. */
    char byte = 0;
    for (int i = 0; i < 100; i++)
        if (mapfile_read_ptr(m, (uint64_t)i * 97, &byte, 1) != MAPFILE_OK || byte != 'd') return 1;
    if (ftruncate(fd, 4096) != 0) return 1;
    mapfile_status status = mapfile_read_ptr(m, sizeof data - 1, &byte, 1);
    printf("read after truncation: %s\n", mapfile_strerror_ptr(status));
    if (status != MAPFILE_ERR_TRUNCATED || mapfile_check_ptr(m) != MAPFILE_ERR_TRUNCATED) return 1;
    if (mapfile_close_ptr(m) != MAPFILE_OK) return 1;
    dlclose(library);

    /* After dlclose: a fault on a mapping of the program's own still reaches the default action. */
    pid_t child = fork();
    if (child == 0) {
        if (ftruncate(fd, sizeof data) != 0) _exit(1);
        const char *raw = mmap(NULL, sizeof data, PROT_READ, MAP_SHARED, fd, 0);
        if (raw == MAP_FAILED || ftruncate(fd, 0) != 0) _exit(1);
        volatile char sink = raw[sizeof data - 1];
        (void)sink;
        _exit(3);
    }
    int wait_status = 0;
    waitpid(child, &wait_status, 0);
    int died_by_sigbus = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGBUS;
    printf("own fault after dlclose: %s\n", died_by_sigbus ? "default action (SIGBUS)" : "WRONG OUTCOME");
    close(fd);
    return died_by_sigbus ? 0 : 1;
}
