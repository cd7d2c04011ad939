/* A full filesystem, for real: each scenario runs in a child that enters a private mount namespace
 * and mounts a 64 KiB tmpfs. It proves that create/resize reserve space up front (NO_SPACE, with
 * nothing left behind) and that a write fault on a page still inside the file (a hole that cannot
 * be allocated: SIGBUS with the page inside EOF) is MAPFILE_ERR_IO, not a crash. Needs
 * CAP_SYS_ADMIN (root): without it, every test says loudly that it was skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

enum { SKIPPED = 77 };

static char mount_point[4096];

/* In the child: a private namespace with a small tmpfs at mount_point, or exit SKIPPED. */
static void enter_small_filesystem(void) {
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", mount_point, "tmpfs", 0, "size=64k") != 0) {
        fprintf(stderr, "  SKIPPED: cannot mount a small tmpfs here (%s): needs CAP_SYS_ADMIN\n", strerror(errno));
        _exit(SKIPPED);
    }
}

/* Fills the filesystem to the last byte. */
static void fill_filesystem(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/filler", mount_point);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char block[4096];
    while (fd >= 0 && write(fd, block, sizeof block) > 0) {
    }
    if (fd >= 0) close(fd);
}

static int run_scenario(void (*scenario)(void)) {
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        alarm(30);
        enter_small_filesystem();
        scenario();
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIPPED) return SKIPPED;
    if (WIFSIGNALED(status)) fprintf(stderr, "  child died by signal %d\n", WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#define RUN_IN_SMALL_FILESYSTEM(scenario)                   \
    do {                                                    \
        int result_ = run_scenario(scenario);               \
        if (result_ == SKIPPED) SKIP("no small tmpfs for %s", #scenario); \
        CHECK(result_ == 1);                                \
    } while (0)

static void create_scenario(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/big", mount_point);
    mapfile_t *m = NULL;
    errno = 0;
    EXPECT(mapfile_create(path, 1 << 20, &m) == MAPFILE_ERR_NO_SPACE);
    EXPECT(errno == ENOSPC);
    EXPECT(m == NULL);
    EXPECT(access(path, F_OK) != 0); /* nothing half-made left behind */
    EXPECT(mapfile_open_or_create(path, 1 << 20, &m) == MAPFILE_ERR_NO_SPACE);
    EXPECT(mapfile_create(path, 8192, &m) == MAPFILE_OK); /* what fits, fits */
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(create_on_a_full_filesystem_is_no_space_and_leaves_nothing) {
    RUN_IN_SMALL_FILESYSTEM(create_scenario);
}

static void resize_scenario(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/grow", mount_point);
    mapfile_t *m = NULL;
    EXPECT(mapfile_create(path, 4096, &m) == MAPFILE_OK);
    EXPECT(mapfile_write(m, 0, "kept", 4) == MAPFILE_OK);
    errno = 0;
    EXPECT(mapfile_resize(m, 1 << 20) == MAPFILE_ERR_NO_SPACE);
    EXPECT(errno == ENOSPC);
    EXPECT(mapfile_len(m) == 4096);
    char kept[4];
    EXPECT(mapfile_read(m, 0, kept, 4) == MAPFILE_OK && memcmp(kept, "kept", 4) == 0);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(resize_beyond_the_free_space_is_no_space_and_keeps_the_data) {
    RUN_IN_SMALL_FILESYSTEM(resize_scenario);
}

/* A sparse file (made without mapfile, so no blocks were reserved) on a full filesystem: the
 * page is inside the file, but writing it needs a block that does not exist. Plain mmap dies by
 * SIGBUS here; mapfile_write returns MAPFILE_ERR_IO and the process lives. */
static void hole_scenario(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/sparse", mount_point);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    EXPECT(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);
    fill_filesystem();
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m) == MAPFILE_OK);
    errno = 0;
    EXPECT(mapfile_write(m, 500000, "no block for me", 15) == MAPFILE_ERR_IO);
    EXPECT(errno == EIO);
    EXPECT(strstr(mapfile_last_error_message(), "file offset 499712") != NULL); /* the page of 500000 */
    EXPECT(mapfile_write(m, 0, "elsewhere", 9) == MAPFILE_OK || errno == EIO); /* other pages: as the disk allows */
    EXPECT(mapfile_check(m) == MAPFILE_ERR_IO);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(writing_a_hole_on_a_full_filesystem_is_io_not_a_crash) {
    RUN_IN_SMALL_FILESYSTEM(hole_scenario);
}

int main(int argc, char **argv) {
    START(argc, argv);
    snprintf(mount_point, sizeof mount_point, "%s/small-fs", scratch_dir);
    if (mkdir(mount_point, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", mount_point, strerror(errno));
        return 1;
    }
    RUN(create_on_a_full_filesystem_is_no_space_and_leaves_nothing);
    RUN(resize_beyond_the_free_space_is_no_space_and_keeps_the_data);
    RUN(writing_a_hole_on_a_full_filesystem_is_io_not_a_crash);
    FINISH();
}
