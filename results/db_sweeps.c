/* db_sweeps: sweeps (Optuna studies) and their ownership: creating or finding a
 * sweep with its stored space and its identity (a random uid, and the run folder its
 * trials use), the one live `vaesearch run` that owns it, heartbeats. */
#define _GNU_SOURCE /* gethostname, kill, gmtime_r */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "common/json_exact.h"

/* ---- the owner ---- */

int db_pid_alive(int pid) {
    if (pid <= 0) return 0;
    return kill(pid, 0) == 0 || errno != ESRCH; /* EPERM: it exists, owned by someone else */
}

/* Whether this process is the recorded owner of the sweep. */
int db_is_owner(vs_db *db, int study_id, int *is_owner, vs_error *err) {
    int64_t n = 0;
    if (db_query_int(db, err, &n, NULL,
                     "SELECT COUNT(*) FROM vs_sweeps WHERE study_id = ? AND owner_pid = ? AND owner_host = ?", "iis",
                     study_id, (int)getpid(), db->host))
        return -1;
    *is_owner = n > 0;
    return 0;
}

/* ---- sweeps ---- */

static int sweep_check_space(vs_db *db, const vs_space *s, int study_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT space_json FROM vs_sweeps WHERE study_id = ?", "i", study_id);
    if (!st) return -1;
    int r = db_step(db, st, err), rc = r < 0 ? -1 : 0;
    if (r == 0)
        rc = vs_errorf(err, "%s: study '%s' was not made by vaesearch (no vs_sweeps row); choose another name",
                       db->path, s->name);
    else if (r == 1) {
        const char *stored = (const char *)sqlite3_column_text(st, 0);
        if (stored && strcmp(stored, s->canonical) && vs_space_budget_only_change(stored, s->canonical)) {
            /* A budget raised (or lowered) goes on with the same trials and history. */
            db_release(db, st);
            return db_run(db, err, "UPDATE vs_sweeps SET space_json = ?, n_trials = ? WHERE study_id = ?", "sii",
                          s->canonical, s->n_trials, study_id);
        }
        if (!stored || strcmp(stored, s->canonical)) {
            char *diff = stored ? vs_space_diff(stored, s->canonical) : NULL;
            if (diff || !stored)
                rc = vs_errorf(err,
                               "%s: sweep '%s' was started with another search space (%s); "
                               "give the changed space a new name to start a new sweep",
                               db->path, s->name, diff ? diff : "none stored");
            free(diff);
        }
    }
    db_release(db, st);
    return rc;
}

static int sweep_create(vs_db *db, const vs_space *s, int *study_id, vs_error *err) {
    char now[32];
    db_now(now);
    if (db_run(db, err, "INSERT INTO studies (study_name) VALUES (?)", "s", s->name)) return -1;
    *study_id = (int)sqlite3_last_insert_rowid(db->sql);
    if (db_run(db, err, "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, 0)", "si",
               s->maximize ? "MAXIMIZE" : "MINIMIZE", *study_id))
        return -1;
    return db_run(db, err, "INSERT INTO vs_sweeps (study_id, space_json, metric, n_trials, created) VALUES (?, ?, ?, ?, ?)",
                  "issis", *study_id, s->canonical, s->metric, s->n_trials, now);
}

/* What optuna-dashboard and optuna.load_study show of a sweep: the objective's name (the
 * system attribute Optuna's set_metric_names writes), and the space's description and
 * dataset as study user attributes. Written at every open, so older files gain them. */
