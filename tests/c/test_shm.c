/* Also run under valgrind memcheck (scripts/test-valgrind.sh picks the programs with this line). */
/* Shared memory between processes (API.md, Round 2 contract): mapfile_open_anonymous (shared with
 * forked children), mapfile_open_memfd (sealed against shrinking, passed by SCM_RIGHTS and mapped
 * with mapfile_open_fd), the sealed fast path, MAPFILE_FLAG_HUGE_PAGES and mapfile_huge_pages,
 * and every failure status of the new calls. */
#define _GNU_SOURCE /* fork, memfd/F_SEAL_* constants, CMSG in -std=c99 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096, CHILDREN = 4, ADDS = 10000 };

/* Sends `fd` over the socket `sock` (SCM_RIGHTS); 0 on success. */
static int send_fd(int sock, int fd) {
    char byte = 'f';
    struct iovec io = {&byte, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof fd);
    return sendmsg(sock, &message, 0) == 1 ? 0 : -1;
}

/* Receives a descriptor sent by send_fd; -1 on failure. */
static int receive_fd(int sock) {
    char byte = 0;
    struct iovec io = {&byte, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {0};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    if (recvmsg(sock, &message, 0) != 1) return -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_type != SCM_RIGHTS) return -1;
    int fd = -1;
    memcpy(&fd, CMSG_DATA(header), sizeof fd);
    return fd;
}

static mapfile_t *open_fd_with(int fd, uint32_t mode) {
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = mode;
    mapfile_t *m = NULL;
    return mapfile_open_fd(fd, &options, &m) == MAPFILE_OK ? m : NULL;
}

/* Without a SIGBUS handler (MAPFILE_SIGBUS_OFF) a file mapping refuses what only memory can do
 * (atomics, COPY_ON_WRITE); memory sealed against shrinking cannot fault, so it needs no handler:
 * a memfd made by the library and one received by mapfile_open_fd are both recognised. Runs in a
 * child that sets the mode before its first mapping. */
static void sealed_scenario(void) {
    EXPECT(mapfile_sigbus_mode(MAPFILE_SIGBUS_OFF) == MAPFILE_OK);
    const char *path = scratch_path("shm-off-file");
    EXPECT(write_pattern_file(path, 2 * PAGE) == 0);
    mapfile_t *file = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &file) == MAPFILE_OK);
    EXPECT(mapfile_atomic_u32_store(file, 0, 1) == MAPFILE_ERR_UNSUPPORTED);
    int file_fd = open(path, O_RDONLY);
    EXPECT(file_fd >= 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_COPY_ON_WRITE;
    mapfile_t *cow = NULL;
    EXPECT(mapfile_open_fd(file_fd, &options, &cow) == MAPFILE_ERR_UNSUPPORTED);

    mapfile_t *memory = NULL;
    EXPECT(mapfile_open_memfd("sealed", 2 * PAGE, 0, &memory) == MAPFILE_OK);
    EXPECT(mapfile_atomic_u32_store(memory, 8, 41) == MAPFILE_OK);
    uint32_t value = 0;
    EXPECT(mapfile_atomic_u32_fetch_add(memory, 8, 1, &value) == MAPFILE_OK && value == 41);
    EXPECT(mapfile_open_fd(mapfile_fd(memory), &options, &cow) == MAPFILE_OK);
    EXPECT(mapfile_atomic_u32_load(cow, 8, &value) == MAPFILE_OK && value == 42);
    EXPECT(mapfile_write(cow, 100, "private", 7) == MAPFILE_OK);
    char seen[7] = {0};
    EXPECT(mapfile_read(memory, 100, seen, 7) == MAPFILE_OK && seen[0] == 0); /* COW stays private */
    mapfile_t *anonymous = NULL;
    EXPECT(mapfile_open_anonymous(PAGE, 0, &anonymous) == MAPFILE_OK);
    EXPECT(mapfile_atomic_u64_store(anonymous, 0, 7) == MAPFILE_OK);
    EXPECT(mapfile_close(anonymous) == MAPFILE_OK);
    EXPECT(mapfile_close(cow) == MAPFILE_OK);
    EXPECT(mapfile_close(memory) == MAPFILE_OK);
    EXPECT(mapfile_close(file) == MAPFILE_OK);
    close(file_fd);
}

/* First in main: the scenario's child must be forked before this process maps anything. */
TEST(sealed_memory_needs_no_sigbus_handler) {
    CHECK(child_ok(sealed_scenario));
}

