/* children: the running trainers, one per slot (a local child process, or srun's for a
 * Slurm step): finding and counting them, signalling one (through Slurm for a step),
 * stopping them all, and freeing what one held once it has ended. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"
#include "scheduler_internal.h"
#include "trainer_output.h"

child *sched_running_child(sweep *w, int trial_id) {
    for (int i = 0; i < w->n_slots; i++)
        if (w->children[i].used && w->children[i].trial_id == trial_id) return &w->children[i];
    return NULL;
}

/* Signals a trial's trainer. Under Slurm, SIGTERM (stop, saving the state) goes to the
 * step through Slurm, since srun would kill the step at once; before the step has
 * started, srun's own answer (ending it) is what is wanted. */
void sched_signal_trial(child *c, int sig) {
    vs_error ignore;
    if (c->slurm_step[0] && (sig == SIGTERM || sig == SIGKILL)) {
        if (sig == SIGTERM && vs_slurm_signal_step(c->slurm_step, sig, &ignore) == 0) return;
        if (sig == SIGKILL && !c->killed) vs_slurm_signal_step(c->slurm_step, sig, &ignore);
    }
    if (sig == SIGKILL) c->killed = 1;
    kill(c->proc.pid, sig);
}

void sched_child_free(child *c) {
    if (c->stderr_log) fclose(c->stderr_log);
    vs_line_reader_free(&c->out);
    vs_line_reader_free(&c->err);
    vs_tail_free(&c->tail);
    cJSON_Delete(c->done);
    free(c->error);
    memset(c, 0, sizeof *c);
}

void sched_stop_children(sweep *w, int sig) {
    for (int i = 0; i < w->n_slots; i++) {
        child *c = &w->children[i];
        if (!c->used) continue;
        if (sig == SIGTERM) {
            c->stopping = 1;
            if (!c->kill_at) c->kill_at = sched_now() + KILL_GRACE_SECONDS * 6;
        }
        sched_signal_trial(c, sig);
    }
}

int sched_active_children(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_slots; i++) n += w->children[i].used;
    return n;
}
