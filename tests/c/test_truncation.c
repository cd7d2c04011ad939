/* The truncation guard (API.md 7): a file shrunk under a live mapping never kills the program.
 * Every scenario runs in a forked child, so an unexpected death is a failed test, not a dead run,
 * and the scenarios whose expected outcome IS death (raw access without MAPFILE_FLAG_GUARD_RAW)
 * can check that it happened by SIGBUS. */
#define _GNU_SOURCE /* fork, truncate, mkfifo, setenv, usleep... in -std=c99 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum { PAGE = 4096, PAGES = 16, SIZE = PAGES * PAGE };

/* Runs `scenario` in a child; returns the raw wait status. A child that hangs is killed after
 * `seconds` (and then shows as killed by SIGKILL). */
static int exited_cleanly(int status) {
    if (WIFSIGNALED(status)) fprintf(stderr, "  child died by signal %d\n", WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) fprintf(stderr, "  child exited %d\n", WEXITSTATUS(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int died_by_sigbus(int status) {
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)) {
        fprintf(stderr, "  expected death by SIGBUS, got %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return 0;
    }
    return 1;
}


static char disk_dir[4096];
static char shm_dir[4096];

struct matrix_case {
    const char *dir;
    uint32_t mode;
    long long new_size;
};

static const char *mode_name(uint32_t mode) {
    return mode == MAPFILE_MODE_READ_ONLY ? "READ_ONLY" : mode == MAPFILE_MODE_READ_WRITE ? "READ_WRITE" : "COPY_ON_WRITE";
}

static void make_file(const char *path) {
    EXPECT(write_pattern_file(path, SIZE) == 0);
}

/* The guarded operations over a truncated mapping: TRUNCATED over lost bytes, OK and right data
 * over kept ones, check reports it, refresh adopts the new length. */
static void matrix_scenario(const void *argument) {
    const struct matrix_case *c = (const struct matrix_case *)argument;
    char path[4200];
    snprintf(path, sizeof path, "%s/matrix-%s-%lld", c->dir, mode_name(c->mode), c->new_size);
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, c->mode, &m) == MAPFILE_OK);
    const long long kept = c->new_size;
    EXPECT(truncate(path, kept) == 0);

    uint8_t buffer[SIZE];
    /* a read over lost bytes: TRUNCATED, and the process lives */
    EXPECT(mapfile_read(m, (uint64_t)kept, buffer, SIZE - (size_t)kept) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_read(m, SIZE - 10, buffer, 10) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_read(m, 0, buffer, SIZE) == MAPFILE_ERR_TRUNCATED);
    /* every guarded operation over lost bytes says so */
    uint64_t count = 0, position = 0;
    EXPECT(mapfile_count_byte(m, 0, SIZE, pattern_byte(3), &count) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_find(m, 0, "\xff\xfe\xfd", 3, &position) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_prefault(m, 0, SIZE) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_atomic_u64_load(m, SIZE - 8, &count) == MAPFILE_ERR_TRUNCATED);
    if (c->mode != MAPFILE_MODE_READ_ONLY) {
        EXPECT(mapfile_write(m, SIZE - 5, "lost!", 5) == MAPFILE_ERR_TRUNCATED);
    }
    /* operations wholly on bytes still in the file keep succeeding, with the right data */
    if (kept > 0) {
        EXPECT(mapfile_read(m, 0, buffer, (size_t)kept) == MAPFILE_OK);
        for (long long i = 0; i < kept; i++) EXPECT(buffer[i] == pattern_byte((unsigned long long)i));
        EXPECT(mapfile_count_byte(m, 0, (uint64_t)kept, pattern_byte(0), &count) == MAPFILE_OK);
        uint64_t expected = 0;
        for (long long i = 0; i < kept; i++) expected += pattern_byte((unsigned long long)i) == pattern_byte(0);
        EXPECT(count == expected);
        if (c->mode != MAPFILE_MODE_READ_ONLY) EXPECT(mapfile_write(m, 0, "k", 1) == MAPFILE_OK);
    }
    if (kept >= 300) {
        /* a match wholly before the lost bytes depends only on kept bytes: it is found */
        uint8_t needle[3] = {pattern_byte(251 + 10), pattern_byte(251 + 11), pattern_byte(251 + 12)};
        EXPECT(mapfile_find(m, 20, needle, 3, &position) == MAPFILE_OK && position == 261);
    }
    /* from then on check says TRUNCATED, with errno and a message */
    EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
    EXPECT(strstr(mapfile_last_error_message(), "shrank") != NULL);
    /* refresh adopts the new length and clears it */
    EXPECT(mapfile_refresh(m) == MAPFILE_OK);
    EXPECT(mapfile_len(m) == (uint64_t)kept);
    EXPECT(mapfile_check(m) == MAPFILE_OK);
    EXPECT(mapfile_read(m, 0, buffer, (size_t)kept) == MAPFILE_OK);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
    unlink(path);
}