TEST(anonymous_memory_is_zeroed_private_to_the_library_and_shared_with_children) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_anonymous(3 * PAGE + 5, 0, &m));
    if (m == NULL) return;
    CHECK(mapfile_len(m) == 3 * PAGE + 5);
    CHECK(mapfile_fd(m) == -1);
    uint64_t zeros = 0;
    CHECK_OK(mapfile_count_byte(m, 0, 3 * PAGE + 5, 0, &zeros));
    CHECK(zeros == 3 * PAGE + 5);
    fflush(stdout);
    fflush(stderr);
    pid_t children[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        children[c] = fork();
        if (children[c] == 0) {
            for (int i = 0; i < ADDS; i++) {
                if (mapfile_atomic_u64_fetch_add(m, 0, 1, NULL) != MAPFILE_OK) _exit(2);
            }
            unsigned char mine = (unsigned char)(c + 1);
            _exit(mapfile_write(m, (uint64_t)PAGE + (uint64_t)c, &mine, 1) == MAPFILE_OK ? 0 : 3);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status = 0;
        CHECK(waitpid(children[c], &status, 0) == children[c]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    uint64_t total = 0;
    CHECK_OK(mapfile_atomic_u64_load(m, 0, &total));
    CHECK(total == (uint64_t)CHILDREN * ADDS);
    unsigned char bytes[CHILDREN];
    CHECK_OK(mapfile_read(m, PAGE, bytes, CHILDREN));
    for (int c = 0; c < CHILDREN; c++) CHECK(bytes[c] == c + 1);
    CHECK_OK(mapfile_check(m));
    CHECK_OK(mapfile_flush(m));
    CHECK_OK(mapfile_close(m));
}

/* A child sleeps on a word of anonymous memory; the parent stores and wakes it. */
TEST(anonymous_memory_carries_futex_wait_and_wake_across_fork) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_anonymous(PAGE, 0, &m));
    if (m == NULL) return;
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        uint32_t value = 0;
        while (mapfile_atomic_u32_load(m, 4, &value) == MAPFILE_OK && value == 0) {
            if (mapfile_atomic_u32_wait(m, 4, 0, 10ull * 1000 * 1000 * 1000) != MAPFILE_OK) _exit(2);
        }
        _exit(value == 9 && mapfile_atomic_u32_store(m, 8, 1) == MAPFILE_OK ? 0 : 3);
    }
    /* wait until the child sleeps (or give it 100 ms), then wake it */
    for (int i = 0; i < 100; i++) {
        uint32_t woken = 0;
        usleep(1000);
        CHECK_OK(mapfile_atomic_u32_store(m, 4, 9));
        CHECK_OK(mapfile_atomic_u32_wake(m, 4, UINT32_MAX, &woken));
        if (woken == 1) break;
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    uint32_t done = 0;
    CHECK_OK(mapfile_atomic_u32_load(m, 8, &done));
    CHECK(done == 1);
    CHECK_OK(mapfile_close(m));
}

