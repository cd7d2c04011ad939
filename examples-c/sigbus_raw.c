/* What a C program must do WITHOUT mapfile to survive a file truncated under its mapping: install
 * a SIGBUS handler and wrap every access in sigsetjmp, so the handler can siglongjmp out of the
 * faulting read. Run with --no-handler to see the default outcome: death by SIGBUS.
 *
 * The truncation is done by another process, as it happens in real life (log rotation, a
 * concurrent writer, a user's `> file`). Compare with sigbus_mapfile.c. */
#define _POSIX_C_SOURCE 200809L /* sigaction, sigsetjmp */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PAGE = 4096, SIZE = 4 * PAGE };

static sigjmp_buf recovery_point;

static void on_sigbus(int signal) {
    (void)signal;
    siglongjmp(recovery_point, 1);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [--no-handler]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int use_handler = !(argc > 2 && strcmp(argv[2], "--no-handler") == 0);
    static char data[SIZE];
    memset(data, 'x', sizeof data);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, SIZE) != SIZE) {
        perror("creating the file");
        return 1;
    }
    const char *mapped = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    if (use_handler) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_sigbus;
        sigemptyset(&action.sa_mask);
        sigaction(SIGBUS, &action, NULL);
    }
    pid_t other = fork(); /* another process shrinks the file to one page */
    if (other == 0) _exit(ftruncate(fd, PAGE) == 0 ? 0 : 1);
    waitpid(other, NULL, 0);

    printf("byte 0: %c\n", mapped[0]);
    fflush(stdout);
    if (sigsetjmp(recovery_point, 1) == 0) {
        char last = mapped[SIZE - 1]; /* the page is gone: SIGBUS */
        printf("last byte: %c\n", last);
    } else {
        printf("caught SIGBUS reading the last byte: the file shrank under the mapping\n");
    }
    munmap((void *)mapped, SIZE);
    close(fd);
    return 0;
}
