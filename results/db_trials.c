/* db_trials: what a sweep writes about its trials (created, started, each epoch,
 * finished, re-queued) and reads back for the scheduler (every trial with its
 * parameters, value and curve). */
#define _GNU_SOURCE /* gethostname, kill, gmtime_r */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "common/json_exact.h"

/* ---- trials ---- */

/* A trial's number and state; err names the trial_id when there is none. */
static int trial_lookup(vs_db *db, int trial_id, int *number, char state[12], vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT number, state FROM trials WHERE trial_id = ?", "i", trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err), rc = r < 0 ? -1 : 0;
    if (r == 0) rc = vs_errorf(err, "%s: no trial with trial_id %d", db->path, trial_id);
    if (r == 1) {
        *number = sqlite3_column_int(st, 0);
        const char *s = (const char *)sqlite3_column_text(st, 1);
        snprintf(state, 12, "%s", s ? s : "");
    }
    db_release(db, st);
    return rc;
}

static int check_param_value(const vs_param *p, double v, vs_error *err) {
    if (!isfinite(v)) return vs_errorf(err, "parameter '%s': value %g is not finite", p->name, v);
    if (p->kind == VS_PARAM_CATEGORICAL && (v < 0 || v >= p->n_choices || v != floor(v)))
        return vs_errorf(err, "parameter '%s': choice index %g out of range [0, %d)", p->name, v, p->n_choices);
    return 0;
}

static int trial_insert(vs_db *db, int study_id, const vs_space *s, const double *values, int retry_of, int *trial_id,
                        int *number, vs_error *err) {
    int64_t next = 0;
    /* Optuna numbers a study's trials 0, 1, 2... in creation order; so do we. Each number
     * is given inside the write transaction that inserts the row, so the study's latest
     * row (largest trial_id) holds the largest number: found through ix_trials_study_id
     * at once, where MAX(number) would read every trial of the study. */
    if (db_query_int(db, err, &next, NULL,
                     "SELECT COALESCE((SELECT number FROM trials WHERE study_id = ? ORDER BY trial_id DESC LIMIT 1), -1) + 1",
                     "i", study_id))
        return -1;
    if (db_run(db, err, "INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING')", "ii", (int)next,
               study_id))
        return -1;
    *trial_id = (int)sqlite3_last_insert_rowid(db->sql);
    *number = (int)next;
    for (int i = 0; i < s->n_params; i++) {
        const vs_param *p = &s->params[i];
        if (isnan(values[i])) continue; /* absent (its conditions leave it out): no row, as in Optuna */
        char *dist = vs_param_distribution_json(p);
        if (!dist) continue; /* a parameter Optuna has no distribution for */
        int rc = db_run(db, err,
                        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                        "VALUES (?, ?, ?, ?)",
                        "isds", *trial_id, p->name, p->kind == VS_PARAM_CONSTANT ? 0.0 : values[i], dist);
        free(dist);
        if (rc) return -1;
    }
    if (retry_of >= 0 && db_set_user_attr_number(db, *trial_id, "retry_of", retry_of, err)) return -1;
    return 0;
}

int db_trial_insert(vs_db *db, int study_id, const vs_space *s, const double *values, int retry_of, int *trial_id,
                    int *number, vs_error *err) {
    return trial_insert(db, study_id, s, values, retry_of, trial_id, number, err);
}

/* The space's conditions name the parameters present (space.h): a trial has those, and
 * only those. */
static int check_presence(const vs_space *s, const double *values, vs_error *err) {
    int bad = vs_space_presence_mismatch(s, values);
    if (bad < 0) return 0;
    return vs_errorf(err, "parameter '%s': %s", s->params[bad].name,
                     isnan(values[bad]) ? "absent, though its conditions (\"when\") hold"
                                        : "has a value, though its conditions (\"when\") leave it out");
}

int vs_db_create_trial(vs_db *db, int study_id, const vs_space *s, const double *values, int retry_of, int *trial_id,
                       int *number, vs_error *err) {
    if (check_presence(s, values, err)) return vs_error_prefix(err, "%s: new trial", db->path);
    for (int i = 0; i < s->n_params; i++)
        if (s->params[i].kind != VS_PARAM_CONSTANT && !isnan(values[i]) && check_param_value(&s->params[i], values[i], err))
            return vs_error_prefix(err, "%s: new trial", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, trial_insert(db, study_id, s, values, retry_of, trial_id, number, err), err);
}

