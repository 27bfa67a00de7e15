/* db_queries: the reports behind `vaesearch top`, `status` and `show`: a sweep and
 * its trials as JSON objects. */
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

/* ---- reports for the read-only commands ---- */

int vs_db_find_sweep(vs_db *db, const char *name, int *study_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT s.study_id, s.study_name FROM studies s JOIN vs_sweeps w ON w.study_id = s.study_id "
                                  "ORDER BY s.study_id",
                                  NULL);
    if (!st) return -1;
    char names[512] = "";
    int n = 0, found = 0, r;
    size_t len = 0;
    while ((r = db_step(db, st, err)) == 1) {
        const char *s = (const char *)sqlite3_column_text(st, 1);
        if (!s) continue;
        if (name ? !strcmp(name, s) : n == 0) *study_id = sqlite3_column_int(st, 0);
        if (name && !strcmp(name, s)) found = 1;
        if (len < sizeof names - 1)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'", n ? ", " : "", s);
        n++;
    }
    db_release(db, st);
    if (r < 0) return -1;
    if (n == 0) return vs_errorf(err, "%s: no sweeps yet", db->path);
    if (name && !found) return vs_errorf(err, "%s: no sweep named '%s' (there are: %s)", db->path, name, names);
    if (!name && n > 1) return vs_errorf(err, "%s: %d sweeps (%s); choose one with --sweep", db->path, n, names);
    return 0;
}

/* A JSON text from the database, parsed; null when it is NULL or not JSON. */
static cJSON *column_json(sqlite3_stmt *st, int col) {
    const char *s = (const char *)sqlite3_column_text(st, col);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    return j ? j : cJSON_CreateNull();
}

static cJSON *column_string_or_null(sqlite3_stmt *st, int col) {
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *column_number_or_null(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? cJSON_CreateNull() : cJSON_CreateNumber(sqlite3_column_double(st, col));
}

/* A value for JSON output: JSON has no infinities, so they are written as strings. */
static cJSON *value_json(double v) {
    if (isnan(v)) return cJSON_CreateNull();
    if (isinf(v)) return cJSON_CreateString(v > 0 ? "inf" : "-inf");
    return cJSON_CreateNumber(v);
}

static void sweep_owner_json(vs_db *db, cJSON *sweep, sqlite3_stmt *st) {
    if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
        cJSON_AddNullToObject(sweep, "owner");
        return;
    }
    cJSON *o = cJSON_AddObjectToObject(sweep, "owner");
    int pid = sqlite3_column_int(st, 6);
    const char *host = (const char *)sqlite3_column_text(st, 7);
    cJSON_AddNumberToObject(o, "pid", pid);
    cJSON_AddItemToObject(o, "host", column_string_or_null(st, 7));
    cJSON_AddItemToObject(o, "started", column_string_or_null(st, 8));
    cJSON_AddItemToObject(o, "heartbeat", column_string_or_null(st, 9));
    cJSON_AddItemToObject(o, "heartbeat_age_s", column_number_or_null(st, 10));
    if (host && !strcmp(host, db->host)) cJSON_AddBoolToObject(o, "alive", db_pid_alive(pid));
    else cJSON_AddNullToObject(o, "alive");
}

/* The study's user or system attributes as an object, key -> JSON value. */
static int sweep_attrs_json(vs_db *db, cJSON *sweep, int study_id, int system, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  system ? "SELECT \"key\", value_json FROM study_system_attributes WHERE study_id = ?"
                                         : "SELECT \"key\", value_json FROM study_user_attributes WHERE study_id = ?",
                                  "i", study_id);
    if (!st) return -1;
    cJSON *attrs = cJSON_AddObjectToObject(sweep, system ? "system_attrs" : "user_attrs");
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (key && !cJSON_GetObjectItemCaseSensitive(attrs, key)) cJSON_AddItemToObject(attrs, key, column_json(st, 1));
    }
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

static int sweep_counts_json(vs_db *db, cJSON *sweep, int study_id, vs_error *err) {
    static const char *const states[] = {"WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL"};
    cJSON *counts = cJSON_AddObjectToObject(sweep, "counts");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        int64_t n = 0;
        if (db_query_int(db, err, &n, NULL, "SELECT COUNT(*) FROM trials WHERE study_id = ? AND state = ?", "is",
                         study_id, states[i]))
            return -1;
        cJSON_AddNumberToObject(counts, states[i], (double)n);
    }
    return 0;
}

