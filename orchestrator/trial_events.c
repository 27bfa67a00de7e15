/* trial_events: a running trainer's output as the scheduler follows it. Each stdout line
 * is read as an event (trainer_output.c checks it) and acted on at once: the start (the
 * GPUs it sees), each epoch recorded and, once validated, judged by the pruner; the
 * done line kept for the trial's end; an error kept as its reason; Slurm's step line.
 * A trainer whose events cannot be recorded is stopped and its trial fails. stderr goes
 * to the run folder's stderr.log, and Slurm's word on a step is kept from it. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "launcher.h"
#include "scheduler_internal.h"
#include "trainer_output.h"
#include "results/results_db.h"

/* A trainer whose output cannot be recorded has failed: that trial alone. Its trainer
 * is stopped, nothing more of its output is recorded, and it ends as FAIL with the
 * reason; the sweep goes on. */
static void trainer_misbehaved(sweep *w, child *c, const char *problem) {
    if (c->bad_output) return;
    c->bad_output = 1;
    char reason[300];
    snprintf(reason, sizeof reason, "bad trainer output: %s", problem);
    free(c->error);
    c->error = vs_xstrdup(reason);
    sched_say(w, "trial %d: %s; stopping its trainer", c->number, reason);
    sched_signal_trial(c, SIGTERM);
    if (!c->kill_at) c->kill_at = sched_now() + KILL_GRACE_SECONDS;
}

/* The launcher's line naming a trial's Slurm job step: user attributes for status, and
 * the step that signal_trial addresses. */
static int record_slurm_step(sweep *w, child *c, const cJSON *ev, vs_error *err) {
    static const char *const keys[][2] = {{"job_id", "slurm_job_id"}, {"step_id", "slurm_step_id"}, {"node", "slurm_node"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, keys[i][0]);
        if (cJSON_IsString(v) && v->valuestring[0] && vs_db_set_user_attr(w->db, c->trial_id, keys[i][1], v, err))
            return -1;
    }
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(ev, "job_id");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(ev, "step_id");
    if (cJSON_IsString(job) && cJSON_IsString(step) && job->valuestring[0] && step->valuestring[0])
        snprintf(c->slurm_step, sizeof c->slurm_step, "%s.%s", job->valuestring, step->valuestring);
    return 0;
}

/* A progress line inside a long epoch (docs/trainer.md): shown, not recorded; a line
 * that does not hold sensible numbers is passed over. */
static void note_progress(sweep *w, child *c, const cJSON *ev) {
    double epoch = sched_json_num(ev, "epoch"), done = sched_json_num(ev, "epoch_steps"),
           steps = sched_json_num(ev, "steps_per_epoch"), speed = sched_json_num(ev, "users_per_s");
    if (!(epoch >= 1 && epoch <= VS_EVENT_MAX_EPOCH && steps >= 1 && done >= 0 && done <= steps)) return;
    c->last_epoch = (int)epoch - 1;
    c->progress = done / steps;
    if (!w->o->live)
        sched_say(w, "trial %d: epoch %.0f, %.0f%% done (%.0f users/s)", c->number, epoch, 100 * c->progress,
                  isfinite(speed) ? speed : 0);
}