static int fill_params(vs_db *db, int trial_id, const vs_space *s, const double *values, vs_error *err) {
    int number;
    char state[12];
    if (trial_lookup(db, trial_id, &number, state, err)) return -1;
    if (strcmp(state, "WAITING"))
        return vs_errorf(err, "%s: trial %d is %s; only a WAITING trial's parameters can be completed", db->path, number,
                         state);
    if (check_presence(s, values, err)) return vs_error_prefix(err, "%s: trial %d", db->path, number);
    for (int i = 0; i < s->n_params; i++) {
        const vs_param *p = &s->params[i];
        if (isnan(values[i])) continue; /* absent: no row */
        char *dist = vs_param_distribution_json(p);
        if (!dist) continue; /* a parameter Optuna has no distribution for */
        int rc = p->kind != VS_PARAM_CONSTANT && check_param_value(p, values[i], err);
        if (!rc)
            rc = db_run(db, err,
                        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, param_name) DO NOTHING",
                        "isds", trial_id, p->name, p->kind == VS_PARAM_CONSTANT ? 0.0 : values[i], dist);
        free(dist);
        if (rc) return vs_error_prefix(err, "%s: trial %d", db->path, number);
    }
    return 0;
}

int vs_db_fill_trial_params(vs_db *db, int trial_id, const vs_space *s, const double *values, vs_error *err) {
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, fill_params(db, trial_id, s, values, err), err);
}

