/* launch: starting trials in free slots, those waiting (resumed or retried) before new
 * proposals: a trial's run folder and trial.json (its config), its trainer started by
 * the local or the Slurm launcher (launcher.h), and the start recorded. A trial that
 * comes back with epochs its pruner would have stopped it at is ended PRUNED instead. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "launcher.h"
#include "scheduler_internal.h"
#include "common/json_exact.h"
#include "results/results_db.h"

static int mkdir_p(const char *path, vs_error *err) {
    char tmp[8192];
    if (strlen(path) >= sizeof tmp) return vs_errorf(err, "%s: path too long", path);
    memcpy(tmp, path, strlen(path) + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) && errno != EEXIST) return vs_errorf(err, "%s: %s", tmp, strerror(errno));
    return 0;
}

static int write_trial_config(sweep *w, const vs_db_trial *t, const char *path, vs_error *err) {
    cJSON *cfg = vs_space_trial_config(&w->space, t->values);
    char *text = vs_json_print_exact(cfg);
    cJSON_Delete(cfg);
    /* O_NOFOLLOW: a link planted where trial.json goes must not redirect the write. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        free(text);
        return vs_errorf(err, "%s: %s", path, e == ELOOP ? "is a symbolic link; refusing to write through it" : strerror(e));
    }
    fprintf(f, "%s\n", text);
    free(text);
    if (fclose(f)) return vs_errorf(err, "%s: %s", path, strerror(errno));
    return 0;
}

/* A step's ids as user attributes (docs/results-db.md): the job at once, the step and
 * node once the step reports them (its "slurm_step" line); until then null, so that no
 * earlier attempt's step is shown. */
static int slurm_step_pending(sweep *w, int trial_id, vs_error *err) {
    cJSON *job = cJSON_CreateString(w->allocation.job_id), *none = cJSON_CreateNull();
    int rc = vs_db_set_user_attr(w->db, trial_id, "slurm_job_id", job, err) ||
             vs_db_set_user_attr(w->db, trial_id, "slurm_step_id", none, err) ||
             vs_db_set_user_attr(w->db, trial_id, "slurm_node", none, err);
    cJSON_Delete(job);
    cJSON_Delete(none);
    return rc ? -1 : 0;
}

static int launch(sweep *w, vs_db_trial *t, int slot, vs_error *err) {
    char dir[8192], config[8300], threads[16];
    snprintf(dir, sizeof dir, "%s/%s/trial-%d", w->runs, w->space.name, t->number);
    if (mkdir_p(dir, err)) return -1;
    /* The trial's own folder must be one: a link planted in its place would send the
     * trainer's files elsewhere. */
    struct stat st;
    if (lstat(dir, &st)) return vs_errorf(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return vs_errorf(err, "%s: not a folder (a symbolic link?); refusing to use it", dir);
    snprintf(config, sizeof config, "%s/trial.json", dir);
    if (write_trial_config(w, t, config, err)) return -1;
    snprintf(threads, sizeof threads, "%d", w->threads);
    const char *gpus = sched_slot_gpus(w, slot);
    /* a step of several ranks runs the trainer as srun's ranks, meeting in the run folder */
    int ranks = w->slurm && vs_slurm_plan_ranks(&w->plan) > 1;
    char *argv[] = {w->trainer, "--data", w->dataset, "--config", config, "--out", dir, "--device", (char *)w->device,
                    "--threads", threads, "--resume", ranks ? "--ranks" : NULL, "slurm", NULL};
    vs_trial_process proc;
    if (w->slurm) {
        char name[300];
        snprintf(name, sizeof name, "%s/trial-%d", w->space.name, t->number);
        if (vs_launch_slurm(&w->plan, name, argv, &proc, err)) return -1;
    } else {
        vs_launch l = {argv, gpus, NULL};
        if (vs_launch_local(&l, &proc, err)) return -1;
    }
    child *c = &w->children[slot];
    memset(c, 0, sizeof *c);
    c->used = 1;
    char log_path[8400];
    snprintf(log_path, sizeof log_path, "%s/stderr.log", dir);
    c->stderr_log = fopen(log_path, "ae");   /* the trainer's stderr, kept (a trial runs without it); not
                                               * inherited by later trainers */
    c->trial_id = t->trial_id;
    c->number = t->number;
    c->slot = slot;
    c->proc = proc;
    c->started = sched_now();
    c->last_value = c->best_value = NAN;
    cJSON *cfg = vs_space_trial_config(&w->space, t->values);
    double epochs = sched_json_num(cfg, "epochs");   /* the trainer's start line says it too, when it runs */
    cJSON_Delete(cfg);
    c->epochs = epochs >= 1 && epochs < 1e9 ? (int)epochs : 0;
    for (int e = 0; e < t->n_epochs; e++) {   /* what it recorded before (replay_pruning judged it) */
        c->best_value = sched_better_of(w, c->best_value, t->curve[e]);
        if (!isnan(t->curve[e])) c->last_validated_epoch = e + 1;
    }
    if (vs_db_trial_started(w->db, t->trial_id, (int)proc.pid, gpus ? gpus : "", dir, err)) return -1;
    if (w->slurm && slurm_step_pending(w, t->trial_id, err)) return -1;
    char *p = sched_params_text(w, t->values), where[300];
    if (w->slurm)
        snprintf(where, sizeof where, "a Slurm step of job %s (%s)", w->allocation.job_id, w->step_note);
    else if (gpus) snprintf(where, sizeof where, "GPU %s", gpus);
    else snprintf(where, sizeof where, "CPU slot %d", slot);
    sched_say(w, "trial %d: started %s %s (%s)%s", t->number, w->slurm ? "as" : "on", where, p,
              t->out_dir ? ", resuming" : "");
    free(p);
    return 0;
}

/* Starts trials while slots are free: first those waiting (resumed or retried), then
 * new proposals. */
int sched_fill_slots(sweep *w, vs_error *err) {
    for (int slot = 0; slot < w->n_slots; slot++) {
        if (w->children[slot].used) continue;
        vs_db_trial *pick = NULL;
        for (int i = 0; i < w->n_trials; i++) {
            vs_db_trial *t = &w->trials[i];
            if (!strcmp(t->state, "WAITING") && !sched_running_child(w, t->trial_id) &&
                (!pick || t->number < pick->number))
                pick = t;
        }
        if (!pick) {
            int rc = sched_propose(w, err);
            if (rc < 0) return -1;
            if (rc == 0) return 0;
            for (int i = 0; i < w->n_trials; i++)
                if (!strcmp(w->trials[i].state, "WAITING") && !sched_running_child(w, w->trials[i].trial_id)) pick = &w->trials[i];
        }
        if (!pick) return 0;
        int pruned_at = pick->n_epochs ? sched_replay_pruning(w, pick) : 0;
        if (pruned_at) {
            char reason[128];
            snprintf(reason, sizeof reason, "pruned after epoch %d (recorded before the sweep stopped)", pruned_at);
            int number = pick->number;
            if (vs_db_trial_finished(w->db, pick->trial_id, "PRUNED", NULL, w->space.metric, -1, reason, NULL, err) ||
                sched_refresh_trial(w, pick->trial_id, err))
                return -1;
            sched_say(w, "trial %d: PRUNED: %s", number, reason);
            slot--;   /* this slot is still free */
            continue;
        }
        if (launch(w, pick, slot, err)) return -1;
        snprintf(pick->state, sizeof pick->state, "RUNNING");
    }
    return 0;
}
