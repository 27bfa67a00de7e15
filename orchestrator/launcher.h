/* launcher: how the scheduler starts a trial's trainer and follows it. A launcher turns
 * the trainer's command line into a running process whose stdout (the JSON event lines)
 * and stderr the scheduler reads through two non-blocking pipes, signals and reaps.
 * The local launcher runs the trainer as a child of this process. */
#ifndef VS_LAUNCHER_H
#define VS_LAUNCHER_H

#include <sys/types.h>

#include "common/vs_error.h"

typedef struct vs_launch {
    char *const *argv;      /* the trainer's command line, NULL-terminated */
    const char *gpus;       /* CUDA_VISIBLE_DEVICES for the trainer ("0,1"), or NULL: unchanged */
} vs_launch;

typedef struct vs_trial_process {
    pid_t pid;
    int fd_out, fd_err;     /* read ends, non-blocking and close-on-exec; -1 once closed */
} vs_trial_process;

/* Starts l's command as a child in its own process group (a terminal's Ctrl-C reaches
 * only vaesearch, which passes it on), which gets SIGTERM if vaesearch dies, so that it
 * saves its state and stops. */
int vs_launch_local(const vs_launch *l, vs_trial_process *p, vs_error *err);

#endif