static int trial_start(vs_db *db, int trial_id, int pid, const char *gpus, const char *out_dir, vs_error *err) {
    int number;
    char state[12], now[32];
    if (trial_lookup(db, trial_id, &number, state, err)) return -1;
    if (strcmp(state, "WAITING"))
        return vs_errorf(err, "%s: trial %d is %s; only a WAITING trial can start", db->path, number, state);
    db_now(now);
    if (db_run(db, err,
               "UPDATE trials SET state = 'RUNNING', datetime_start = COALESCE(datetime_start, ?) WHERE trial_id = ?",
               "si", now, trial_id))
        return -1;
    int64_t attempt = 0;
    if (db_query_int(db, err, &attempt, NULL, "SELECT COALESCE(MAX(attempt), 0) + 1 FROM vs_trial_runs WHERE trial_id = ?",
                     "i", trial_id))
        return -1;
    if (db_run(db, err,
               "INSERT INTO vs_trial_runs (trial_id, attempt, pid, host, gpus, out_dir, started) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               "iiissss", trial_id, (int)attempt, pid, db->host, gpus ? gpus : "", out_dir, now))
        return -1;
    if (db_run(db, err,
               "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, ?) "
               "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
               "is", trial_id, now))
        return -1;
    return db_set_user_attr_string(db, trial_id, "gpus", gpus ? gpus : "", err);
}

int vs_db_trial_started(vs_db *db, int trial_id, int pid, const char *gpus, const char *out_dir, vs_error *err) {
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, trial_start(db, trial_id, pid, gpus, out_dir, err), err);
}

/* A member of a JSON object as a number, NaN when it is missing or not a number. */
static double json_number(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* An integer column's value: NULL (bound as NaN) when missing. */
static int json_int_or_null(const cJSON *o, const char *key, int64_t *v) {
    double d = json_number(o, key);
    if (isnan(d) || d != floor(d) || fabs(d) > 9e15) return 0;
    *v = (int64_t)d;
    return 1;
}

static int epoch_insert(vs_db *db, int trial_id, const char *metric, const cJSON *ev, vs_error *err) {
    int number;
    char state[12];
    if (trial_lookup(db, trial_id, &number, state, err)) return -1;
    if (db_is_end_state(state))
        return vs_errorf(err, "%s: trial %d already ended (%s); its epochs are closed", db->path, number, state);
    int64_t epoch;
    if (!json_int_or_null(ev, "epoch", &epoch) || epoch < 1 || epoch > DB_MAX_EPOCHS)
        return vs_errorf(err, "%s: trial %d: epoch event without a valid 'epoch' (an integer >= 1)", db->path, number);
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(ev, "val");
    int64_t step = 0, skipped = 0;
    int has_step = json_int_or_null(ev, "step", &step), has_skipped = json_int_or_null(ev, "skipped_steps", &skipped);
    sqlite3_stmt *st = db_prepare(
        db, err,
        "INSERT OR REPLACE INTO vs_epochs (trial_id, epoch, step, loss, neg_ll, kl, beta, users_per_s, seconds, "
        "val_ndcg100, val_recall20, val_recall50, loss_scale, skipped_steps) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "iIdddddddddddd", trial_id, epoch, has_step ? (double)step : NAN, json_number(ev, "loss"),
        json_number(ev, "neg_ll"), json_number(ev, "kl"), json_number(ev, "beta"), json_number(ev, "users_per_s"),
        json_number(ev, "seconds"), json_number(val, "ndcg@100"), json_number(val, "recall@20"),
        json_number(val, "recall@50"), json_number(ev, "loss_scale"), has_skipped ? (double)skipped : NAN);
    if (!st) return -1;
    int r = db_step(db, st, err);
    db_release(db, st);
    if (r < 0) return -1;
    if (!cJSON_IsObject(val)) return 0;
    /* An evaluated epoch: the metric is Optuna's intermediate value at step = epoch. A
     * missing or null metric (a non-finite one) is stored as Optuna stores NaN. */
    double v = json_number(val, metric);
    return db_run(db, err,
                  "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
                  "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step) DO UPDATE SET "
                  "intermediate_value = excluded.intermediate_value, "
                  "intermediate_value_type = excluded.intermediate_value_type",
                  "iIds", trial_id, epoch, isfinite(v) ? v : NAN, db_value_type_of(v));
}

int vs_db_trial_epoch(vs_db *db, int trial_id, const char *metric, const cJSON *epoch_event, vs_error *err) {
    if (!cJSON_IsObject(epoch_event)) return vs_errorf(err, "%s: epoch event is not a JSON object", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, epoch_insert(db, trial_id, metric, epoch_event, err), err);
}

/* Closes the trial's open attempt; records one, started and ended now, when none is
 * open (a trial that ended before its trainer ran, e.g. a bad config). */
static int run_close(vs_db *db, int trial_id, const char *outcome, int exit_status, const char *reason,
                     const char *output_tail, vs_error *err) {
    char now[32];
    db_now(now);
    size_t len = output_tail ? strlen(output_tail) : 0;
    const char *tail = len > DB_OUTPUT_TAIL_MAX ? output_tail + len - DB_OUTPUT_TAIL_MAX : output_tail;
    double status = exit_status >= 0 ? exit_status : NAN;
    int64_t open = 0;
    int found = 0;
    if (db_query_int(db, err, &open, &found,
                     "SELECT run_id FROM vs_trial_runs WHERE trial_id = ? AND ended IS NULL ORDER BY attempt DESC LIMIT 1",
                     "i", trial_id))
        return -1;
    if (found)
        return db_run(db, err,
                      "UPDATE vs_trial_runs SET ended = ?, outcome = ?, exit_status = ?, reason = ?, output_tail = ? "
                      "WHERE run_id = ?",
                      "ssdssI", now, outcome, status, reason, tail, open);
    return db_run(db, err,
                  "INSERT INTO vs_trial_runs (trial_id, attempt, host, gpus, started, ended, outcome, exit_status, "
                  "reason, output_tail) SELECT ?, COALESCE(MAX(attempt), 0) + 1, ?, '', ?, ?, ?, ?, ?, ? "
                  "FROM vs_trial_runs WHERE trial_id = ?",
                  "issssdssi", trial_id, db->host, now, now, outcome, status, reason, tail, trial_id);
}

static int set_value(vs_db *db, int trial_id, double v, vs_error *err) {
    return db_run(db, err,
                  "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, ?) "
                  "ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, value_type = excluded.value_type",
                  "ids", trial_id, isfinite(v) ? v : NAN, db_value_type_of(v));
}

/* The metrics of the trainer's done line become user attributes val_<m> and test_<m>. */
static int record_metrics(vs_db *db, int trial_id, const char *prefix, const cJSON *metrics, vs_error *err) {
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics) {
        if (!cJSON_IsNumber(m) || !m->string || !strcmp(m->string, "users")) continue;
        char key[128];
        snprintf(key, sizeof key, "%s%s", prefix, m->string);
        if (db_set_user_attr(db, trial_id, key, m, err)) return -1;
    }
    return 0;
}

static int record_done(vs_db *db, int trial_id, const cJSON *done, double value, vs_error *err) {
    if (set_value(db, trial_id, value, err)) return -1;
    if (record_metrics(db, trial_id, "val_", cJSON_GetObjectItemCaseSensitive(done, "val"), err) ||
        record_metrics(db, trial_id, "test_", cJSON_GetObjectItemCaseSensitive(done, "test"), err))
        return -1;
    static const char *const copied[] = {"best_epoch", "train_users_per_s", "steps", "model"};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(done, copied[i]);
        if ((cJSON_IsNumber(v) || cJSON_IsString(v)) && db_set_user_attr(db, trial_id, copied[i], v, err)) return -1;
    }
    return 0;
}