static cJSON *sweep_json(vs_db *db, int study_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(
        db, err,
        "SELECT s.study_name, d.direction, w.metric, w.n_trials, w.space_json, w.created, w.owner_pid, w.owner_host, "
        "w.owner_started, w.owner_heartbeat, (julianday('now') - julianday(w.owner_heartbeat)) * 86400, w.uid, w.runs_dir "
        "FROM studies s JOIN vs_sweeps w ON w.study_id = s.study_id "
        "LEFT JOIN study_directions d ON d.study_id = s.study_id AND d.objective = 0 WHERE s.study_id = ?",
        "i", study_id);
    if (!st) return NULL;
    int r = db_step(db, st, err);
    if (r == 0) vs_errorf(err, "%s: no sweep with study_id %d", db->path, study_id);
    if (r != 1) {
        db_release(db, st);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "name", column_string_or_null(st, 0));
    cJSON_AddNumberToObject(o, "study_id", study_id);
    cJSON_AddItemToObject(o, "id", column_string_or_null(st, 11));
    cJSON_AddItemToObject(o, "runs_dir", column_string_or_null(st, 12));
    const char *dir = (const char *)sqlite3_column_text(st, 1);
    cJSON_AddStringToObject(o, "direction", dir && !strcmp(dir, "MINIMIZE") ? "minimize" : "maximize");
    cJSON_AddItemToObject(o, "metric", column_string_or_null(st, 2));
    cJSON_AddNumberToObject(o, "n_trials", sqlite3_column_int(st, 3));
    cJSON_AddItemToObject(o, "space", column_json(st, 4));
    cJSON_AddItemToObject(o, "created", column_string_or_null(st, 5));
    sweep_owner_json(db, o, st);
    db_release(db, st);
    if (sweep_counts_json(db, o, study_id, err) || sweep_attrs_json(db, o, study_id, 0, err) ||
        sweep_attrs_json(db, o, study_id, 1, err)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *vs_db_sweep_json(vs_db *db, int study_id, vs_error *err) {
    if (db_exec(db, "BEGIN", err)) return NULL;
    cJSON *o = sweep_json(db, study_id, err);
    vs_error ignored;
    db_exec(db, "COMMIT", &ignored);
    return o;
}

/* A categorical choice as the trainer takes it. A list or object choice is stored as its
 * JSON text (Optuna's choices are None, bool, int, float or str: space/space_values.c), so such a
 * string is read back as the list it stands for; vs_leaderboard does the same. */
static cJSON *choice_json(const cJSON *c) {
    if (cJSON_IsString(c) && (c->valuestring[0] == '[' || c->valuestring[0] == '{')) {
        cJSON *parsed = cJSON_Parse(c->valuestring);
        if (parsed) return parsed;
    }
    return cJSON_Duplicate(c, 1);
}

/* A parameter's JSON value from its internal value and Optuna's distribution_json. */
static cJSON *param_json(double v, const char *distribution_json) {
    cJSON *d = distribution_json ? cJSON_Parse(distribution_json) : NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(d, "attributes");
    cJSON *out = NULL;
    if (cJSON_IsString(name) && !strcmp(name->valuestring, "CategoricalDistribution")) {
        const cJSON *choices = cJSON_GetObjectItemCaseSensitive(attrs, "choices");
        const cJSON *c = v >= 0 && v < cJSON_GetArraySize(choices) ? cJSON_GetArrayItem(choices, (int)v) : NULL;
        out = c ? choice_json(c) : NULL;
    } else if (cJSON_IsString(name) && !strcmp(name->valuestring, "IntDistribution")) {
        out = cJSON_CreateNumber(round(v));
    } else if (cJSON_IsString(name) && !strcmp(name->valuestring, "FloatDistribution")) {
        const cJSON *low = cJSON_GetObjectItemCaseSensitive(attrs, "low");
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(attrs, "step");
        if (cJSON_IsNumber(low) && cJSON_IsNumber(step))
            out = cJSON_CreateNumber(vs_step_on_grid(low->valuedouble, step->valuedouble, v));
    }
    cJSON_Delete(d);
    return out ? out : cJSON_CreateNumber(v);
}

/* A trial's parameters in the order of the sweep's space (order: its parameter names),
 * whatever order they were written in (Optuna's add_trial writes its own); any the space
 * does not name follow. */
static int trial_params_json(vs_db *db, cJSON *t, int trial_id, const cJSON *order, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ? "
                                  "ORDER BY param_id",
                                  "i", trial_id);
    if (!st) return -1;
    cJSON *found = cJSON_CreateObject();
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && !cJSON_GetObjectItemCaseSensitive(found, name))
            cJSON_AddItemToObject(found, name,
                                  param_json(sqlite3_column_double(st, 1), (const char *)sqlite3_column_text(st, 2)));
    }
    db_release(db, st);
    cJSON *params = cJSON_AddObjectToObject(t, "params");
    const cJSON *p;
    cJSON_ArrayForEach(p, order) {
        cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(found, p->string);
        if (v) cJSON_AddItemToObject(params, p->string, v);
    }
    while (found->child) cJSON_AddItemToObject(params, found->child->string, cJSON_DetachItemViaPointer(found, found->child));
    cJSON_Delete(found);
    return r < 0 ? -1 : 0;
}