TEST(anonymous_and_memfd_refuse_bad_arguments) {
    mapfile_t *m = NULL;
    errno = 0;
    CHECK_STATUS(mapfile_open_anonymous(0, 0, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK(errno == EINVAL);
    CHECK(strstr(mapfile_last_error_message(), "mapfile_open_anonymous") != NULL);
    CHECK_STATUS(mapfile_open_anonymous((uint64_t)INT64_MAX + 1, 0, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK_STATUS(mapfile_open_anonymous(PAGE, 0x80, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK(strstr(mapfile_last_error_message(), "0x80") != NULL);
    CHECK_STATUS(mapfile_open_anonymous(PAGE, 0, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_memfd(NULL, PAGE, 0, &m), MAPFILE_ERR_NULL_ARG);
    CHECK(strstr(mapfile_last_error_message(), "name") != NULL);
    CHECK_STATUS(mapfile_open_memfd("x", PAGE, 0, NULL), MAPFILE_ERR_NULL_ARG);
    CHECK_STATUS(mapfile_open_memfd("x", 0, 0, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK_STATUS(mapfile_open_memfd("x", PAGE, 0x100, &m), MAPFILE_ERR_INVALID_ARG);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK_STATUS(mapfile_open_memfd(long_name, PAGE, 0, &m), MAPFILE_ERR_INVALID_ARG);
    CHECK(m == NULL); /* untouched on every failure */
    CHECK(mapfile_huge_pages(NULL) == 0);
}

TEST(memfd_is_sealed_against_shrinking_and_may_grow) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_memfd("queue", 2 * PAGE, 0, &m));
    if (m == NULL) return;
    int fd = mapfile_fd(m);
    CHECK(fd >= 0);
    char link[64], target[256] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    CHECK(readlink(link, target, sizeof target - 1) > 0);
    CHECK(strstr(target, "memfd:queue") != NULL);
    int seals = fcntl(fd, F_GET_SEALS);
    CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && !(seals & F_SEAL_SEAL));
    /* nobody can shrink it: not the owner of a descriptor, not the handle */
    errno = 0;
    CHECK(ftruncate(fd, PAGE) == -1 && errno == EPERM);
    CHECK_STATUS(mapfile_resize(m, PAGE), MAPFILE_ERR_UNSUPPORTED);
    CHECK(strstr(mapfile_last_error_message(), "F_SEAL_SHRINK") != NULL);
    CHECK(mapfile_len(m) == 2 * PAGE);
    CHECK_OK(mapfile_write(m, 2 * PAGE - 3, "end", 3));
    CHECK_OK(mapfile_resize(m, 4 * PAGE));
    CHECK(mapfile_len(m) == 4 * PAGE);
    char back[3] = {0};
    CHECK_OK(mapfile_read(m, 2 * PAGE - 3, back, 3));
    CHECK(memcmp(back, "end", 3) == 0);
    /* a receiver may fix the size; then growing is refused too */
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
    CHECK_STATUS(mapfile_resize(m, 5 * PAGE), MAPFILE_ERR_UNSUPPORTED);
    CHECK(strstr(mapfile_last_error_message(), "F_SEAL_GROW") != NULL);
    CHECK_OK(mapfile_check(m));
    CHECK(mapfile_huge_pages(m) == 0);
    CHECK_OK(mapfile_close(m));
}

/* The memfd goes to another process by SCM_RIGHTS; that process maps it with mapfile_open_fd,
 * tries to shrink it (refused), writes, and the two hand a word back and forth with wait/wake. */
TEST(memfd_passes_to_another_process_over_scm_rights) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_memfd("passed", PAGE, 0, &m));
    if (m == NULL) return;
    int sockets[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        mapfile_close(m); /* the child keeps nothing of the parent's: only what it receives */
        close(sockets[0]);
        int fd = receive_fd(sockets[1]);
        if (fd < 0) _exit(2);
        mapfile_t *other = open_fd_with(fd, MAPFILE_MODE_READ_WRITE);
        if (other == NULL) _exit(3);
        if (ftruncate(fd, 0) != -1 || errno != EPERM) _exit(4);
        close(fd); /* the handle keeps its own duplicate */
        if (mapfile_write(other, 16, "from the child", 14) != MAPFILE_OK) _exit(5);
        if (mapfile_atomic_u32_store(other, 0, 1) != MAPFILE_OK) _exit(6);
        if (mapfile_atomic_u32_wake(other, 0, 1, NULL) != MAPFILE_OK) _exit(7);
        uint32_t value = 1;
        while (mapfile_atomic_u32_load(other, 0, &value) == MAPFILE_OK && value == 1) {
            if (mapfile_atomic_u32_wait(other, 0, 1, 10ull * 1000 * 1000 * 1000) != MAPFILE_OK) _exit(8);
        }
        _exit(value == 2 && mapfile_close(other) == MAPFILE_OK ? 0 : 9);
    }
    close(sockets[1]);
    CHECK(send_fd(sockets[0], mapfile_fd(m)) == 0);
    uint32_t value = 0;
    while (mapfile_atomic_u32_load(m, 0, &value) == MAPFILE_OK && value == 0) {
        CHECK_OK(mapfile_atomic_u32_wait(m, 0, 0, 10ull * 1000 * 1000 * 1000));
    }
    char text[14] = {0};
    CHECK_OK(mapfile_read(m, 16, text, 14));
    CHECK(memcmp(text, "from the child", 14) == 0);
    CHECK_OK(mapfile_atomic_u32_store(m, 0, 2));
    CHECK_OK(mapfile_atomic_u32_wake(m, 0, 1, NULL));
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        fprintf(stderr, "  child exited %d\n", WEXITSTATUS(status));
    close(sockets[0]);
    CHECK_OK(mapfile_close(m));
}

/* Another handle of a memfd sees growth by mapfile_refresh; a READ_ONLY one refuses every write
 * (READ_ONLY) but waits and wakes. */
TEST(memfd_growth_reaches_other_handles_by_refresh_and_read_only_ones_never_write) {
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_memfd("grows", PAGE, 0, &m));
    if (m == NULL) return;
    mapfile_t *other = open_fd_with(mapfile_fd(m), MAPFILE_MODE_READ_ONLY);
    CHECK(other != NULL);
    if (other == NULL) return;
    /* a READ_ONLY receiver reads and waits, never writes */
    CHECK_STATUS(mapfile_write(other, 0, "x", 1), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_atomic_u32_store(other, 0, 1), MAPFILE_ERR_READ_ONLY);
    CHECK_STATUS(mapfile_resize(other, 2 * PAGE), MAPFILE_ERR_READ_ONLY);
    CHECK_OK(mapfile_atomic_u32_wait(other, 0, 1, 0)); /* holds 0, not 1: returns at once */
    CHECK_STATUS(mapfile_atomic_u32_wait(other, 0, 0, 1000), MAPFILE_ERR_TIMED_OUT);
    uint32_t woken = 9;
    CHECK_OK(mapfile_atomic_u32_wake(other, 0, 1, &woken));
    CHECK(woken == 0);
    CHECK_OK(mapfile_resize(m, 3 * PAGE));
    CHECK_OK(mapfile_write(m, 3 * PAGE - 1, "z", 1));
    CHECK(mapfile_len(other) == PAGE);
    CHECK_OK(mapfile_refresh(other));
    CHECK(mapfile_len(other) == 3 * PAGE);
    const uint8_t *p = NULL;
    CHECK_OK(mapfile_slice(other, 3 * PAGE - 1, 1, &p));
    CHECK(p != NULL && *(const char *)p == 'z');
    CHECK_OK(mapfile_close(other));
    CHECK_OK(mapfile_close(m));
}

/* Named shared memory needs no new call: a file under /dev/shm that every process opens with
 * mapfile_open_or_create (the README's recipe). */
TEST(named_shared_memory_is_a_file_under_dev_shm) {
    struct stat shm;
    if (stat("/dev/shm", &shm) != 0 || !S_ISDIR(shm.st_mode)) SKIP("no /dev/shm here");
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/mapfile-test-%d", (int)getpid());
    unlink(path);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        mapfile_t *mine = NULL;
        if (mapfile_open_or_create(path, PAGE, &mine) != MAPFILE_OK) _exit(2);
        if (mapfile_atomic_u64_fetch_add(mine, 0, 5, NULL) != MAPFILE_OK) _exit(3);
        _exit(mapfile_close(mine) == MAPFILE_OK ? 0 : 4);
    }
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_or_create(path, PAGE, &m));
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (m != NULL) {
        CHECK(mapfile_len(m) == PAGE);
        CHECK_OK(mapfile_atomic_u64_fetch_add(m, 0, 2, NULL));
        uint64_t total = 0;
        CHECK_OK(mapfile_atomic_u64_load(m, 0, &total));
        CHECK(total == 7);
        CHECK_OK(mapfile_close(m));
    }
    CHECK(unlink(path) == 0); /* it outlives the processes until somebody removes it */
}

/* The VmFlags of the mapping holding `address` in /proc/self/smaps ("" when not found). */
static const char *vm_flags_of(const void *address) {
    static char flags[512];
    flags[0] = '\0';
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (smaps == NULL) return flags;
    char line[512];
    int inside = 0;
    while (fgets(line, sizeof line, smaps) != NULL) {
        unsigned long start = 0, end = 0;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)address >= start && (uintptr_t)address < end;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, sizeof flags, "%s", line + 8);
            break;
        }
    }
    fclose(smaps);
    return flags;
}