/* Optuna's tell(state=PRUNED) stores the last step's intermediate value as the value,
 * unless it is NaN; with no intermediate value, no value. */
static int record_pruned(vs_db *db, int trial_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT intermediate_value, intermediate_value_type FROM trial_intermediate_values "
                                  "WHERE trial_id = ? ORDER BY step DESC LIMIT 1",
                                  "i", trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    double v = r == 1 ? db_value_from_type(st, 0, 1) : NAN;
    db_release(db, st);
    if (r < 0) return -1;
    if (isnan(v)) return db_run(db, err, "DELETE FROM trial_values WHERE trial_id = ?", "i", trial_id);
    return set_value(db, trial_id, v, err);
}

static int trial_finish(vs_db *db, int trial_id, const char *state, const cJSON *done, const char *metric,
                        int exit_status, const char *reason, const char *output_tail, vs_error *err) {
    int number;
    char old[12], now[32];
    if (trial_lookup(db, trial_id, &number, old, err)) return -1;
    if (db_is_end_state(old)) return vs_errorf(err, "%s: trial %d already ended (%s)", db->path, number, old);
    /* A done line without a usable objective cannot make a COMPLETE trial (Optuna
     * refuses those without a value or with NaN): it is recorded as a failure. */
    double value = NAN;
    char why[160];
    if (!strcmp(state, "COMPLETE")) {
        value = json_number(cJSON_GetObjectItemCaseSensitive(done, "val"), metric);
        if (isnan(value)) {
            snprintf(why, sizeof why, "the done line has no val.%s", metric ? metric : "?");
            state = "FAIL";
            reason = why;
        } else if (!isfinite(value)) {   /* inf would rank first in every report */
            snprintf(why, sizeof why, "the done line's val.%s is not finite (%g)", metric ? metric : "?", value);
            state = "FAIL";
            reason = why;
        }
    }
    if (run_close(db, trial_id, state, exit_status, reason, output_tail, err)) return -1;
    if (!strcmp(state, "WAITING")) {
        if (db_run(db, err, "UPDATE trials SET state = 'WAITING', datetime_complete = NULL WHERE trial_id = ?", "i",
                   trial_id))
            return -1;
    } else {
        db_now(now);
        if (db_run(db, err,
                   "UPDATE trials SET state = ?, datetime_start = COALESCE(datetime_start, ?), datetime_complete = ? "
                   "WHERE trial_id = ?",
                   "sssi", state, now, now, trial_id))
            return -1;
    }
    if (db_run(db, err, "DELETE FROM trial_heartbeats WHERE trial_id = ?", "i", trial_id)) return -1;
    int rc = 0;
    if (!strcmp(state, "COMPLETE")) rc = record_done(db, trial_id, done, value, err);
    else if (!strcmp(state, "PRUNED")) rc = record_pruned(db, trial_id, err);
    else if (!strcmp(state, "FAIL")) {
        rc = db_run(db, err, "DELETE FROM trial_values WHERE trial_id = ?", "i", trial_id) ||
             db_set_user_attr_string(db, trial_id, "fail_reason", reason ? reason : "unknown", err);
    }
    if (rc) return -1;
    if (!strcmp(state, "WAITING")) return 0;
    /* The trainer's running time over all attempts, the cost of the trial. */
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT SUM(julianday(ended) - julianday(started)) * 86400 FROM vs_trial_runs "
                                  "WHERE trial_id = ?",
                                  "i", trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    double seconds = r == 1 ? db_column_double_or_nan(st, 0) : NAN;
    db_release(db, st);
    if (r < 0) return -1;
    return isnan(seconds) ? 0 : db_set_user_attr_number(db, trial_id, "seconds", seconds, err);
}

