/* For hosts that own SIGBUS: MAPFILE_SIGBUS_OFF (pread/pwrite, no handler), MAPFILE_SIGBUS_HOST_CHAINS
 * (the host calls mapfile_sigbus_handle), the MAPFILE_SIGBUS environment variable, and a program
 * that installs its handler after the library's (API.md 12). The mode is per process and frozen at
 * the first mapping, so every scenario runs in a fresh child and the parent never maps anything. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096, SIZE = 8 * PAGE };



/* Guarded operations over a truncated file give TRUNCATED; kept bytes read right. */
static void expect_guarded_behaviour(const char *name, uint32_t mode) {
    const char *path = scratch_path(name);
    EXPECT(write_pattern_file(path, SIZE) == 0);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, mode, &m) == MAPFILE_OK);
    EXPECT(truncate(path, 2 * PAGE + 10) == 0);
    uint8_t buffer[PAGE];
    uint64_t count = 0, position = 0;
    EXPECT(mapfile_read(m, 5 * PAGE, buffer, 100) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_count_byte(m, 0, SIZE, 'a', &count) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_find(m, 0, "\xff\xff", 2, &position) == MAPFILE_ERR_TRUNCATED);
    /* prefault answers the same in every mode (OFF: from the file's size, not the mapping). */
    EXPECT(mapfile_prefault(m, 0, SIZE) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_prefault(m, 0, 2 * PAGE) == MAPFILE_OK);
    EXPECT(mapfile_read(m, PAGE, buffer, PAGE) == MAPFILE_OK);
    for (int i = 0; i < PAGE; i++) EXPECT(buffer[i] == pattern_byte(PAGE + i));
    EXPECT(mapfile_count_byte(m, 0, 2 * PAGE, pattern_byte(1), &count) == MAPFILE_OK && count > 0);
    uint8_t needle[3] = {pattern_byte(5000), pattern_byte(5001), pattern_byte(5002)};
    EXPECT(mapfile_find(m, 0, needle, 3, &position) == MAPFILE_OK && position != MAPFILE_NPOS);
    if (mode == MAPFILE_MODE_READ_WRITE) {
        EXPECT(mapfile_write(m, 6 * PAGE, "gone", 4) == MAPFILE_ERR_TRUNCATED);
        EXPECT(mapfile_write(m, 10, "kept", 4) == MAPFILE_OK);
    }
    EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

/* SIGBUS off: what only the mapping can answer is refused up front (UNSUPPORTED), never a death:
 * COPY_ON_WRITE (its private bytes are only in the mapping) and atomics. */
static void expect_off_refusals(const char *name) {
    const char *path = scratch_path(name);
    EXPECT(write_pattern_file(path, SIZE) == 0);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_COPY_ON_WRITE, &m) == MAPFILE_ERR_UNSUPPORTED);
    EXPECT(m == NULL);
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m) == MAPFILE_OK);
    uint64_t value = 0;
    EXPECT(mapfile_atomic_u64_load(m, 0, &value) == MAPFILE_ERR_UNSUPPORTED);
    EXPECT(mapfile_atomic_u64_fetch_add(m, 8, 1, NULL) == MAPFILE_ERR_UNSUPPORTED);
    /* argument checks still come first */
    EXPECT(mapfile_atomic_u64_load(m, 4, &value) == MAPFILE_ERR_MISALIGNED);
    EXPECT(truncate(path, 0) == 0);
    EXPECT(mapfile_atomic_u64_store(m, 8 * PAGE - 8, 1) == MAPFILE_ERR_UNSUPPORTED); /* alive */
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