/* Acts on one stdout line; nonzero only when the database failed. */
static int handle_event(sweep *w, child *c, const char *line, vs_error *err) {
    if (c->bad_output) return 0;   /* its trainer is being stopped */
    vs_trainer_event ev;
    vs_trainer_event_parse(line, w->space.metric, &ev);
    int rc = 0;
    switch (ev.kind) {
    case VS_EVENT_NONE: break;   /* not a JSON event: kept in the tail only */
    case VS_EVENT_OTHER: {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev.json, "event");
        if (w->slurm && cJSON_IsString(kind) && !strcmp(kind->valuestring, "slurm_step"))
            rc = record_slurm_step(w, c, ev.json, err);
        else if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "progress"))
            note_progress(w, c, ev.json);
        break;
    }
    case VS_EVENT_BAD: trainer_misbehaved(w, c, ev.problem); break;
    case VS_EVENT_START: {
        double epochs = sched_json_num(cJSON_GetObjectItemCaseSensitive(ev.json, "config"), "epochs");
        if (epochs >= 1 && epochs < 1e9) c->epochs = (int)epochs;
        const cJSON *vis = cJSON_GetObjectItemCaseSensitive(ev.json, "cuda_visible_devices");
        if (vis) rc = vs_db_set_user_attr(w->db, c->trial_id, "trainer_visible_devices", vis, err);
        /* Under Slurm the step's GPUs are known only to the step: its trainer tells them. */
        if (rc == 0 && w->slurm && cJSON_IsString(vis)) rc = vs_db_set_user_attr(w->db, c->trial_id, "gpus", vis, err);
        break;
    }
    case VS_EVENT_EPOCH: {
        rc = vs_db_trial_epoch(w->db, c->trial_id, w->space.metric, ev.json, err);
        c->last_epoch = ev.epoch;
        c->progress = 0;
        if (rc == 0 && ev.has_val) {
            double v = ev.value;
            int epoch = ev.epoch;
            c->last_value = v;
            c->best_value = sched_better_of(w, c->best_value, v);
            /* a resumed trainer first repeats the epochs it did before it was stopped */
            int replayed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev.json, "replayed"));
            if (!w->o->live)
                sched_say(w, "trial %d: epoch %d, %s %.4f%s", c->number, epoch, w->space.metric, v,
                          replayed ? " (replayed: done before the trial was interrupted)" : "");
            if (!c->prune &&
                sched_prune_verdict(w, c->number, c->last_validated_epoch, epoch, v, c->best_value)) {
                c->prune = 1;
                snprintf(c->prune_reason, sizeof c->prune_reason, "pruned after epoch %d (%s %.4f)", epoch,
                         w->space.metric, v);
                sched_signal_trial(c, SIGTERM);
            }
            if (epoch > c->last_validated_epoch) c->last_validated_epoch = epoch;
        }
        break;
    }
    case VS_EVENT_DONE:
        cJSON_Delete(c->done);
        c->done = ev.json;   /* kept: finish records it */
        ev.json = NULL;
        break;
    case VS_EVENT_ERROR:
        free(c->error);
        c->error = vs_xstrdup(ev.message);
        break;
    }
    vs_trainer_event_free(&ev);
    return rc;
}

/* A line of a trainer's output: into the tail and, from stdout, to handle_event. */
typedef struct line_ctx {
    sweep *w;
    child *c;
    int events;
    vs_error *err;
    int failed;
} line_ctx;

static void take_line(void *ctx, const char *line) {
    line_ctx *x = ctx;
    /* progress lines tell nothing of how a trainer failed: kept out of the tail */
    if (!x->events || !strstr(line, "\"event\":\"progress\"")) vs_tail_add(&x->c->tail, line);
    if (!x->events) {
        if (x->c->stderr_log) fprintf(x->c->stderr_log, "%s\n", line), fflush(x->c->stderr_log);
        char note[256];
        int rank = x->w->slurm ? vs_slurm_note(line, note, sizeof note) : 0;
        if (rank && rank >= x->c->slurm_note_rank) {
            snprintf(x->c->slurm_note, sizeof x->c->slurm_note, "%s", note);
            x->c->slurm_note_rank = rank;
        }
    }
    if (x->events && !x->failed && handle_event(x->w, x->c, line, x->err)) x->failed = 1;
}

/* Reads what the pipe has; nonzero when recording an event failed. */
static int drain(sweep *w, child *c, int *fd, vs_line_reader *b, int events, vs_error *err) {
    line_ctx x = {w, c, events, err, 0};
    vs_read_lines(fd, b, take_line, &x);
    return x.failed;
}

int sched_read_trainers(sweep *w, int wake_fd, vs_error *err) {
    /* Every running trainer's two pipes and the wake-up, at any number of slots: one
     * left out would block on a full pipe while it waits to be read. */
    struct pollfd *fds = w->poll_fds;
    child **owner = w->poll_owner;
    int nfds = 0;
    fds[nfds] = (struct pollfd){wake_fd, POLLIN, 0};
    owner[nfds++] = NULL;
    for (int i = 0; i < w->n_slots; i++) {
        child *c = &w->children[i];
        if (!c->used) continue;
        if (c->proc.fd_out >= 0) fds[nfds] = (struct pollfd){c->proc.fd_out, POLLIN, 0}, owner[nfds++] = c;
        if (c->proc.fd_err >= 0) fds[nfds] = (struct pollfd){c->proc.fd_err, POLLIN, 0}, owner[nfds++] = c;
    }
    int ready = poll(fds, (nfds_t)nfds, 1000);
    if (ready < 0 && errno != EINTR) return vs_errorf(err, "poll: %s", strerror(errno));
    if (fds[0].revents) {
        char sink[64];
        while (read(wake_fd, sink, sizeof sink) > 0) {}
    }
    for (int k = 1; k < nfds && ready > 0; k++) {
        child *c = owner[k];
        if (!fds[k].revents || !c->used) continue;
        int failed = 0;
        if (fds[k].fd == c->proc.fd_out) failed = drain(w, c, &c->proc.fd_out, &c->out, 1, err);
        else if (fds[k].fd == c->proc.fd_err) failed = drain(w, c, &c->proc.fd_err, &c->err, 0, err);
        if (failed) return -1;
    }
    return 0;
}