int vs_db_trial_finished(vs_db *db, int trial_id, const char *state, const cJSON *done_event, const char *metric,
                         int exit_status, const char *reason, const char *output_tail, vs_error *err) {
    if (!state || (!db_is_end_state(state) && strcmp(state, "WAITING")))
        return vs_errorf(err, "%s: trial end state '%s' is not COMPLETE, PRUNED, FAIL or WAITING", db->path,
                         state ? state : "(null)");
    /* A trial's end is finished work: this one commit waits for the disk (synchronous
     * FULL syncs the WAL, and with it every commit before), so that not even a power cut
     * loses it; the epochs between ends are committed without waiting (NORMAL), and so
     * are ends before another in the same batch (vs_db_defer_end_sync), whose sync is
     * theirs too. */
    if (!db->defer_end_sync && db_exec(db, "PRAGMA synchronous = FULL", err)) return -1;
    int rc = -1;
    if (db_begin(db, err) == 0)
        rc = db_finish_tx(db, trial_finish(db, trial_id, state, done_event, metric, exit_status, reason, output_tail, err),
                          err);
    vs_error ignore;
    db_exec(db, "PRAGMA synchronous = NORMAL", &ignore);
    return rc;
}

static int user_attr_set(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err) {
    int number;
    char state[12];
    if (trial_lookup(db, trial_id, &number, state, err)) return -1;
    return db_set_user_attr(db, trial_id, key, value, err);
}

int vs_db_set_user_attr(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err) {
    if (!key || !key[0] || !value) return vs_errorf(err, "%s: user attribute without a key or value", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, user_attr_set(db, trial_id, key, value, err), err);
}

static int requeue(vs_db *db, int study_id, int *n, vs_error *err) {
    char now[32];
    db_now(now);
    if (db_require_owner(db, study_id, "requeue", err)) return -1;
    /* An orphan's attempt ended when it was last seen alive: its trial heartbeat. */
    if (db_run(db, err,
               "UPDATE vs_trial_runs SET ended = COALESCE((SELECT heartbeat FROM trial_heartbeats h "
               "WHERE h.trial_id = vs_trial_runs.trial_id), ?), outcome = 'WAITING', "
               "reason = 'requeued: the run that owned it was gone' "
               "WHERE ended IS NULL AND trial_id IN (SELECT trial_id FROM trials WHERE study_id = ? AND state = 'RUNNING')",
               "si", now, study_id))
        return -1;
    if (db_run(db, err,
               "DELETE FROM trial_heartbeats WHERE trial_id IN "
               "(SELECT trial_id FROM trials WHERE study_id = ? AND state = 'RUNNING')",
               "i", study_id))
        return -1;
    if (db_run(db, err, "UPDATE trials SET state = 'WAITING' WHERE study_id = ? AND state = 'RUNNING'", "i", study_id))
        return -1;
    *n = sqlite3_changes(db->sql);
    return 0;
}

int vs_db_requeue_orphans(vs_db *db, int study_id, int *n, vs_error *err) {
    *n = 0;
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, requeue(db, study_id, n, err), err);
}

/* ---- loading trials ---- */

static int param_index(const vs_space *s, const char *name) {
    for (int i = 0; i < s->n_params; i++)
        if (!strcmp(s->params[i].name, name)) return i;
    return -1;
}