TEST(truncation_matrix_mode_by_size_by_filesystem_never_kills) {
    const uint32_t modes[] = {MAPFILE_MODE_READ_ONLY, MAPFILE_MODE_READ_WRITE, MAPFILE_MODE_COPY_ON_WRITE};
    const long long sizes[] = {0, 5 * PAGE, 5 * PAGE + 123};
    const char *dirs[] = {disk_dir, shm_dir};
    for (int d = 0; d < 2; d++) {
        for (int m = 0; m < 3; m++) {
            for (int s = 0; s < 3; s++) {
                struct matrix_case c = {dirs[d], modes[m], sizes[s]};
                int status = run_in_child(matrix_scenario, &c, 30);
                if (!exited_cleanly(status)) {
                    fprintf(stderr, "  case: %s, %s, truncated to %lld\n", dirs[d], mode_name(modes[m]), sizes[s]);
                }
                CHECK(exited_cleanly(status));
            }
        }
    }
}

/* Another process truncates; this one keeps working. */
static void other_process_scenario(const void *argument) {
    (void)argument;
    const char *path = scratch_path("other-process");
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    uint8_t buffer[64];
    EXPECT(mapfile_read(m, SIZE - 64, buffer, 64) == MAPFILE_OK);
    pid_t truncator = fork();
    if (truncator == 0) {
        int fd = open(path, O_WRONLY);
        _exit(fd >= 0 && ftruncate(fd, 2 * PAGE) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(truncator, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT(mapfile_read(m, SIZE - 64, buffer, 64) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_read(m, PAGE, buffer, 64) == MAPFILE_OK);
    EXPECT(buffer[0] == pattern_byte(PAGE));
    EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(truncation_by_another_process_is_survived) {
    CHECK(exited_cleanly(run_in_child(other_process_scenario, NULL, 30)));
}

/* The first touch of a lost page by each small guarded call (the calls with a fast path, see
 * docs/ARCHITECTURE.md "The guarded fast path"): TRUNCATED, never the zeros the guard put there.
 * Each call gets a fresh handle, so its own access is the one that faults; the mapping is the one
 * made at open, or one that a resize grew into a new region. */
enum { FAST_READ, FAST_WRITE, FAST_READ_LONG, FAST_WRITE_LONG, FAST_LOAD, FAST_FETCH_ADD, FAST_CAS32, FAST_CALLS };

static mapfile_status fast_call(mapfile_t *m, int call, uint64_t offset) {
    uint64_t value = 7;
    uint32_t small = 7;
    uint8_t record[100] = {7};
    switch (call) {
    case FAST_READ: return mapfile_read(m, offset, &value, 8);
    case FAST_WRITE: return mapfile_write(m, offset, &value, 8);
    case FAST_READ_LONG: return mapfile_read(m, offset, record, sizeof record); /* out-of-line fast path */
    case FAST_WRITE_LONG: return mapfile_write(m, offset, record, sizeof record);
    case FAST_LOAD: return mapfile_atomic_u64_load(m, offset, &value);
    case FAST_FETCH_ADD: return mapfile_atomic_u64_fetch_add(m, offset, 1, &value);
    default: return mapfile_atomic_u32_compare_exchange(m, offset, 0, 1, &small);
    }
}

static void fast_path_scenario(const void *argument) {
    (void)argument;
    char path[4200];
    snprintf(path, sizeof path, "%s/fast-path", disk_dir);
    for (int grown = 0; grown <= 1; grown++) {
        for (int call = 0; call < FAST_CALLS; call++) {
            EXPECT(write_pattern_file(path, grown ? PAGE : SIZE) == 0);
            mapfile_t *m = NULL;
            EXPECT(mapfile_open(path, MAPFILE_MODE_READ_WRITE, &m) == MAPFILE_OK);
            if (grown) { /* past the first mapping's capacity: a new region, at a new base */
                const uint8_t *before = NULL, *after = NULL;
                EXPECT(mapfile_slice(m, 0, 0, &before) == MAPFILE_OK);
                EXPECT(mapfile_resize(m, SIZE) == MAPFILE_OK);
                EXPECT(mapfile_slice(m, 0, 0, &after) == MAPFILE_OK && after != before);
            }
            EXPECT(truncate(path, 0) == 0);
            mapfile_status status = fast_call(m, call, 5 * PAGE + 8);
            if (status != MAPFILE_ERR_TRUNCATED) fprintf(stderr, "  call %d (grown %d) answered %d\n", call, grown, status);
            EXPECT(status == MAPFILE_ERR_TRUNCATED);
            EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
            EXPECT(mapfile_close(m) == MAPFILE_OK);
        }
    }
    unlink(path);
}

TEST(fast_calls_on_a_lost_page_answer_truncated_not_zeros) {
    CHECK(exited_cleanly(run_in_child(fast_path_scenario, NULL, 30)));
}

/* Inside the last page nothing faults (the kernel shows zeros): check still reports it. */
static void partial_page_scenario(const void *argument) {
    (void)argument;
    const char *path = scratch_path("partial");
    EXPECT(write_pattern_file(path, 3000) == 0);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    EXPECT(mapfile_check(m) == MAPFILE_OK);
    EXPECT(truncate(path, 1000) == 0);
    EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
    uint8_t byte = 0;
    EXPECT(mapfile_read(m, 999, &byte, 1) == MAPFILE_OK && byte == pattern_byte(999));
    EXPECT(mapfile_refresh(m) == MAPFILE_OK && mapfile_len(m) == 1000);
    EXPECT(mapfile_check(m) == MAPFILE_OK);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(partial_page_truncation_is_reported_by_check) {
    CHECK(exited_cleanly(run_in_child(partial_page_scenario, NULL, 30)));
}

/* Without MAPFILE_FLAG_GUARD_RAW a raw pointer into lost pages dies by SIGBUS, as plain mmap does. */
static void raw_unguarded_scenario(const void *argument) {
    const char *dir = (const char *)argument;
    char path[4200];
    snprintf(path, sizeof path, "%s/raw-unguarded", dir);
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    const uint8_t *bytes = NULL;
    EXPECT(mapfile_slice(m, 0, SIZE, &bytes) == MAPFILE_OK);
    EXPECT(truncate(path, PAGE) == 0);
    volatile uint8_t sink = bytes[SIZE - 1]; /* dies here */
    (void)sink;
    _exit(50); /* must not get here */
}

TEST(raw_access_without_guard_dies_by_sigbus_like_plain_mmap) {
    CHECK(died_by_sigbus(run_in_child(raw_unguarded_scenario, disk_dir, 30)));
    CHECK(died_by_sigbus(run_in_child(raw_unguarded_scenario, shm_dir, 30)));
}

/* With MAPFILE_FLAG_GUARD_RAW raw reads of lost pages see zeros and the process lives on. */
static void raw_guarded_scenario(const void *argument) {
    const char *dir = (const char *)argument;
    const uint32_t modes[] = {MAPFILE_MODE_READ_ONLY, MAPFILE_MODE_READ_WRITE, MAPFILE_MODE_COPY_ON_WRITE};
    for (int i = 0; i < 3; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/raw-guarded-%d", dir, i);
        make_file(path);
        mapfile_options options;
        mapfile_options_init(&options);
        options.mode = modes[i];
        options.flags = MAPFILE_FLAG_GUARD_RAW;
        mapfile_t *m = NULL;
        EXPECT(mapfile_open_with(path, &options, &m) == MAPFILE_OK);
        const uint8_t *bytes = NULL;
        EXPECT(mapfile_slice(m, 0, SIZE, &bytes) == MAPFILE_OK);
        EXPECT(bytes[PAGE] == pattern_byte(PAGE));
        EXPECT(truncate(path, PAGE + 100) == 0);
        unsigned sum = 0;
        for (int j = 2 * PAGE; j < SIZE; j++) sum += bytes[j]; /* lost pages: zeros */
        EXPECT(sum == 0);
        EXPECT(bytes[PAGE + 99] == pattern_byte(PAGE + 99)); /* kept bytes intact */
        if (modes[i] != MAPFILE_MODE_READ_ONLY) {
            uint8_t *writable = NULL;
            EXPECT(mapfile_slice_mut(m, 0, SIZE, &writable) == MAPFILE_OK);
            writable[SIZE - 1] = 7; /* lands in a zero page: gone, but no crash */
        }
        EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
        uint8_t byte = 0;
        EXPECT(mapfile_read(m, SIZE - 1, &byte, 1) == MAPFILE_ERR_TRUNCATED);
        EXPECT(mapfile_close(m) == MAPFILE_OK);
    }
}

TEST(raw_guard_flag_reads_zeros_instead_of_dying) {
    CHECK(exited_cleanly(run_in_child(raw_guarded_scenario, disk_dir, 30)));
    CHECK(exited_cleanly(run_in_child(raw_guarded_scenario, shm_dir, 30)));
}

/* A program's own SIGBUS handler, installed before the library's, still runs for its own mappings,
 * including one that siglongjmps out (the seed's pattern). */
static sigjmp_buf program_jump;
static volatile sig_atomic_t program_handler_ran;

static void program_plain_handler(int signal) {
    (void)signal;
    program_handler_ran++;
    siglongjmp(program_jump, 1);
}

static void program_siginfo_handler(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    program_handler_ran += info != NULL && info->si_code == BUS_ADRERR ? 1 : 1000;
    siglongjmp(program_jump, 1);
}

static void own_mapping_fault(const char *path) {
    make_file(path);
    int fd = open(path, O_RDONLY);
    EXPECT(fd >= 0);
    const uint8_t *raw = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT(raw != MAP_FAILED);
    EXPECT(ftruncate(open(path, O_WRONLY), PAGE) == 0);
    if (sigsetjmp(program_jump, 1) == 0) {
        volatile uint8_t sink = raw[SIZE - 1];
        (void)sink;
        _exit(60); /* the fault must not be swallowed */
    }
    EXPECT(program_handler_ran == 1);
    munmap((void *)raw, SIZE);
    close(fd);
}

static void chaining_scenario(const void *argument) {
    int use_siginfo = *(const int *)argument;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    if (use_siginfo) {
        action.sa_sigaction = program_siginfo_handler;
        action.sa_flags = SA_SIGINFO;
    } else {
        action.sa_handler = program_plain_handler;
    }
    sigemptyset(&action.sa_mask);
    EXPECT(sigaction(SIGBUS, &action, NULL) == 0);
    /* the library installs its handler now, on top of the program's */
    const char *path = scratch_path(use_siginfo ? "chain-lib-info" : "chain-lib-plain");
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    struct sigaction now;
    EXPECT(sigaction(SIGBUS, NULL, &now) == 0);
    EXPECT((now.sa_flags & SA_SIGINFO) && now.sa_sigaction != program_siginfo_handler);
    /* the program's own mapping faults: its handler runs and jumps out */
    own_mapping_fault(scratch_path(use_siginfo ? "chain-own-info" : "chain-own-plain"));
    /* and the library still guards its own mapping */
    EXPECT(truncate(path, 0) == 0);
    uint8_t byte = 0;
    EXPECT(mapfile_read(m, SIZE - 1, &byte, 1) == MAPFILE_ERR_TRUNCATED);
    EXPECT(program_handler_ran == 1);
    /* a SIGBUS sent with raise goes to the program's handler too */
    if (sigsetjmp(program_jump, 1) == 0) {
        raise(SIGBUS);
        _exit(61);
    }
    EXPECT(program_handler_ran == (use_siginfo ? 1001 : 2));
    mapfile_close(m);
}

TEST(program_sigbus_handlers_still_run_for_their_own_faults) {
    int plain = 0, siginfo = 1;
    CHECK(exited_cleanly(run_in_child(chaining_scenario, &plain, 30)));
    CHECK(exited_cleanly(run_in_child(chaining_scenario, &siginfo, 30)));
}

/* What the program's previous handler saw when the library chained to it (shared with the
 * parent through an anonymous shared page). */
static volatile int *seen;

static void flag_recording_handler(int signal, siginfo_t *info, void *context) {
    (void)info;
    (void)context;
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    seen[0]++;
    seen[1] = sigismember(&now, SIGUSR1);
    seen[2] = sigismember(&now, signal);
    siglongjmp(program_jump, 1);
}

static void reset_hand_handler(int signal) {
    (void)signal;
    seen[0]++; /* a crash reporter: log and return, expecting the re-fault to kill */
}

/* A raw fault on a mapping without GUARD_RAW, with the program's handler installed first. */
static void fault_through_the_library(const char *name, int flags, int siginfo) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGUSR1);
    action.sa_flags = flags;
    if (siginfo) action.sa_sigaction = flag_recording_handler;
    else action.sa_handler = reset_hand_handler;
    EXPECT(sigaction(SIGBUS, &action, NULL) == 0);
    const char *path = scratch_path(name);
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    const uint8_t *bytes = NULL;
    EXPECT(mapfile_slice(m, 0, SIZE, &bytes) == MAPFILE_OK);
    EXPECT(truncate(path, 0) == 0);
    if (sigsetjmp(program_jump, 1) == 0) {
        volatile uint8_t sink = bytes[SIZE - 1];
        (void)sink;
        _exit(90); /* the handler must not let the read complete */
    }
    /* back from the handler: the library still guards its own calls */
    uint8_t byte = 0;
    EXPECT(mapfile_read(m, SIZE - 1, &byte, 1) == MAPFILE_ERR_TRUNCATED);
    mapfile_close(m);
}

static void mask_scenario(const void *argument) {
    fault_through_the_library("chain-mask", SA_SIGINFO | *(const int *)argument, 1);
}
static void reset_hand_scenario(const void *argument) {
    (void)argument;
    fault_through_the_library("chain-resethand", SA_RESETHAND, 0);
}

/* API.md 7: SIGBUS that is not the library's reaches the previous handler unchanged, that is as
 * the kernel would deliver it: its sa_mask blocked (and SIGBUS unless SA_NODEFER), SA_RESETHAND
 * honoured (the crash-reporter pattern: log, return, die on the re-fault instead of looping). */
TEST(chaining_honours_the_previous_handlers_flags_and_mask) {
    seen = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(seen != MAP_FAILED);
    int no_flags = 0, nodefer = SA_NODEFER;
    memset((void *)seen, 0, 16);
    CHECK(exited_cleanly(run_in_child(mask_scenario, &no_flags, 30)));
    CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1); /* sa_mask and SIGBUS blocked */
    memset((void *)seen, 0, 16);
    CHECK(exited_cleanly(run_in_child(mask_scenario, &nodefer, 30)));
    CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 0); /* SA_NODEFER: SIGBUS not blocked */
    memset((void *)seen, 0, 16);
    CHECK(died_by_sigbus(run_in_child(reset_hand_scenario, NULL, 10)));
    CHECK(seen[0] == 1); /* ran once, then the default action: not a million times */
    munmap((void *)seen, 4096);
}

/* Only real faults are acted on: a SIGBUS forged with BUS_ADRERR at an intact GUARD_RAW page
 * (sigqueue to itself) goes to the program's handler, and the page stays the file's. */
static void forged_scenario(const void *argument) {
    (void)argument;
    /* The program's handler is there first: the library chains to it. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = flag_recording_handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    EXPECT(sigaction(SIGBUS, &action, NULL) == 0);
    const char *path = scratch_path("forged");
    make_file(path);
    mapfile_options options;
    mapfile_options_init(&options);
    options.mode = MAPFILE_MODE_READ_WRITE;
    options.flags = MAPFILE_FLAG_GUARD_RAW;
    mapfile_t *m = NULL;
    EXPECT(mapfile_open_with(path, &options, &m) == MAPFILE_OK);
    uint8_t *bytes = NULL;
    EXPECT(mapfile_slice_mut(m, 0, SIZE, &bytes) == MAPFILE_OK);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGBUS;
    info.si_code = BUS_ADRERR;
    info.si_addr = bytes + 100;
    if (sigsetjmp(program_jump, 1) == 0) {
        EXPECT(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGBUS, &info) == 0);
    }
    EXPECT(seen[0] == 1);                   /* the program's handler got it */
    EXPECT(mapfile_check(m) == MAPFILE_OK); /* nothing was marked lost */
    memcpy(bytes + 100, "still the file", 14);
    EXPECT(mapfile_flush(m) == MAPFILE_OK);
    EXPECT(file_bytes_equal(path, 100, "still the file", 14));
    mapfile_close(m);
}

TEST(forged_sigbus_at_an_intact_page_is_not_acted_on) {
    seen = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(seen != MAP_FAILED);
    memset((void *)seen, 0, 16);
    CHECK(exited_cleanly(run_in_child(forged_scenario, NULL, 30)));
    munmap((void *)seen, 4096);
}

/* A worker thread that blocks every signal (as worker pools do): a fault there would get the
 * default action from the kernel, so guarded calls must unblock SIGBUS around themselves. */
struct blocked_case {
    int block_late; /* blocks SIGBUS after its first calls, not before them */
    int first;      /* the first call over the lost bytes: 0 read, 1 count, 2 find (each would
                       take the fast path in a thread that does not block SIGBUS) */
};

static void *blocked_reader(void *argument) {
    const struct blocked_case *c = argument;
    char name[64];
    snprintf(name, sizeof name, "blocked-%s-%d", c->block_late ? "late" : "early", c->first);
    const char *path = scratch_path(name);
    sigset_t all, now;
    sigfillset(&all);
    if (!c->block_late) pthread_sigmask(SIG_BLOCK, &all, NULL);
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    uint8_t byte = 0;
    uint64_t count = 0, position = 0;
    EXPECT(mapfile_read(m, 0, &byte, 1) == MAPFILE_OK);
    if (c->block_late) {
        /* blocked after its first calls: seen within 1024 calls (the documented recheck) */
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        for (int i = 0; i < 1100; i++) EXPECT(mapfile_read(m, 10, &byte, 1) == MAPFILE_OK);
    }
    EXPECT(truncate(path, 0) == 0);
    if (c->first == 1) EXPECT(mapfile_count_byte(m, SIZE - PAGE, PAGE, 'x', &count) == MAPFILE_ERR_TRUNCATED);
    if (c->first == 2) EXPECT(mapfile_find(m, SIZE - PAGE, "#", 1, &position) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_read(m, SIZE - 1, &byte, 1) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_count_byte(m, 0, SIZE, 'x', &count) == MAPFILE_ERR_TRUNCATED);
    /* the thread's mask is as it was */
    EXPECT(pthread_sigmask(SIG_SETMASK, NULL, &now) == 0 && sigismember(&now, SIGBUS) == 1);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
    return NULL;
}

static void blocked_scenario(const void *argument) {
    pthread_t thread;
    EXPECT(pthread_create(&thread, NULL, blocked_reader, (void *)argument) == 0);
    EXPECT(pthread_join(thread, NULL) == 0);
}

TEST(guarded_calls_survive_in_threads_that_block_sigbus) {
    for (int late = 0; late < 2; late++)
        for (int first = 0; first < 3; first++) {
            struct blocked_case c = {late, first};
            CHECK(exited_cleanly(run_in_child(blocked_scenario, &c, 30)));
        }
}

/* Out of mappings (vm.max_map_count reached by the program's own mappings): a guarded call over
 * truncated bytes still answers (TRUNCATED, for the whole mapping until a refresh) instead of
 * dying; refresh then maps the file again. */
static void *fillers[70000];

static void out_of_mappings_scenario(const void *argument) {
    (void)argument;
    const char *path = scratch_path("out-of-mappings");
    make_file(path);
    mapfile_t *m = NULL;
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    int count = 0;
    while (count < 70000) { /* alternate protections so that neighbours never merge */
        void *p = mmap(NULL, 4096, count % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) break;
        fillers[count++] = p;
    }
    EXPECT(count < 70000); /* the limit was reached */
    EXPECT(truncate(path, PAGE + 10) == 0);
    uint8_t byte = 0;
    EXPECT(mapfile_read(m, SIZE - 1, &byte, 1) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_read(m, 5, &byte, 1) == MAPFILE_ERR_TRUNCATED); /* the price: all of it */
    EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
    EXPECT(mapfile_refresh(m) == MAPFILE_OK);
    EXPECT(mapfile_len(m) == PAGE + 10);
    EXPECT(mapfile_read(m, 5, &byte, 1) == MAPFILE_OK && byte == pattern_byte(5));
    EXPECT(mapfile_check(m) == MAPFILE_OK);
    while (count > 0) munmap(fillers[--count], 4096);
    EXPECT(mapfile_close(m) == MAPFILE_OK);
}

TEST(out_of_mappings_a_guarded_call_still_answers) {
#if defined(__SANITIZE_ADDRESS__)
    SKIP("under AddressSanitizer, which needs mappings of its own at the limit");
#endif
    const char *preload = getenv("LD_PRELOAD");
    if (preload != NULL && strstr(preload, "vgpreload") != NULL) SKIP("under valgrind");
    CHECK(exited_cleanly(run_in_child(out_of_mappings_scenario, NULL, 60)));
}

/* A SIGBUS sent with kill/raise is never swallowed: with the default action the process dies. */
static void sent_signal_scenario(const void *argument) {
    (void)argument;
    mapfile_t *m = NULL;
    const char *path = scratch_path("sent");
    make_file(path);
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    kill(getpid(), SIGBUS);
    _exit(70);
}

TEST(sent_sigbus_is_never_swallowed) {
    CHECK(died_by_sigbus(run_in_child(sent_signal_scenario, NULL, 30)));
}

/* A fault with a prior SIG_IGN ends in death, not a hang; a sent SIGBUS stays ignored. */
static void ignored_scenario(const void *argument) {
    (void)argument;
    signal(SIGBUS, SIG_IGN);
    mapfile_t *m = NULL;
    const char *path = scratch_path("ignored");
    make_file(path);
    EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
    raise(SIGBUS); /* ignored, as the program asked */
    const uint8_t *bytes = NULL;
    EXPECT(mapfile_slice(m, 0, SIZE, &bytes) == MAPFILE_OK);
    EXPECT(truncate(path, 0) == 0);
    volatile uint8_t sink = bytes[SIZE - 1]; /* a real fault: death, not an endless loop */
    (void)sink;
    _exit(80);
}

TEST(prior_sig_ign_still_ends_in_death_not_a_hang) {
    CHECK(died_by_sigbus(run_in_child(ignored_scenario, NULL, 20)));
}

/* Truncation from another thread in the middle of long scans, many times: never a crash, never a
 * wrong answer (OK only when the bytes were all there). */
enum { RACE_SIZE = 32 << 20 };
static const char *race_path;
static volatile int race_truncate_after_us;

static void *truncator_thread(void *argument) {
    (void)argument;
    struct timespec pause = {0, race_truncate_after_us * 1000L};
    nanosleep(&pause, NULL);
    truncate(race_path, (off_t)((unsigned)race_truncate_after_us * 7919u % RACE_SIZE));
    return NULL;
}

static void race_scenario(const void *argument) {
    const char *dir = (const char *)argument;
    char path[4200];
    snprintf(path, sizeof path, "%s/race", dir);
    race_path = path;
    static char data[RACE_SIZE];
    for (int i = 0; i < RACE_SIZE; i++) data[i] = (i % 61 == 60) ? '\n' : 'x';
    uint64_t expected_lines = 0;
    for (int i = 0; i < RACE_SIZE; i++) expected_lines += data[i] == '\n';
    int ok_results = 0, truncated_results = 0;
    for (int round = 0; round < 25; round++) {
        EXPECT(write_file(path, data, RACE_SIZE) == 0);
        mapfile_t *m = NULL;
        EXPECT(mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) == MAPFILE_OK);
        race_truncate_after_us = 50 << (round % 10); /* 50 us .. 25 ms: before, during, after scans */
        pthread_t thread;
        pthread_create(&thread, NULL, truncator_thread, NULL);
        for (int scan = 0; scan < 4; scan++) {
            uint64_t lines = 0;
            mapfile_status status = mapfile_count_byte(m, 0, RACE_SIZE, '\n', &lines);
            EXPECT(status == MAPFILE_OK || status == MAPFILE_ERR_TRUNCATED);
            if (status == MAPFILE_OK) {
                EXPECT(lines == expected_lines);
                ok_results++;
            } else {
                truncated_results++;
            }
            uint64_t position = 0;
            status = mapfile_find(m, 0, "xy", 2, &position);
            EXPECT(status == MAPFILE_ERR_TRUNCATED || (status == MAPFILE_OK && position == MAPFILE_NPOS));
        }
        pthread_join(thread, NULL);
        EXPECT(mapfile_check(m) == MAPFILE_ERR_TRUNCATED);
        EXPECT(mapfile_close(m) == MAPFILE_OK);
    }
    EXPECT(truncated_results > 0); /* the race really happened */
    fprintf(stderr, "  race on %s: %d scans OK with the full count, %d TRUNCATED\n", dir, ok_results, truncated_results);
}

