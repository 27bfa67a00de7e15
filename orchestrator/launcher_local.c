/* launcher_local: the trainer as a child process of `vaesearch run` (launcher.h). */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int vs_launch_local(const vs_launch *l, vs_trial_process *p, vs_error *err) {
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC)) return vs_errorf(err, "pipe: %s", strerror(errno));
    if (pipe2(errp, O_CLOEXEC)) {
        close(out[0]), close(out[1]);
        return vs_errorf(err, "pipe: %s", strerror(errno));
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
        return vs_errorf(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);   /* vaesearch died before prctl took effect */
        dup2(out[1], STDOUT_FILENO);
        dup2(errp[1], STDERR_FILENO);
        if (l->gpus) setenv("CUDA_VISIBLE_DEVICES", l->gpus, 1);
        for (const char *const *u = l->unset_env; u && *u; u++) unsetenv(*u);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp(l->argv[0], l->argv);
        fprintf(stderr, "cannot run %s: %s\n", l->argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    p->pid = pid;
    p->fd_out = out[0];
    p->fd_err = errp[0];
    return 0;
}