/* The parameters object of the sweep's stored space (its keys in the space's order), or
 * NULL (caller deletes the whole space it returns through *space). */
static const cJSON *space_parameters(vs_db *db, int study_id, cJSON **space, vs_error *err) {
    *space = NULL;
    sqlite3_stmt *st = db_prepare(db, err, "SELECT space_json FROM vs_sweeps WHERE study_id = ?", "i", study_id);
    if (!st) return NULL;
    if (db_step(db, st, err) == 1) *space = column_json(st, 0);
    db_release(db, st);
    return cJSON_GetObjectItemCaseSensitive(*space, "parameters");
}

static int trial_attrs_json(vs_db *db, cJSON *t, int trial_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT \"key\", value_json FROM trial_user_attributes WHERE trial_id = ? "
                                  "ORDER BY trial_user_attribute_id",
                                  "i", trial_id);
    if (!st) return -1;
    cJSON *attrs = cJSON_AddObjectToObject(t, "user_attrs");
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (key) cJSON_AddItemToObject(attrs, key, column_json(st, 1));
    }
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

/* The columns of vs_epochs, and the names the trainer gives them. */
static const char *const epoch_columns[] = {"epoch", "step", "loss", "neg_ll", "kl", "beta", "users_per_s", "seconds",
                                            "val_ndcg100", "val_recall20", "val_recall50", "loss_scale",
                                            "skipped_steps"};
static const char *const epoch_names[] = {"epoch", "step", "loss", "neg_ll", "kl", "beta", "users_per_s", "seconds",
                                          "val_ndcg@100", "val_recall@20", "val_recall@50", "loss_scale",
                                          "skipped_steps"};
#define N_EPOCH_COLUMNS (int)(sizeof epoch_columns / sizeof epoch_columns[0])

/* One epoch row as an object (NULL columns left out), with its intermediate value. */
static cJSON *epoch_row_json(sqlite3_stmt *st) {
    cJSON *e = cJSON_CreateObject();
    for (int c = 0; c < N_EPOCH_COLUMNS; c++)
        if (sqlite3_column_type(st, c) != SQLITE_NULL)
            cJSON_AddNumberToObject(e, epoch_names[c], sqlite3_column_double(st, c));
    if (sqlite3_column_type(st, N_EPOCH_COLUMNS + 1) != SQLITE_NULL)
        cJSON_AddItemToObject(e, "intermediate_value", value_json(db_value_from_type(st, N_EPOCH_COLUMNS, N_EPOCH_COLUMNS + 1)));
    return e;
}

/* Epoch rows of a trial, oldest first; with latest_only, just the last one (or null). */
static int trial_epochs_json(vs_db *db, cJSON *t, int trial_id, int latest_only, vs_error *err) {
    char sql[1024];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (int c = 0; c < N_EPOCH_COLUMNS; c++) len += (size_t)snprintf(sql + len, sizeof sql - len, "e.%s, ", epoch_columns[c]);
    snprintf(sql + len, sizeof sql - len,
             "i.intermediate_value, i.intermediate_value_type FROM vs_epochs e LEFT JOIN trial_intermediate_values i "
             "ON i.trial_id = e.trial_id AND i.step = e.epoch WHERE e.trial_id = ? ORDER BY e.epoch %s",
             latest_only ? "DESC LIMIT 1" : "");
    sqlite3_stmt *st = db_prepare(db, err, sql, "i", trial_id);
    if (!st) return -1;
    cJSON *curve = latest_only ? NULL : cJSON_AddArrayToObject(t, "curve");
    int r, rows = 0;
    while ((r = db_step(db, st, err)) == 1) {
        rows++;
        if (latest_only) cJSON_AddItemToObject(t, "latest_epoch", epoch_row_json(st));
        else cJSON_AddItemToArray(curve, epoch_row_json(st));
    }
    db_release(db, st);
    if (latest_only && !rows) cJSON_AddNullToObject(t, "latest_epoch");
    return r < 0 ? -1 : 0;
}