static long meminfo_value(const char *key) {
    FILE *meminfo = fopen("/proc/meminfo", "r");
    if (meminfo == NULL) return -1;
    char line[256];
    long value = -1;
    size_t key_len = strlen(key);
    while (fgets(line, sizeof line, meminfo) != NULL) {
        if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
            value = strtol(line + key_len + 1, NULL, 10);
            break;
        }
    }
    fclose(meminfo);
    return value;
}

/* More huge pages than the system has free: normal pages, the size as asked, and
 * mapfile_huge_pages says so. */
TEST(huge_pages_fall_back_to_normal_pages_when_none_are_free) {
    long free_pages = meminfo_value("HugePages_Free");
    long huge_kib = meminfo_value("Hugepagesize");
    CHECK(free_pages >= 0 && huge_kib > 0);
    if (free_pages < 0 || huge_kib <= 0) return;
    uint64_t size = (uint64_t)(free_pages + 1) * (uint64_t)huge_kib * 1024 - 100;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_anonymous(size, MAPFILE_FLAG_HUGE_PAGES, &m));
    if (m == NULL) return;
    CHECK(mapfile_len(m) == size);
    CHECK(mapfile_huge_pages(m) == 0);
    const uint8_t *p = NULL;
    CHECK_OK(mapfile_slice(m, 0, 1, &p));
    CHECK(strstr(vm_flags_of(p), " ht") == NULL);
    CHECK_OK(mapfile_atomic_u64_store(m, size - 100 - 8, 5));
    CHECK_OK(mapfile_close(m));
}

