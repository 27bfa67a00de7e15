/* run_dir: the run folder and its lock (run_dir.h). */
#include "run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void path_join(char *buf, size_t n, const char *dir, const char *file) {
    snprintf(buf, n, "%s/%s", dir, file);
}

int vs_run_dir_make(const char *dir, vs_error *err) {
    if (mkdir(dir, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", dir, strerror(errno));
    return 0;
}

int vs_run_dir_lock(const char *dir, double wait_seconds, int *fd_out, vs_error *err) {
    char path[4096];
    path_join(path, sizeof path, dir, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return vs_errorf(err, "%s: %s", path, strerror(errno));
    double deadline = now_seconds() + wait_seconds;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || now_seconds() > deadline) {
            char holder[32] = "";
            ssize_t got = pread(fd, holder, sizeof holder - 1, 0);
            holder[got > 0 ? got : 0] = 0;
            close(fd);
            return vs_errorf(err, "%s is in use by another vaecf-train (pid %s)", dir, holder[0] ? holder : "?");
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) { /* the pid is only informative */ }
    *fd_out = fd;
    return 0;
}

int vs_run_dir_write_config(const char *dir, const vs_config *cfg, vs_error *err) {
    char path[4096];
    path_join(path, sizeof path, dir, "config.json");
    char *s = vs_config_to_text(cfg);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(s);
        return vs_errorf(err, "%s: %s", path, strerror(errno));
    }
    fprintf(f, "%s\n", s);
    free(s);
    if (fclose(f)) return vs_errorf(err, "%s: %s", path, strerror(errno));
    return 0;
}