static int load_params(vs_db *db, const vs_space *s, vs_db_trial *t, vs_error *err) {
    t->values = vs_xcalloc((size_t)(s->n_params ? s->n_params : 1), sizeof(double));
    char *seen = vs_xcalloc((size_t)(s->n_params ? s->n_params : 1), 1);
    sqlite3_stmt *st = db_prepare(db, err, "SELECT param_name, param_value FROM trial_params WHERE trial_id = ?", "i",
                                  t->trial_id);
    int r = st ? 0 : -1;
    while (st && (r = db_step(db, st, err)) == 1) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int i = name ? param_index(s, name) : -1;
        if (i < 0) {
            r = vs_errorf(err, "%s: trial %d has parameter '%s', which the space lacks", db->path, t->number,
                          name ? name : "NULL");
            break;
        }
        t->values[i] = sqlite3_column_double(st, 1);
        seen[i] = 1;
    }
    db_release(db, st);
    /* A parameter without a row is absent when the space's conditions leave it out (NaN,
     * as Optuna's define-by-run trials have it), a constant they keep is 0; any other is
     * missing: a trial Optuna enqueued (its fixed_params say the values it fixes; the
     * scheduler proposes the rest before it runs) or added with some left out, and
     * whether a parameter whose conditions hang on a missing one is needed is decided
     * when the rest are. Flagged, never guessed. A row the conditions leave out is refused. */
    size_t n = (size_t)(s->n_params ? s->n_params : 1);
    char *unknown = vs_xcalloc(n, 1);
    int *present = vs_xmalloc(n * sizeof *present);
    for (int i = 0; i < s->n_params; i++)
        if (!seen[i]) {
            t->values[i] = NAN;
            unknown[i] = 1;
        }
    vs_space_presence_partial(s, t->values, unknown, present);
    for (int i = 0; r == 0 && i < s->n_params; i++) {
        if (seen[i] && present[i] == 0)
            r = vs_errorf(err, "%s: trial %d has parameter '%s', which its conditions (\"when\") leave out", db->path,
                          t->number, s->params[i].name);
        else if (!seen[i] && present[i] == 1 && s->params[i].kind == VS_PARAM_CONSTANT)
            t->values[i] = 0;
        else if (!seen[i] && present[i] != 0) {
            if (!t->missing) t->missing = vs_xcalloc(n, 1);
            t->missing[i] = 1;
        }
    }
    free(present);
    free(unknown);
    free(seen);
    return r < 0 ? -1 : 0;
}

static int load_value(vs_db *db, vs_db_trial *t, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT value, value_type FROM trial_values WHERE trial_id = ? AND objective = 0",
                                  "i", t->trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) {
        t->value = db_value_from_type(st, 0, 1);
        t->has_value = !isnan(t->value);
    }
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

static int load_curve(vs_db *db, vs_db_trial *t, vs_error *err) {
    int64_t last = 0;
    if (db_query_int(db, err, &last, NULL,
                     "SELECT COALESCE(MAX(step), 0) FROM trial_intermediate_values WHERE trial_id = ? AND step >= 1",
                     "i", t->trial_id))
        return -1;
    if (last > DB_MAX_EPOCHS) return vs_errorf(err, "%s: trial %d: step %lld is implausible", db->path, t->number, (long long)last);
    t->n_epochs = (int)last;
    t->curve = vs_xmalloc(sizeof(double) * (size_t)(last ? last : 1));
    for (int64_t e = 0; e < last; e++) t->curve[e] = NAN;
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT step, intermediate_value, intermediate_value_type FROM trial_intermediate_values "
                                  "WHERE trial_id = ? AND step >= 1",
                                  "i", t->trial_id);
    int r = st ? 0 : -1;
    while (st && (r = db_step(db, st, err)) == 1) t->curve[sqlite3_column_int(st, 0) - 1] = db_value_from_type(st, 1, 2);
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

static int load_extras(vs_db *db, vs_db_trial *t, vs_error *err) {
    int64_t retry = -1;
    int found = 0;
    if (db_query_int(db, err, &retry, &found,
                     "SELECT CAST(value_json AS INTEGER) FROM trial_user_attributes WHERE trial_id = ? AND \"key\" = 'retry_of'",
                     "i", t->trial_id))
        return -1;
    t->retry_of = found ? (int)retry : -1;
    if (t->missing && !strcmp(t->state, "WAITING")) {   /* Optuna's enqueue_trial: the values it fixes */
        sqlite3_stmt *fx = db_prepare(db, err,
                                      "SELECT value_json FROM trial_system_attributes WHERE trial_id = ? AND \"key\" = 'fixed_params'",
                                      "i", t->trial_id);
        if (!fx) return -1;
        int r = db_step(db, fx, err);
        if (r == 1) t->fixed_params = db_column_strdup(fx, 0);
        db_release(db, fx);
        if (r < 0) return -1;
    }
    if (db_query_int(db, err, &t->attempts, NULL, "SELECT COUNT(*) FROM vs_trial_runs WHERE trial_id = ?", "i",
                     t->trial_id))
        return -1;
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT out_dir FROM vs_trial_runs WHERE trial_id = ? ORDER BY attempt DESC LIMIT 1",
                                  "i", t->trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) t->out_dir = db_column_strdup(st, 0);
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