TEST(truncation_racing_long_scans_never_crashes_or_miscounts) {
    CHECK(exited_cleanly(run_in_child(race_scenario, disk_dir, 120)));
    CHECK(exited_cleanly(run_in_child(race_scenario, shm_dir, 120)));
}

/* Many threads, each faulting on its own truncated mapping while others open and close: the
 * handler and unmapping never trip over each other. */
static void *fault_and_close_thread(void *argument) {
    int index = (int)(intptr_t)argument;
    for (int round = 0; round < 40; round++) {
        char path[4200]; /* scratch_path's buffers are not for threads */
        snprintf(path, sizeof path, "%s/churn-%d-%d", scratch_dir, index, round);
        if (write_pattern_file(path, 4 * PAGE) != 0) return (void *)1;
        mapfile_t *m = NULL;
        if (mapfile_open(path, MAPFILE_MODE_READ_ONLY, &m) != MAPFILE_OK) return (void *)2;
        if (truncate(path, PAGE) != 0) return (void *)3;
        uint8_t buffer[PAGE];
        if (mapfile_read(m, 2 * PAGE, buffer, PAGE) != MAPFILE_ERR_TRUNCATED) return (void *)4;
        if (mapfile_close(m) != MAPFILE_OK) return (void *)5;
        unlink(path);
    }
    return NULL;
}

