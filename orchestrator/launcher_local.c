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
#include <pthread.h>
#include <unistd.h>

/* The trainer's environment: this process's, with CUDA_VISIBLE_DEVICES set to gpus and
 * the unset names left out (built before vfork: the child must not allocate). */
static char **child_environment(const vs_launch *l, char **gpus_entry) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = vs_xmalloc(sizeof(char *) * (n + 2));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        const char *eq = strchr(e, '=');
        size_t len = eq ? (size_t)(eq - e) : strlen(e);
        int drop = l->gpus && len == strlen("CUDA_VISIBLE_DEVICES") && !strncmp(e, "CUDA_VISIBLE_DEVICES", len);
        for (const char *const *u = l->unset_env; u && *u && !drop; u++)
            drop = strlen(*u) == len && !strncmp(e, *u, len);
        if (!drop) env[k++] = environ[i];
    }
    *gpus_entry = NULL;
    if (l->gpus) {
        size_t len = strlen(l->gpus) + sizeof "CUDA_VISIBLE_DEVICES=";
        *gpus_entry = vs_xmalloc(len);
        snprintf(*gpus_entry, len, "CUDA_VISIBLE_DEVICES=%s", l->gpus);
        env[k++] = *gpus_entry;
    }
    env[k] = NULL;
    return env;
}

/* vfork and, in the child, what it needs before exec (system calls only). In a function
 * of its own, so that the caller's variables are out of the child's reach. */
static __attribute__((noinline)) pid_t spawn(char *const *argv, char **env, int out_w, int err_w, pid_t parent,
                                             const sigset_t *old) {
    pid_t pid = vfork();
    if (pid == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) {
            struct sigaction cur;
            if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN)
                sigaction(sig, &dfl, NULL);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);   /* vaesearch died before prctl took effect */
        dup2(out_w, STDOUT_FILENO);
        dup2(err_w, STDERR_FILENO);
        sigprocmask(SIG_SETMASK, old, NULL);
        execvpe(argv[0], argv, env);
        static const char msg[] = "cannot run the trainer: ";
        const char *why = strerror(errno);
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0 || write(STDERR_FILENO, argv[0], strlen(argv[0])) < 0 ||
            write(STDERR_FILENO, ": ", 2) < 0 || write(STDERR_FILENO, why, strlen(why)) < 0 ||
            write(STDERR_FILENO, "\n", 1) < 0) {
        }
        _exit(127);
    }
    return pid;
}

/* The child starts with vfork: it shares this process's memory until it execs, so
 * starting a trainer costs the same however large the sweep's history has grown (fork
 * copied the page tables: about a fifth of `vaesearch run`'s time at 4,000 trials, and
 * growing with them). The child therefore only makes system calls: its signals are
 * blocked across vfork, and it sets every handled signal back to the default before it
 * unblocks them, so no handler of this process ever runs in it. */
int vs_launch_local(const vs_launch *l, vs_trial_process *p, vs_error *err) {
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC)) return vs_errorf(err, "pipe: %s", strerror(errno));
    if (pipe2(errp, O_CLOEXEC)) {
        close(out[0]), close(out[1]);
        return vs_errorf(err, "pipe: %s", strerror(errno));
    }
    char *gpus_entry;
    char **env = child_environment(l, &gpus_entry);
    pid_t parent = getpid();
    fflush(NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = spawn(l->argv, env, out[1], errp[1], parent, &old);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(env);
    free(gpus_entry);
    if (pid < 0) {
        close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
        return vs_errorf(err, "vfork: %s", strerror(fork_errno));
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