static int sweep_labels(vs_db *db, const vs_space *s, int study_id, vs_error *err) {
    char name[80];
    snprintf(name, sizeof name, "val_%s", s->metric);
    cJSON *names = cJSON_CreateArray();
    cJSON_AddItemToArray(names, cJSON_CreateString(name));
    char *names_json = cJSON_PrintUnformatted(names);
    cJSON_Delete(names);
    int rc = db_run(db, err,
                    "INSERT INTO study_system_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
                    "ON CONFLICT (study_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
                    "iss", study_id, "study:metric_names", names_json);
    free(names_json);
    const char *keys[2] = {"description", "dataset"};
    const char *values[2] = {s->description, s->dataset_synth ? s->dataset_synth : s->dataset};
    char synth[300];
    if (s->dataset_synth) snprintf(synth, sizeof synth, "synth:%s", s->dataset_synth), values[1] = synth;
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (!values[i]) continue;
        cJSON *v = cJSON_CreateString(values[i]);
        char *json = cJSON_PrintUnformatted(v);
        cJSON_Delete(v);
        rc = db_run(db, err,
                    "INSERT INTO study_user_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
                    "ON CONFLICT (study_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
                    "iss", study_id, keys[i], json);
        free(json);
    }
    return rc;
}

/* 32 hex digits from the kernel's random source: a name no other sweep will have, in
 * this file or any other. */
static int new_uid(char out[33], vs_error *err) {
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return vs_errorf(err, "getrandom: %s", strerror(errno));
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof b; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* A sweep without a uid (new, or from an older vaesearch) gets one. */
static int sweep_ensure_uid(vs_db *db, int study_id, vs_error *err) {
    char uid[33];
    return new_uid(uid, err) ||
                   db_run(db, err, "UPDATE vs_sweeps SET uid = ? WHERE study_id = ? AND uid IS NULL", "si", uid, study_id)
               ? -1
               : 0;
}

int vs_db_sweep_home(vs_db *db, int study_id, char uid[33], char **runs_dir, vs_error *err) {
    *runs_dir = NULL;
    uid[0] = 0;
    sqlite3_stmt *st = db_prepare(db, err, "SELECT uid, runs_dir FROM vs_sweeps WHERE study_id = ?", "i", study_id);
    if (!st) return -1;
    int r = db_step(db, st, err), rc = r < 0 ? -1 : 0;
    if (r == 0) rc = vs_errorf(err, "%s: no sweep with study_id %d", db->path, study_id);
    if (r == 1) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        if (u && strlen(u) == 32 && strspn(u, "0123456789abcdef") == 32) memcpy(uid, u, 33);
        else rc = vs_errorf(err, "%s: sweep %d has no valid uid (%s)", db->path, study_id, u ? u : "NULL");
        *runs_dir = rc ? NULL : db_column_strdup(st, 1);
    }
    db_release(db, st);
    return rc;
}

int vs_db_set_sweep_runs_dir(vs_db *db, int study_id, const char *runs_dir, vs_error *err) {
    if (!runs_dir || !runs_dir[0]) return vs_errorf(err, "%s: an empty run folder", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, db_run(db, err, "UPDATE vs_sweeps SET runs_dir = ? WHERE study_id = ?", "si", runs_dir, study_id),
                        err);
}

int vs_db_set_sweep_system_attr(vs_db *db, int study_id, const char *key, const cJSON *value, vs_error *err) {
    if (!key || !key[0] || !value) return vs_errorf(err, "%s: study attribute without a key or value", db->path);
    char *json = cJSON_PrintUnformatted(value);
    int rc = db_begin(db, err);
    if (rc == 0)
        rc = db_finish_tx(db,
                          db_run(db, err,
                                 "INSERT INTO study_system_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
                                 "ON CONFLICT (study_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
                                 "iss", study_id, key, json),
                          err);
    free(json);
    return rc;
}

int vs_db_stored_space(vs_db *db, const char *name, char **canonical, vs_error *err) {
    *canonical = NULL;
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT v.space_json FROM vs_sweeps v JOIN studies s ON s.study_id = v.study_id "
                                  "WHERE s.study_name = ?",
                                  "s", name);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) *canonical = db_column_strdup(st, 0);
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

