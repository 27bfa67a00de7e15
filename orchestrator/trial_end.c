/* trial_end: how an attempt ended, from its exit status and what it said: COMPLETE,
 * PRUNED, FAIL with its reason, or WAITING again (stopped by the sweep, or a full disk,
 * which is no fault of the trial). Failures are counted (the sweep stops after too many
 * in a row for the same reason) and retried: max_retries after each FAIL, and
 * --retry-failed for every earlier one. */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "run_folders.h"
#include "scheduler_internal.h"
#include "trainer_output.h"
#include "results/results_db.h"

/* The first trial of number's retry chain: retry_of followed back to a trial that is
 * no retry (guarded against a cycle in a damaged database). */
static int retry_root(const sweep *w, int number) {
    for (int guard = 0; guard < w->n_trials; guard++) {
        const vs_db_trial *r = sched_trial_by_number(w, number);
        if (!r || r->retry_of < 0) break;
        number = r->retry_of;
    }
    return number;
}

/* How many trials share t's retry chain. */
static int attempts_of(const sweep *w, const vs_db_trial *t) {
    int root = retry_root(w, t->number), count = 0;
    for (int i = 0; i < w->n_trials; i++) count += retry_root(w, w->trials[i].number) == root;
    return count;
}

/* A FAIL's reason with each run of digits as '#': "timed out after 61 s" and "... 62 s"
 * are the same reason. */
static void failure_key(const char *reason, char *key, size_t n) {
    size_t used = 0;
    for (const char *p = reason; *p && used + 1 < n; p++) {
        if (*p >= '0' && *p <= '9') {
            if (used == 0 || key[used - 1] != '#') key[used++] = '#';
        } else if (!(*p == '.' && used && key[used - 1] == '#')) {
            key[used++] = *p;
        }
    }
    key[used] = 0;
}

/* Counts a trial that ended in this run; after max_consecutive_failures FAILs in a row
 * with the same reason the sweep stops (a missing GPU, a broken trainer), rather than
 * spending its budget on failures. */
static void note_ended(sweep *w, const char *state, const char *reason) {
    w->run_ended++;
    if (strcmp(state, "FAIL")) {
        w->fail_streak = 0;
        return;
    }
    w->run_failed++;
    char key[sizeof w->fail_key];
    failure_key(reason, key, sizeof key);
    w->fail_streak = w->fail_streak && !strcmp(key, w->fail_key) ? w->fail_streak + 1 : 1;
    snprintf(w->fail_key, sizeof w->fail_key, "%s", key);
    snprintf(w->last_fail, sizeof w->last_fail, "%s", reason);
    int limit = w->o->max_consecutive_failures;
    if (limit > 0 && w->fail_streak >= limit && !w->stopping) {
        w->stopping = w->fail_stop = 1;
        sched_say(w,
                  "stopping: %d trials in a row failed with the same reason (%s); the running trials save their state",
                  w->fail_streak, reason);
        sched_stop_children(w, SIGTERM);
    }
}

void sched_drop_state(sweep *w, int number) {
    if (w->o->keep_states) return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/trial-%d", w->home, number);
    vs_error err;
    if (vs_runs_is_trials(dir, w->uid, number) && vs_runs_drop_state(dir, &err))
        sched_say(w, "trial %d: its state could not be removed: %s", number, err.msg);
}

/* After a trial has ended (not WAITING): counted, its state removed, and a FAIL's
 * parameters queued again while max_retries allows. */
static int after_end(sweep *w, int number, const char *state, const char *reason, vs_error *err) {
    note_ended(w, state, reason);
    sched_drop_state(w, number);
    if (strcmp(state, "FAIL") || w->stopping) return 0;
    const vs_db_trial *t = sched_trial_by_number(w, number);
    if (!t || t->missing || attempts_of(w, t) > w->space.max_retries) return 0;
    int trial_id, again;
    if (vs_db_create_trial(w->db, w->study_id, &w->space, t->values, number, &trial_id, &again, err)) return -1;
    sched_say(w, "trial %d: retrying its parameters as trial %d", number, again);
    return sched_refresh_trial(w, trial_id, err);
}

int sched_fail_unstarted(sweep *w, int trial_id, int number, const char *reason, vs_error *err) {
    if (vs_db_trial_finished(w->db, trial_id, "FAIL", NULL, w->space.metric, -1, reason, NULL, err) ||
        sched_refresh_trial(w, trial_id, err))
        return -1;
    sched_say(w, "trial %d: FAIL: %s", number, reason);
    return after_end(w, number, "FAIL", reason, err);
}

/* The done line's model file as results.db keeps it: relative to the database's folder. */
static void store_model_path(sweep *w, cJSON *done) {
    const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(done, "model"));
    if (!model) return;
    char abs[8192];
    vs_error ignore;
    if (vs_runs_absolute(model, abs, sizeof abs, &ignore)) return;
    char *stored = sched_stored_path(w, abs);
    cJSON_ReplaceItemInObjectCaseSensitive(done, "model", cJSON_CreateString(stored));
    free(stored);
}

static int out_of_space(const child *c, const char *tail) {
    return (c->error && strstr(c->error, NO_SPACE_TEXT)) || (tail && strstr(tail, NO_SPACE_TEXT));
}