static void churn_scenario(const void *argument) {
    (void)argument;
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) pthread_create(&threads[t], NULL, fault_and_close_thread, (void *)(intptr_t)t);
    for (int t = 0; t < 4; t++) {
        void *result = NULL;
        pthread_join(threads[t], &result);
        if (result != NULL) fprintf(stderr, "  thread %d failed at step %d\n", t, (int)(intptr_t)result);
        EXPECT(result == NULL);
    }
}

TEST(faults_and_closes_on_many_threads_never_collide) {
    CHECK(exited_cleanly(run_in_child(churn_scenario, NULL, 60)));
}

int main(int argc, char **argv) {
    START(argc, argv);
    snprintf(disk_dir, sizeof disk_dir, "%s", scratch_dir);
    snprintf(shm_dir, sizeof shm_dir, "/dev/shm/mapfile-test-%d", (int)getpid());
    if (mkdir(shm_dir, 0700) != 0) {
        fprintf(stderr, "cannot create %s (%s): the /dev/shm cases cannot run here\n", shm_dir, strerror(errno));
        return 1;
    }
    RUN(truncation_matrix_mode_by_size_by_filesystem_never_kills);
    RUN(truncation_by_another_process_is_survived);
    RUN(fast_calls_on_a_lost_page_answer_truncated_not_zeros);
    RUN(partial_page_truncation_is_reported_by_check);
    RUN(raw_access_without_guard_dies_by_sigbus_like_plain_mmap);
    RUN(raw_guard_flag_reads_zeros_instead_of_dying);
    RUN(program_sigbus_handlers_still_run_for_their_own_faults);
    RUN(chaining_honours_the_previous_handlers_flags_and_mask);
    RUN(forged_sigbus_at_an_intact_page_is_not_acted_on);
    RUN(guarded_calls_survive_in_threads_that_block_sigbus);
    RUN(out_of_mappings_a_guarded_call_still_answers);
    RUN(sent_sigbus_is_never_swallowed);
    RUN(prior_sig_ign_still_ends_in_death_not_a_hang);
    RUN(truncation_racing_long_scans_never_crashes_or_miscounts);
    RUN(faults_and_closes_on_many_threads_never_collide);
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", shm_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", shm_dir);
    FINISH();
}