TEST(huge_pages_are_used_when_the_system_has_them_reserved) {
    long free_pages = meminfo_value("HugePages_Free");
    long huge_kib = meminfo_value("Hugepagesize");
    if (free_pages < 2)
        SKIP("no huge pages reserved (HugePages_Free %ld; as root: sysctl vm.nr_hugepages=8); "
             "only the fallback is tested", free_pages);
    uint64_t huge = (uint64_t)huge_kib * 1024;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_memfd("huge", huge + 1, MAPFILE_FLAG_HUGE_PAGES, &m));
    if (m == NULL) return;
    CHECK(mapfile_len(m) == 2 * huge); /* rounded up to whole huge pages */
    CHECK(mapfile_huge_pages(m) == 1);
    const uint8_t *p = NULL;
    CHECK_OK(mapfile_slice(m, 0, 1, &p));
    CHECK(strstr(vm_flags_of(p), " ht") != NULL);
    CHECK(meminfo_value("HugePages_Free") == free_pages - 2); /* allocated at open */
    int seals = fcntl(mapfile_fd(m), F_GET_SEALS);
    CHECK(seals >= 0 && (seals & F_SEAL_GROW) && (seals & F_SEAL_SHRINK));
    CHECK_STATUS(mapfile_resize(m, 3 * huge), MAPFILE_ERR_UNSUPPORTED);
    CHECK_OK(mapfile_write(m, 2 * huge - 4, "last", 4));
    /* a receiver of the descriptor gets huge pages too */
    mapfile_t *other = open_fd_with(mapfile_fd(m), MAPFILE_MODE_READ_ONLY);
    CHECK(other != NULL);
    if (other != NULL) {
        CHECK(mapfile_huge_pages(other) == 1);
        char back[4] = {0};
        CHECK_OK(mapfile_read(other, 2 * huge - 4, back, 4));
        CHECK(memcmp(back, "last", 4) == 0);
        CHECK_OK(mapfile_close(other));
    }
    CHECK_OK(mapfile_close(m));
    CHECK(meminfo_value("HugePages_Free") == free_pages);
}

/* A file mapping with MAPFILE_FLAG_HUGE_PAGES is advised MADV_HUGEPAGE ("hg" in VmFlags); what
 * it really got is what smaps says, never just what was asked. */
TEST(huge_pages_flag_asks_transparent_huge_pages_for_files) {
    const char *path = scratch_path("shm-thp");
    CHECK(write_pattern_file(path, 4 * PAGE) == 0);
    mapfile_options options;
    mapfile_options_init(&options);
    options.flags = MAPFILE_FLAG_HUGE_PAGES;
    mapfile_t *m = NULL;
    CHECK_OK(mapfile_open_with(path, &options, &m));
    if (m == NULL) return;
    const uint8_t *p = NULL;
    CHECK_OK(mapfile_slice(m, 0, 1, &p));
    CHECK(strstr(vm_flags_of(p), " hg") != NULL);
    /* a 16 KiB file cannot hold a 2 MiB page: the honest answer is no */
    CHECK(mapfile_huge_pages(m) == 0);
    CHECK_OK(mapfile_close(m));
    mapfile_t *plain = NULL;
    CHECK_OK(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &plain));
    if (plain == NULL) return;
    CHECK_OK(mapfile_slice(plain, 0, 1, &p));
    CHECK(strstr(vm_flags_of(p), " hg") == NULL);
    CHECK_OK(mapfile_close(plain));
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(sealed_memory_needs_no_sigbus_handler);
    RUN(anonymous_memory_is_zeroed_private_to_the_library_and_shared_with_children);
    RUN(anonymous_memory_carries_futex_wait_and_wake_across_fork);
    RUN(anonymous_and_memfd_refuse_bad_arguments);
    RUN(memfd_is_sealed_against_shrinking_and_may_grow);
    RUN(memfd_passes_to_another_process_over_scm_rights);
    RUN(memfd_growth_reaches_other_handles_by_refresh_and_read_only_ones_never_write);
    RUN(named_shared_memory_is_a_file_under_dev_shm);
    RUN(huge_pages_fall_back_to_normal_pages_when_none_are_free);
    RUN(huge_pages_are_used_when_the_system_has_them_reserved);
    RUN(huge_pages_flag_asks_transparent_huge_pages_for_files);
    FINISH();
}
