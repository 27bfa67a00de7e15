/* launch: the sweep's run folder (claimed once, run_folders.h), and starting trials in
 * free slots, those waiting (resumed or retried) before new proposals: a trial's run
 * folder (its own, or refused) and trial.json (its config), its trainer started by the
 * local or the Slurm launcher (launcher.h), and the start recorded. A trial that comes
 * back with epochs its pruner would have stopped it at is ended PRUNED instead. */
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
#include "run_folders.h"
#include "scheduler_internal.h"
#include "common/json_exact.h"
#include "results/results_db.h"

char *sched_stored_path(const sweep *w, const char *abs) {
    char rel[8192];
    vs_runs_relative(w->db_folder, abs, rel, sizeof rel);
    return vs_xstrdup(rel);
}

int sched_claim_home(sweep *w, vs_error *err) {
    char *stored = NULL, parent[4096], recorded[4096] = "";
    if (vs_runs_db_folder(w->o->db_path, w->db_folder, sizeof w->db_folder, err) ||
        vs_db_sweep_home(w->db, w->study_id, w->uid, &stored, err))
        return -1;
    int rc;
    if (stored) {
        /* Where its first run put it, whatever --runs-dir says now; a folder gone or taken
         * by another sweep meanwhile is claimed again beside it. */
        vs_runs_resolve(w->db_folder, stored, recorded, sizeof recorded);
        snprintf(parent, sizeof parent, "%s", recorded);
        char *slash = strrchr(parent, '/');
        *slash = 0;
        rc = vs_runs_claim(slash == parent ? "/" : parent, slash + 1, w->uid, w->db_folder, 0, w->home, sizeof w->home, err);
    } else {
        /* A sweep of an older vaesearch ran its trials in runs/NAME: it keeps them there. */
        int ran = 0;
        for (int i = 0; i < w->n_trials && !ran; i++) ran = w->trials[i].out_dir != NULL;
        rc = vs_runs_absolute(w->runs, parent, sizeof parent, err) ||
             vs_runs_claim(parent, w->space.name, w->uid, w->db_folder, ran, w->home, sizeof w->home, err);
    }
    char *now = rc ? NULL : sched_stored_path(w, w->home);
    if (now) snprintf(w->home_note, sizeof w->home_note, "run folder: %s", now);
    if (now && (!stored || strcmp(now, stored))) {
        rc = vs_db_set_sweep_runs_dir(w->db, w->study_id, now, err);
        if (stored) snprintf(w->home_note, sizeof w->home_note, "run folder: %s (%s was gone or another sweep's)", now, stored);
    } else if (now && w->o->runs_dir) {
        char asked[4096];
        if (vs_runs_absolute(w->o->runs_dir, asked, sizeof asked, err) == 0 && strncmp(asked, w->home, strlen(asked)))
            snprintf(w->home_note, sizeof w->home_note, "run folder: %s, where the sweep began (--runs-dir places a new "
                     "sweep's)", now);
    }
    free(now);
    free(stored);
    return rc;
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

/* 0 started, 1 refused (the trial has FAILed: its folder is not its own), -1 err. */
static int launch(sweep *w, vs_db_trial *t, int slot, vs_error *err) {
    char dir[8192], config[8300], threads[16], why[9000], progress[16];
    int refused = vs_runs_trial_folder(w->home, t->number, w->uid, t->out_dir != NULL, dir, sizeof dir, why, sizeof why, err);
    if (refused < 0) return -1;
    if (refused) return sched_fail_unstarted(w, t->trial_id, t->number, why, err) ? -1 : 1;
    snprintf(config, sizeof config, "%s/trial.json", dir);
    if (write_trial_config(w, t, config, err)) return -1;
    snprintf(threads, sizeof threads, "%d", w->threads);
    snprintf(progress, sizeof progress, "%d", PROGRESS_SECONDS);
    const char *gpus = sched_slot_gpus(w, slot);
    /* a step of several ranks runs the trainer as srun's ranks, meeting in the run folder */
    int ranks = w->slurm && vs_slurm_plan_ranks(&w->plan) > 1;
    char *argv[] = {w->trainer, "--data", w->dataset, "--config", config, "--out", dir, "--device", (char *)w->device,
                    "--threads", threads, "--progress-every", progress, "--resume", ranks ? "--ranks" : NULL, "slurm",
                    NULL};
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
    char *stored = sched_stored_path(w, dir);
    int rc = vs_db_trial_started(w->db, t->trial_id, (int)proc.pid, gpus ? gpus : "", stored, err);
    free(stored);
    if (rc) return -1;
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

/* The WAITING trial numbered lowest above `after` that no trainer runs, or NULL. */
static vs_db_trial *next_waiting(sweep *w, int after) {
    vs_db_trial *pick = NULL;
    for (int i = 0; i < w->n_trials; i++) {
        vs_db_trial *t = &w->trials[i];
        if (t->number > after && !strcmp(t->state, "WAITING") && !sched_running_child(w, t->trial_id) &&
            (!pick || t->number < pick->number))
            pick = t;
    }
    return pick;
}

/* The waiting trial to start next: the lowest numbered, its parameters completed first
 * when Optuna enqueued it with some left out (one not ready yet, or refused, is passed
 * over). NULL when there is none; err set on failure. */
static vs_db_trial *pick_waiting(sweep *w, int *failed, vs_error *err) {
    for (int after = -1;;) {
        vs_db_trial *pick = next_waiting(w, after);
        if (!pick || !pick->missing) return pick;
        int number = pick->number, rc = sched_complete_trial(w, pick, err);
        if (rc < 0) {
            *failed = 1;
            return NULL;
        }
        if (rc == 0) return sched_trial_by_number(w, number);
        after = number;
    }
}

/* Starts trials while slots are free: first those waiting (resumed, retried or enqueued),
 * then new proposals. */
int sched_fill_slots(sweep *w, vs_error *err) {
    for (int slot = 0; slot < w->n_slots; slot++) {
        if (w->stopping) return 0;   /* e.g. refused trials made a streak of failures */
        if (w->children[slot].used) continue;
        int failed = 0;
        vs_db_trial *pick = pick_waiting(w, &failed, err);
        if (failed) return -1;
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
            sched_drop_state(w, number);
            slot--;   /* this slot is still free */
            continue;
        }
        int rc = launch(w, pick, slot, err);
        if (rc < 0) return -1;
        if (rc) {
            slot--;   /* refused: this slot is still free */
            continue;
        }
        snprintf(pick->state, sizeof pick->state, "RUNNING");
    }
    return 0;
}