/* Records how an attempt ended, and re-queues a failure's parameters when allowed. */
static int finish(sweep *w, child *c, int status, vs_error *err) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    /* srun exits with 128 + the signal that ended its task: the trainer's fate, as if local */
    if (w->slurm && code > 128 && code < 128 + NSIG) sig = code - 128, code = -1;
    const char *state;
    char reason[1200] = "";
    double elapsed = sched_now() - c->started;
    char *tail = vs_tail_text(&c->tail);
    /* The objective of a done line, checked here as the database checks it, so that
     * what is said below is what was recorded. */
    double objective =
        c->done ? sched_json_num(cJSON_GetObjectItemCaseSensitive(c->done, "val"), w->space.metric) : NAN;
    if (c->bad_output) {
        state = "FAIL";
        snprintf(reason, sizeof reason, "%s", c->error);
    } else if (c->prune && (code == 3 || code == 0 || sig)) {
        state = "PRUNED";
        snprintf(reason, sizeof reason, "%s", c->prune_reason);
    } else if (code == 0 && c->done && isfinite(objective)) {
        state = "COMPLETE";
    } else if (code == 0 && c->done) {
        state = "FAIL";
        if (isnan(objective)) snprintf(reason, sizeof reason, "the done line has no val.%s", w->space.metric);
        else snprintf(reason, sizeof reason, "the done line's val.%s is not finite (%g)", w->space.metric, objective);
    } else if (c->stopping && (code == 3 || sig)) {
        /* asked to stop: saved (exit 3), or ended by the signal before it could save
         * (still starting, or past the grace period): either way it resumes */
        state = "WAITING";
        snprintf(reason, sizeof reason, "stopped by the sweep; resumes from its saved state");
    } else {
        state = "FAIL";
        if (c->timed_out) snprintf(reason, sizeof reason, "timed out after %.0f s", elapsed);
        else if (c->error) snprintf(reason, sizeof reason, "%s", c->error);
        else if (sig) snprintf(reason, sizeof reason, "killed by signal %d (%s)", sig, strsignal(sig));
        else if (code == 0) snprintf(reason, sizeof reason, "exited without a result");
        else snprintf(reason, sizeof reason, "exit status %d", code);
        if (out_of_space(c, tail)) {
            /* Not the trial's failure: it waits for the next run, and no trial starts
             * until then (loop() ends the sweep once the running ones have ended). */
            char why[1200];
            snprintf(why, sizeof why, "the disk is full (%s): %s; it waits for the next run", NO_SPACE_TEXT, reason);
            snprintf(reason, sizeof reason, "%s", why);
            state = "WAITING";
            w->disk_full = 1;
        }
        if (c->slurm_note[0]) {
            size_t used = strlen(reason);
            snprintf(reason + used, sizeof reason - used, " (Slurm: %s)", c->slurm_note);
        }
    }
    if (c->done) store_model_path(w, c->done);
    int rc = vs_db_trial_finished(w->db, c->trial_id, state, c->done, w->space.metric, sig ? 128 + sig : code,
                                  reason[0] ? reason : NULL, !strcmp(state, "FAIL") ? tail : NULL, err);
    free(tail);
    if (rc) return -1;
    if (!strcmp(state, "COMPLETE")) {
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(c->done, "val");
        sched_say(w, "trial %d: COMPLETE, %s %.4f (best epoch %.0f, %.0f s)", c->number, w->space.metric,
                  sched_json_num(val, w->space.metric), sched_json_num(c->done, "best_epoch"), elapsed);
    } else {
        sched_say(w, "trial %d: %s%s%s", c->number, state, reason[0] ? ": " : "", reason);
    }
    if (strcmp(state, "WAITING")) {
        w->ended_seconds += elapsed;
        w->ended_count++;
    }
    int number = c->number, ended_id = c->trial_id;
    sched_child_free(c);
    if (sched_refresh_trial(w, ended_id, err)) return -1;
    return strcmp(state, "WAITING") ? after_end(w, number, state, reason, err) : 0;
}

int sched_end_trials(sweep *w, double now, vs_error *err) {
    double timeout = w->o->trial_timeout > 0 ? w->o->trial_timeout : w->space.trial_timeout;
    int ended = 0;   /* trainers whose output has closed: their attempts end now */
    for (int i = 0; i < w->n_slots; i++) {
        child *c = &w->children[i];
        if (!c->used) continue;
        if (timeout > 0 && !c->timed_out && now - c->started > timeout) {
            c->timed_out = 1;
            c->kill_at = now + KILL_GRACE_SECONDS;
            sched_signal_trial(c, SIGTERM);
        }
        if (c->kill_at && now > c->kill_at) sched_signal_trial(c, SIGKILL);
        ended += c->proc.fd_out < 0 && c->proc.fd_err < 0;
    }
    /* Many slots end trials at a time: their ends wait for the disk once, with the last. */
    for (int i = 0; i < w->n_slots && ended > 0; i++) {
        child *c = &w->children[i];
        if (!c->used || c->proc.fd_out >= 0 || c->proc.fd_err >= 0) continue;
        int status, rc = 0;
        vs_db_defer_end_sync(w->db, --ended > 0);
        if (waitpid(c->proc.pid, &status, 0) == c->proc.pid) rc = finish(w, c, status, err);
        vs_db_defer_end_sync(w->db, 0);
        if (rc) return -1;
    }
    return 0;
}

/* --retry-failed: each FAILed trial that has not been retried yet gets a new trial with
 * its parameters (retry_of names it), run before any new proposal. */
int sched_requeue_failed(sweep *w, vs_error *err) {
    int n = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (strcmp(t->state, "FAIL") || t->missing) continue;   /* no parameters to run again */
        int retried = 0;
        for (int j = 0; j < w->n_trials && !retried; j++) retried = w->trials[j].retry_of == t->number;
        if (retried) continue;
        int trial_id, number;
        if (vs_db_create_trial(w->db, w->study_id, &w->space, t->values, t->number, &trial_id, &number, err)) return -1;
        n++;
    }
    sched_say(w, "--retry-failed: %d failed trial%s re-queued with %s parameters", n, n == 1 ? "" : "s",
              n == 1 ? "its" : "their");
    return n ? sched_reload(w, err) : 0;
}