/* One trial's parameters, value, curve, retry_of and run folder, its row read already. */
static int load_details(vs_db *db, const vs_space *s, vs_db_trial *t, vs_error *err) {
    return load_params(db, s, t, err) || load_value(db, t, err) || load_curve(db, t, err) || load_extras(db, t, err)
               ? -1
               : 0;
}

static int load_one(vs_db *db, int trial_id, const vs_space *s, vs_db_trial *t, vs_error *err) {
    memset(t, 0, sizeof *t);
    t->trial_id = trial_id;
    t->retry_of = -1;
    if (trial_lookup(db, trial_id, &t->number, t->state, err)) return -1;
    return load_details(db, s, t, err);
}

int vs_db_load_trial(vs_db *db, int trial_id, const vs_space *s, vs_db_trial *out, vs_error *err) {
    if (db_exec(db, "BEGIN", err)) return -1;
    int rc = load_one(db, trial_id, s, out, err);
    vs_error ignored;
    db_exec(db, "COMMIT", &ignored); /* a read transaction: nothing to lose */
    if (rc) {
        vs_db_free_trials_content(out, 1);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

static int load_all(vs_db *db, int study_id, const vs_space *s, vs_db_trial **out, int *n, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT trial_id, number, state FROM trials WHERE study_id = ? ORDER BY number",
                                  "i", study_id);
    if (!st) return -1;
    int cap = 16, r;
    vs_db_trial *t = vs_xcalloc((size_t)cap, sizeof *t);
    while ((r = db_step(db, st, err)) == 1) {
        if (*n == cap) {
            t = vs_xrealloc(t, sizeof *t * (size_t)(cap *= 2));
            memset(t + *n, 0, sizeof *t * (size_t)(cap - *n));
        }
        vs_db_trial *x = &t[(*n)++];
        x->trial_id = sqlite3_column_int(st, 0);
        x->number = sqlite3_column_int(st, 1);
        const char *state = (const char *)sqlite3_column_text(st, 2);
        snprintf(x->state, sizeof x->state, "%s", state ? state : "");
        x->retry_of = -1;
    }
    db_release(db, st);
    *out = t;
    for (int i = 0; r == 0 && i < *n; i++)
        if (load_details(db, s, &t[i], err)) r = -1;
    return r < 0 ? -1 : 0;
}

int vs_db_load_trials(vs_db *db, int study_id, const vs_space *s, vs_db_trial **out, int *n, vs_error *err) {
    *out = NULL;
    *n = 0;
    /* One read transaction: a consistent snapshot while run's writers go on. */
    if (db_exec(db, "BEGIN", err)) return -1;
    int rc = load_all(db, study_id, s, out, n, err);
    vs_error ignored;
    db_exec(db, "COMMIT", &ignored); /* a read transaction: nothing to lose */
    if (rc) {
        vs_db_free_trials(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void vs_db_free_trials_content(vs_db_trial *t, int n) {
    for (int i = 0; t && i < n; i++) {
        free(t[i].values);
        free(t[i].curve);
        free(t[i].out_dir);
        free(t[i].missing);
        free(t[i].fixed_params);
        t[i].values = t[i].curve = NULL;
        t[i].out_dir = t[i].missing = t[i].fixed_params = NULL;
    }
}

void vs_db_free_trials(vs_db_trial *t, int n) {
    if (!t) return;
    vs_db_free_trials_content(t, n);
    free(t);
}

void vs_db_defer_end_sync(vs_db *db, int defer) { db->defer_end_sync = defer; }
