/* spawn_rusage: runs a command once, its stdout to /dev/null, and prints its wall time
 * (seconds, from before the spawn to the end of the wait) and its peak resident memory
 * (KiB, the kernel's ru_maxrss), for bench_startup.py. It is small on purpose: until a
 * child execs, the kernel counts the launching process's resident pages in the child's
 * peak, so a launcher of Python's size (15 MB) would hide what a program itself uses.
 *
 *   spawn_rusage COMMAND [ARG...]     prints "SECONDS KIB"; exits with the command's status */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: spawn_rusage COMMAND [ARG...]\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double t0 = now();
    pid_t pid;
    if (posix_spawn(&pid, argv[1], &fa, NULL, argv + 1, environ) != 0) {
        perror(argv[1]);
        return 127;
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("wait4");
        return 127;
    }
    double wall = now() - t0;
    printf("%.6f %ld\n", wall, ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