static void off_scenario(void) {
    EXPECT(mapfile_sigbus_mode(MAPFILE_SIGBUS_OFF) == MAPFILE_OK);
    expect_guarded_behaviour("off-ro", MAPFILE_MODE_READ_ONLY);
    expect_guarded_behaviour("off-rw", MAPFILE_MODE_READ_WRITE);
    /* prefault without a handler asks the kernel to read the pages in, without touching them */
    {
        mapfile_t *m = NULL;
        EXPECT(write_pattern_file(scratch_path("off-prefault"), SIZE) == 0);
        EXPECT(mapfile_open(scratch_path("off-prefault"), MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
        EXPECT(mapfile_prefault(m, 0, SIZE) == MAPFILE_OK);
        EXPECT(truncate(scratch_path("off-prefault"), 0) == 0);
        /* never a SIGBUS; TRUNCATED, as the default mode answers */
        EXPECT(mapfile_prefault(m, 0, SIZE) == MAPFILE_ERR_TRUNCATED);
        EXPECT(mapfile_close(m) == MAPFILE_OK);
    }
    /* no handler was installed */
    struct sigaction now;
    EXPECT(sigaction(SIGBUS, NULL, &now) == 0 && now.sa_handler == SIG_DFL);
    /* the raw guard needs a handler */
    mapfile_options options;
    mapfile_options_init(&options);
    options.flags = MAPFILE_FLAG_GUARD_RAW;
    mapfile_t *m = NULL;
    EXPECT(write_pattern_file(scratch_path("off-raw"), SIZE) == 0);
    EXPECT(mapfile_open_with(scratch_path("off-raw"), &options, &m) == MAPFILE_ERR_UNSUPPORTED);
    expect_off_refusals("off-refusals");
    /* the mode is frozen now */
    EXPECT(mapfile_sigbus_mode(MAPFILE_SIGBUS_INSTALL) == MAPFILE_ERR_INVALID_ARG);
    EXPECT(mapfile_sigbus_mode(MAPFILE_SIGBUS_OFF) == MAPFILE_OK);
}

/* MAPFILE_SIGBUS_OFF: guarded reads use pread, a cancellation point. A thread cancelled while it
 * reads ends at its next cancellation point outside the library (inside, the unwind through the
 * library's Rust frames would abort the process). */
static mapfile_t *pread_handle;

static uint8_t pread_bytes[64]; /* not on the worker's stack: see test_threads.c's workers */

static void *pread_worker(void *argument) {
    (void)argument;
    for (;;) {
        mapfile_read(pread_handle, 100, pread_bytes, sizeof pread_bytes);
        pthread_testcancel();
    }
    return NULL;
}

static void off_cancel_scenario(void) {
    EXPECT(mapfile_sigbus_mode(MAPFILE_SIGBUS_OFF) == MAPFILE_OK);
    EXPECT(write_pattern_file(scratch_path("off-cancel"), SIZE) == 0);
    EXPECT(mapfile_open(scratch_path("off-cancel"), MAPFILE_MODE_READ_ONLY, &pread_handle) == MAPFILE_OK);
    cancel_rounds(pread_worker, NULL, 10);
    uint8_t byte = 0;
    EXPECT(mapfile_read(pread_handle, 100, &byte, 1) == MAPFILE_OK && byte == pattern_byte(100));
    EXPECT(mapfile_close(pread_handle) == MAPFILE_OK);
}

TEST(sigbus_off_reads_cancelled_threads_end_cleanly) {
    CHECK(child_ok(off_cancel_scenario));
}

TEST(sigbus_off_mode_guards_with_pread_and_installs_nothing) {
    CHECK(child_ok(off_scenario));
}

static void environment_scenario(void) {
    setenv("MAPFILE_SIGBUS", "off", 1);
    /* The variable decides before the first open does anything: GUARD_RAW is refused. */
    mapfile_options options;
    mapfile_options_init(&options);
    options.flags = MAPFILE_FLAG_GUARD_RAW;
    mapfile_t *m = NULL;
    EXPECT(write_pattern_file(scratch_path("env-raw"), SIZE) == 0);
    EXPECT(mapfile_open_with(scratch_path("env-raw"), &options, &m) == MAPFILE_ERR_UNSUPPORTED);
    expect_guarded_behaviour("env-off", MAPFILE_MODE_READ_ONLY);
    expect_off_refusals("env-refusals");
    struct sigaction now;
    EXPECT(sigaction(SIGBUS, NULL, &now) == 0 && now.sa_handler == SIG_DFL);
}

TEST(sigbus_environment_variable_switches_the_handler_off) {
    CHECK(child_ok(environment_scenario));
}

/* The host's handler: asks the library first, handles the rest itself. */
static sigjmp_buf host_jump;
static volatile sig_atomic_t host_handled;

static void host_handler(int signal, siginfo_t *info, void *context) {
    if (mapfile_sigbus_handle(signal, info, context)) return;
    host_handled++;
    siglongjmp(host_jump, 1);
}

static void install_host_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = host_handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    EXPECT(sigaction(SIGBUS, &action, NULL) == 0);
}

static void host_own_fault(void) {
    const char *path = scratch_path("host-own");
    EXPECT(write_pattern_file(path, SIZE) == 0);
    int fd = open(path, O_RDONLY);
    const uint8_t *raw = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT(raw != MAP_FAILED);
    EXPECT(truncate(path, 0) == 0);
    if (sigsetjmp(host_jump, 1) == 0) {
        volatile uint8_t sink = raw[SIZE - 1];
        (void)sink;
        _exit(60);
    }
    EXPECT(host_handled == 1);
    munmap((void *)raw, SIZE);
    close(fd);
}

static void host_chains_scenario(void) {
    EXPECT(mapfile_sigbus_mode(MAPFILE_SIGBUS_HOST_CHAINS) == MAPFILE_OK);
    install_host_handler();
    expect_guarded_behaviour("host-ro", MAPFILE_MODE_READ_ONLY);
    /* the library left the host's handler in place */
    struct sigaction now;
    EXPECT(sigaction(SIGBUS, NULL, &now) == 0 && now.sa_sigaction == host_handler);
    host_own_fault();
    EXPECT(mapfile_sigbus_handle(SIGSEGV, NULL, NULL) == 0);
    EXPECT(mapfile_sigbus_handle(SIGBUS, NULL, NULL) == 0);
}

TEST(host_chains_mode_recovers_through_the_hosts_handler) {
    CHECK(child_ok(host_chains_scenario));
}

/* API.md 12: a handler installed after the library's replaces it; one that chains through
 * mapfile_sigbus_handle keeps the guard working. */
static void late_handler_scenario(void) {
    const char *path = scratch_path("late");
    EXPECT(write_pattern_file(path, SIZE) == 0);
    mapfile_t *first = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &first) == MAPFILE_OK); /* library handler in */
    install_host_handler();                                                     /* replaced */
    expect_guarded_behaviour("late-ro", MAPFILE_MODE_READ_ONLY);
    host_own_fault();
    EXPECT(mapfile_close(first) == MAPFILE_OK);
}

TEST(late_program_handler_that_chains_keeps_the_guard) {
    CHECK(child_ok(late_handler_scenario));
}

TEST(unknown_sigbus_mode_is_invalid_arg) {
    CHECK_STATUS(mapfile_sigbus_mode(3), MAPFILE_ERR_INVALID_ARG);
    CHECK_STATUS(mapfile_sigbus_mode(UINT32_MAX), MAPFILE_ERR_INVALID_ARG);
}

int main(int argc, char **argv) {
    START(argc, argv);
    RUN(sigbus_off_mode_guards_with_pread_and_installs_nothing);
    RUN(sigbus_off_reads_cancelled_threads_end_cleanly);
    RUN(sigbus_environment_variable_switches_the_handler_off);
    RUN(host_chains_mode_recovers_through_the_hosts_handler);
    RUN(late_program_handler_that_chains_keeps_the_guard);
    RUN(unknown_sigbus_mode_is_invalid_arg);
    FINISH();
}
