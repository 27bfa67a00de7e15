/* db_grow: sweeps that grow and get tidied: deleting or renaming a sweep in place, and
 * the trials a warm start records (finished trials of an earlier sweep, seeding this
 * one's sampler, never run). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "common/json_exact.h"

/* A sweep a live run owns is not the place to delete or rename: claiming it refuses
 * then, naming the run; a claim that succeeds is given back by the change itself. */
static int take_over(vs_db *db, int study_id, vs_error *err) {
    return vs_db_claim_sweep(db, study_id, 30.0, err);
}

/* The trials' own rows, in Optuna's tables and ours, then the study's. */
static const char *const delete_sql[] = {
    "DELETE FROM trial_user_attributes WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM trial_system_attributes WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM trial_params WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM trial_values WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM trial_intermediate_values WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM trial_heartbeats WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM vs_trial_runs WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM vs_epochs WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
    "DELETE FROM trials WHERE study_id = ?",
    "DELETE FROM study_directions WHERE study_id = ?",
    "DELETE FROM study_user_attributes WHERE study_id = ?",
    "DELETE FROM study_system_attributes WHERE study_id = ?",
    "DELETE FROM vs_sweeps WHERE study_id = ?",
    "DELETE FROM studies WHERE study_id = ?",
};

int vs_db_delete_sweep(vs_db *db, int study_id, vs_error *err) {
    if (take_over(db, study_id, err)) return -1;
    if (db_begin(db, err)) return -1;
    int rc = 0;
    for (size_t i = 0; i < sizeof delete_sql / sizeof delete_sql[0] && !rc; i++)
        rc = db_run(db, err, delete_sql[i], "i", study_id);
    return db_finish_tx(db, rc, err);
}

/* The stored space with its "name" replaced (caller frees), or NULL when it cannot be read. */
static char *renamed_space(const char *stored, const char *new_name) {
    cJSON *space = stored ? cJSON_Parse(stored) : NULL;
    if (!space || !cJSON_IsObject(space)) {
        cJSON_Delete(space);
        return NULL;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(space, "name", cJSON_CreateString(new_name));
    char *text = vs_json_print_exact(space);
    cJSON_Delete(space);
    return text;
}

static int rename_in_tx(vs_db *db, int study_id, const char *new_name, vs_error *err) {
    int64_t taken = 0;
    if (db_query_int(db, err, &taken, NULL, "SELECT COUNT(*) FROM studies WHERE study_name = ?", "s", new_name)) return -1;
    if (taken) return vs_errorf(err, "%s: a sweep named '%s' exists already", db->path, new_name);
    sqlite3_stmt *st = db_prepare(db, err, "SELECT space_json FROM vs_sweeps WHERE study_id = ?", "i", study_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    char *space = r == 1 ? renamed_space((const char *)sqlite3_column_text(st, 0), new_name) : NULL;
    db_release(db, st);
    if (r < 0) return -1;
    if (!space) return vs_errorf(err, "%s: the sweep's stored space cannot be read", db->path);
    int rc = db_run(db, err, "UPDATE studies SET study_name = ? WHERE study_id = ?", "si", new_name, study_id) ||
             db_run(db, err, "UPDATE vs_sweeps SET space_json = ? WHERE study_id = ?", "si", space, study_id);
    free(space);
    return rc ? -1 : 0;
}

int vs_db_rename_sweep(vs_db *db, int study_id, const char *new_name, vs_error *err) {
    if (take_over(db, study_id, err)) return -1;
    if (db_begin(db, err)) return -1;
    int rc = db_finish_tx(db, rename_in_tx(db, study_id, new_name, err), err);
    vs_error ignore;
    vs_db_release_sweep(db, study_id, &ignore);
    return rc;
}

static int add_seed(vs_db *db, int study_id, const vs_space *s, const vs_db_seed *seed, vs_error *err) {
    int trial_id, number;
    char now[32];
    db_now(now);
    if (db_trial_insert(db, study_id, s, seed->values, -1, &trial_id, &number, err)) return -1;
    if (db_run(db, err, "UPDATE trials SET state = ?, datetime_start = ?, datetime_complete = ? WHERE trial_id = ?",
               "sssi", seed->complete ? "COMPLETE" : "PRUNED", now, now, trial_id))
        return -1;
    if (isfinite(seed->value) &&
        db_run(db, err, "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, 'FINITE')",
               "id", trial_id, seed->value))
        return -1;
    return db_set_user_attr_string(db, trial_id, "warm_start", seed->source, err);
}

int vs_db_add_seed_trial(vs_db *db, int study_id, const vs_space *s, const vs_db_seed *seed, vs_error *err) {
    if (seed->complete && !isfinite(seed->value))
        return vs_errorf(err, "%s: warm start from %s: a COMPLETE trial needs a finite value", db->path, seed->source);
    if (db_require_owner(db, study_id, "warm start", err)) return -1;
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, add_seed(db, study_id, s, seed, err), err);
}