static int trial_runs_json(vs_db *db, cJSON *t, int trial_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT attempt, pid, host, gpus, out_dir, started, ended, outcome, exit_status, reason, "
                                  "output_tail FROM vs_trial_runs WHERE trial_id = ? ORDER BY attempt",
                                  "i", trial_id);
    if (!st) return -1;
    cJSON *runs = cJSON_AddArrayToObject(t, "runs");
    static const char *const names[] = {"attempt", "pid", "host", "gpus", "out_dir", "started",
                                        "ended", "outcome", "exit_status", "reason", "output_tail"};
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        cJSON *run = cJSON_CreateObject();
        for (int c = 0; c < 11; c++) {
            int type = sqlite3_column_type(st, c);
            cJSON_AddItemToObject(run, names[c], type == SQLITE_INTEGER || type == SQLITE_FLOAT
                                                     ? cJSON_CreateNumber(sqlite3_column_double(st, c))
                                                     : column_string_or_null(st, c));
        }
        cJSON_AddItemToArray(runs, run);
    }
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

static cJSON *trial_row_json(sqlite3_stmt *st) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "number", sqlite3_column_int(st, 1));
    cJSON_AddNumberToObject(t, "trial_id", sqlite3_column_int(st, 0));
    cJSON_AddItemToObject(t, "state", column_string_or_null(st, 2));
    cJSON_AddItemToObject(t, "value", sqlite3_column_type(st, 6) == SQLITE_NULL ? cJSON_CreateNull()
                                                                                : value_json(db_value_from_type(st, 5, 6)));
    cJSON_AddItemToObject(t, "datetime_start", column_string_or_null(st, 3));
    cJSON_AddItemToObject(t, "datetime_complete", column_string_or_null(st, 4));
    cJSON_AddNumberToObject(t, "attempts", sqlite3_column_int(st, 7));
    cJSON_AddItemToObject(t, "seconds", column_number_or_null(st, 8));
    return t;
}

static cJSON *trials_json(vs_db *db, int study_id, int number, int detail, vs_error *err) {
    sqlite3_stmt *st = db_prepare(
        db, err,
        "SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete, v.value, v.value_type, "
        "(SELECT COUNT(*) FROM vs_trial_runs r WHERE r.trial_id = t.trial_id), "
        "(SELECT SUM(julianday(COALESCE(r.ended, strftime('%Y-%m-%d %H:%M:%f', 'now'))) - julianday(r.started)) * 86400 "
        "FROM vs_trial_runs r WHERE r.trial_id = t.trial_id) "
        "FROM trials t LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 "
        "WHERE t.study_id = ? AND (? < 0 OR t.number = ?) ORDER BY t.number",
        "iii", study_id, number, number);
    if (!st) return NULL;
    cJSON *list = cJSON_CreateArray(), *space = NULL;
    const cJSON *order = space_parameters(db, study_id, &space, err);
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        cJSON *t = trial_row_json(st);
        cJSON_AddItemToArray(list, t);
        int id = sqlite3_column_int(st, 0);
        if (trial_params_json(db, t, id, order, err) || trial_attrs_json(db, t, id, err) ||
            trial_epochs_json(db, t, id, 1, err) || (detail && trial_epochs_json(db, t, id, 0, err)) ||
            (detail && trial_runs_json(db, t, id, err))) {
            r = -1;
            break;
        }
    }
    db_release(db, st);
    cJSON_Delete(space);
    if (r < 0) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}

cJSON *vs_db_trials_json(vs_db *db, int study_id, int number, int detail, vs_error *err) {
    if (db_exec(db, "BEGIN", err)) return NULL;
    cJSON *list = trials_json(db, study_id, number, detail, err);
    vs_error ignored;
    db_exec(db, "COMMIT", &ignored);
    return list;
}