int vs_db_open_sweep(vs_db *db, const vs_space *s, int *study_id, int *created, vs_error *err) {
    if (!s->name || !s->canonical || !s->metric) return vs_errorf(err, "%s: the space has no name, metric or canonical form", db->path);
    if (db_begin(db, err)) return -1;
    int64_t id = 0;
    int found = 0;
    int rc = db_query_int(db, err, &id, &found, "SELECT study_id FROM studies WHERE study_name = ?", "s", s->name);
    if (!rc && found) {
        *study_id = (int)id;
        *created = 0;
        rc = sweep_check_space(db, s, (int)id, err);
    } else if (!rc) {
        *created = 1;
        rc = sweep_create(db, s, study_id, err);
    }
    if (!rc) rc = sweep_ensure_uid(db, *study_id, err);
    if (!rc) rc = sweep_labels(db, s, *study_id, err);
    return db_finish_tx(db, rc, err);
}

static int sweep_claim(vs_db *db, int study_id, double stale_seconds, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT owner_pid, owner_host, (julianday('now') - julianday(owner_heartbeat)) * 86400 "
                                  "FROM vs_sweeps WHERE study_id = ?",
                                  "i", study_id);
    if (!st) return -1;
    int r = db_step(db, st, err), rc = r < 0 ? -1 : 0;
    if (r == 0) rc = vs_errorf(err, "%s: no sweep with study_id %d", db->path, study_id);
    if (r == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        int pid = sqlite3_column_int(st, 0);
        const char *host = (const char *)sqlite3_column_text(st, 1);
        double age = sqlite3_column_type(st, 2) == SQLITE_NULL ? INFINITY : sqlite3_column_double(st, 2);
        int same_host = host && !strcmp(host, db->host);
        int fresh = age < stale_seconds;
        int us = same_host && pid == (int)getpid();
        int alive = same_host ? db_pid_alive(pid) && fresh : fresh;
        if (!us && alive)
            rc = vs_errorf(err, "%s: the sweep is being run by pid %d on %s (heartbeat %.0f s ago); stop it first",
                           db->path, pid, host ? host : "?", age);
    }
    db_release(db, st);
    if (rc) return -1;
    char now[32];
    db_now(now);
    return db_run(db, err,
                  "UPDATE vs_sweeps SET owner_pid = ?, owner_host = ?, owner_started = ?, owner_heartbeat = ? "
                  "WHERE study_id = ?",
                  "isssi", (int)getpid(), db->host, now, now, study_id);
}

int vs_db_claim_sweep(vs_db *db, int study_id, double stale_seconds, vs_error *err) {
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, sweep_claim(db, study_id, stale_seconds, err), err);
}

/* Refuses when another run has taken the sweep over (ours went stale). */
int db_require_owner(vs_db *db, int study_id, const char *what, vs_error *err) {
    int is_owner;
    if (db_is_owner(db, study_id, &is_owner, err)) return -1;
    if (!is_owner)
        return vs_errorf(err, "%s: %s: this process (pid %d on %s) does not own the sweep; claim it first", db->path,
                         what, (int)getpid(), db->host);
    return 0;
}

static int sweep_heartbeat(vs_db *db, int study_id, vs_error *err) {
    char now[32];
    db_now(now);
    if (db_require_owner(db, study_id, "heartbeat", err)) return -1;
    if (db_run(db, err, "UPDATE vs_sweeps SET owner_heartbeat = ? WHERE study_id = ?", "si", now, study_id)) return -1;
    return db_run(db, err,
                  "INSERT INTO trial_heartbeats (trial_id, heartbeat) "
                  "SELECT trial_id, ? FROM trials WHERE study_id = ? AND state = 'RUNNING' "
                  "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
                  "si", now, study_id);
}

int vs_db_heartbeat(vs_db *db, int study_id, vs_error *err) {
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, sweep_heartbeat(db, study_id, err), err);
}

int vs_db_release_sweep(vs_db *db, int study_id, vs_error *err) {
    if (db_begin(db, err)) return -1;
    /* Only our own claim: a run that lost the sweep must not clear its new owner. */
    int rc = db_run(db, err,
                    "UPDATE vs_sweeps SET owner_pid = NULL, owner_host = NULL, owner_started = NULL, "
                    "owner_heartbeat = NULL WHERE study_id = ? AND owner_pid = ? AND owner_host = ?",
                    "iis", study_id, (int)getpid(), db->host);
    return db_finish_tx(db, rc, err);
}
