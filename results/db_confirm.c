/* db_confirm: the link between a sweep and the sweep that confirms it, and the trials
 * of a confirmation recorded with what they confirm (results_confirm.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "results_confirm.h"

/* The sweep's uid, or "" when it has none (a sweep an older vaesearch recorded and no
 * run has opened since). */
static int sweep_uid(vs_db *db, int study_id, char uid[33], vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT uid FROM vs_sweeps WHERE study_id = ?", "i", study_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    const char *s = r == 1 ? (const char *)sqlite3_column_text(st, 0) : NULL;
    snprintf(uid, 33, "%s", s ? s : "");
    db_release(db, st);
    if (r == 0) return vs_errorf(err, "%s: no sweep with study_id %d", db->path, study_id);
    return r < 0 ? -1 : 0;
}

/* The uid a link's JSON names, or NULL. */
static const char *linked_uid(const cJSON *link) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(link, "sweep_id"));
}

int vs_db_find_confirmation(vs_db *db, int study_id, int *confirm_id, vs_error *err) {
    char uid[33];
    if (sweep_uid(db, study_id, uid, err)) return -1;
    if (!uid[0]) return 0;
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT study_id, value_json FROM study_system_attributes WHERE \"key\" = ? "
                                  "ORDER BY study_id",
                                  "s", VS_CONFIRM_ATTR);
    if (!st) return -1;
    int r, found = 0;
    while (!found && (r = db_step(db, st, err)) == 1) {
        const char *text = (const char *)sqlite3_column_text(st, 1);
        cJSON *link = text ? cJSON_Parse(text) : NULL;
        const char *theirs = linked_uid(link);
        if (theirs && !strcmp(theirs, uid)) {
            *confirm_id = sqlite3_column_int(st, 0);
            found = 1;
        }
        cJSON_Delete(link);
    }
    db_release(db, st);
    return found ? 1 : r < 0 ? -1 : 0;
}

int vs_db_confirmation_source(vs_db *db, int confirm_id, int *source_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT value_json FROM study_system_attributes WHERE study_id = ? AND \"key\" = ?", "is",
                                  confirm_id, VS_CONFIRM_ATTR);
    if (!st) return -1;
    int r = db_step(db, st, err);
    const char *text = r == 1 ? (const char *)sqlite3_column_text(st, 0) : NULL;
    cJSON *link = text ? cJSON_Parse(text) : NULL;
    db_release(db, st);
    if (r < 0) return -1;
    const char *uid = linked_uid(link);
    int64_t id = 0;
    int found = 0;
    int rc = uid ? db_query_int(db, err, &id, &found, "SELECT study_id FROM vs_sweeps WHERE uid = ?", "s", uid) : 0;
    cJSON_Delete(link);
    if (rc) return -1;
    if (found) *source_id = (int)id;
    return found;
}

int vs_db_find_sweep_to_confirm(vs_db *db, const char *name, int *study_id, vs_error *err) {
    if (name) return vs_db_find_sweep(db, name, study_id, err);
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT s.study_id, s.study_name, EXISTS (SELECT 1 FROM study_system_attributes a "
                                  "WHERE a.study_id = s.study_id AND a.\"key\" = ?) "
                                  "FROM studies s JOIN vs_sweeps w ON w.study_id = s.study_id ORDER BY s.study_id",
                                  "s", VS_CONFIRM_ATTR);
    if (!st) return -1;
    char names[512] = "";
    size_t len = 0;
    int r, n = 0, all = 0;
    while ((r = db_step(db, st, err)) == 1) {
        all++;
        if (sqlite3_column_int(st, 2)) continue;   /* a confirmation: not what is confirmed */
        const char *s = (const char *)sqlite3_column_text(st, 1);
        if (n == 0) *study_id = sqlite3_column_int(st, 0);
        if (len < sizeof names - 1)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'", n ? ", " : "", s ? s : "?");
        n++;
    }
    db_release(db, st);
    if (r < 0) return -1;
    if (all == 0) return vs_errorf(err, "%s: no sweeps yet", db->path);
    if (n == 0) return vs_errorf(err, "%s: every sweep in it is a confirmation; choose one with --sweep", db->path);
    if (n > 1) return vs_errorf(err, "%s: %d sweeps (%s); choose one with --sweep", db->path, n, names);
    return 0;
}

static int link_confirmation(vs_db *db, int confirm_id, int source_id, vs_error *err) {
    char uid[33];
    if (db_require_owner(db, confirm_id, "confirmation", err) || sweep_uid(db, source_id, uid, err)) return -1;
    if (!uid[0])
        return vs_errorf(err, "%s: the sweep to confirm has no identity yet (an older vaesearch recorded it): run "
                              "`vaesearch run` on its space once",
                         db->path);
    char *name = NULL;
    sqlite3_stmt *st = db_prepare(db, err, "SELECT study_name FROM studies WHERE study_id = ?", "i", source_id);
    if (!st) return -1;
    if (db_step(db, st, err) == 1) name = db_column_strdup(st, 0);
    db_release(db, st);
    cJSON *link = cJSON_CreateObject();
    cJSON_AddStringToObject(link, "sweep_id", uid);
    cJSON_AddStringToObject(link, "sweep", name ? name : "");
    char *json = cJSON_PrintUnformatted(link);
    cJSON_Delete(link);
    free(name);
    int rc = db_run(db, err,
                    "INSERT INTO study_system_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
                    "ON CONFLICT (study_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
                    "iss", confirm_id, VS_CONFIRM_ATTR, json);
    free(json);
    return rc;
}

int vs_db_link_confirmation(vs_db *db, int confirm_id, int source_id, vs_error *err) {
    if (confirm_id == source_id) return vs_errorf(err, "%s: a sweep cannot confirm itself", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, link_confirmation(db, confirm_id, source_id, err), err);
}

static int confirm_trial(vs_db *db, int study_id, const vs_space *s, const double *values, int source_number,
                         int seed_index, int *trial_id, int *number, vs_error *err) {
    if (db_require_owner(db, study_id, "confirmation trial", err) ||
        db_trial_insert(db, study_id, s, values, -1, trial_id, number, err))
        return -1;
    return db_set_user_attr_number(db, *trial_id, "confirm_of", source_number, err) ||
                   db_set_user_attr_number(db, *trial_id, "confirm_seed_index", seed_index, err)
               ? -1
               : 0;
}

int vs_db_create_confirm_trial(vs_db *db, int study_id, const vs_space *s, const double *values, int source_number,
                               int seed_index, int *trial_id, int *number, vs_error *err) {
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, confirm_trial(db, study_id, s, values, source_number, seed_index, trial_id, number, err), err);
}
