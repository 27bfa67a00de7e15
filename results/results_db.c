/* results_db.c: results.db, the sweep's record in SQLite, written in Optuna's own RDB
 * schema (results/schema.sql, docs/results-db.md). Every change runs in one
 * BEGIN IMMEDIATE transaction, so readers (optuna-dashboard, `vaesearch status`) never see
 * half a change, and two writers queue on the busy timeout instead of failing. Values go
 * in as Optuna writes them: datetimes as naive UTC "YYYY-MM-DD HH:MM:SS.ffffff", objective
 * and intermediate values as FINITE / INF_POS / INF_NEG / NAN (the last three with a NULL
 * value), parameters as internal values with their distribution_json, user attributes
 * as JSON text. */
#define _GNU_SOURCE /* gethostname, kill, gmtime_r */
#include "results_db.h"

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

#include "common/json_exact.h"

/* How long a writer waits for another's transaction before giving up. */
#define DB_BUSY_TIMEOUT_MS 10000
/* The trainer output kept per attempt (its end, where the error is). */
#define DB_OUTPUT_TAIL_MAX 16384
/* A corrupt step number must not make load_trials allocate gigabytes. */
#define DB_MAX_EPOCHS 1000000
/* The alembic revision of Optuna 5.0.0's schema, the one results/schema.sql creates. */
#define DB_ALEMBIC_REVISION "v3.2.0.a"

struct vs_db {
    sqlite3 *sql;
    char *path;
    char host[256];
};

/* ---- SQL helpers ---- */

static int db_sql_error(vs_db *db, const char *sql, vs_error *err) {
    return vs_errorf(err, "%s: %s (in \"%.100s\")", db->path, sqlite3_errmsg(db->sql), sql ? sql : "?");
}

static int db_exec(vs_db *db, const char *sql, vs_error *err) {
    if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK) return db_sql_error(db, sql, err);
    return 0;
}

/* Prepares sql and binds its parameters, described by types: 'i' int, 'I' int64,
 * 'd' double (NULL when NaN), 's' string (NULL when NULL). NULL with err on failure. */
static sqlite3_stmt *db_vprepare(vs_db *db, const char *sql, const char *types, va_list ap, vs_error *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
        db_sql_error(db, sql, err);
        return NULL;
    }
    for (int i = 0; types && types[i]; i++) {
        int col = i + 1, rc = SQLITE_OK;
        switch (types[i]) {
        case 'i': rc = sqlite3_bind_int(st, col, va_arg(ap, int)); break;
        case 'I': rc = sqlite3_bind_int64(st, col, va_arg(ap, int64_t)); break;
        case 'd': {
            double v = va_arg(ap, double);
            rc = isnan(v) ? sqlite3_bind_null(st, col) : sqlite3_bind_double(st, col, v);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, col);
            break;
        }
        default: rc = SQLITE_MISUSE;
        }
        if (rc != SQLITE_OK) {
            db_sql_error(db, sql, err);
            sqlite3_finalize(st);
            return NULL;
        }
    }
    return st;
}

static sqlite3_stmt *db_prepare(vs_db *db, vs_error *err, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = db_vprepare(db, sql, types, ap, err);
    va_end(ap);
    return st;
}

/* Runs a statement that changes rows (or returns one row that is ignored). */
static int db_run(vs_db *db, vs_error *err, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = db_vprepare(db, sql, types, ap, err);
    va_end(ap);
    if (!st) return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_sql_error(db, sql, err);
    return 0;
}

/* Steps st: 1 for a row, 0 at the end, -1 with err on an error. */
static int db_step(vs_db *db, sqlite3_stmt *st, vs_error *err) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_sql_error(db, sqlite3_sql(st), err);
}

/* One integer from a query; *found says whether there was a row (a NULL reads as 0). */
static int db_query_int(vs_db *db, vs_error *err, int64_t *out, int *found, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = db_vprepare(db, sql, types, ap, err);
    va_end(ap);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) *out = sqlite3_column_int64(st, 0);
    if (found) *found = r == 1;
    sqlite3_finalize(st);
    return r < 0 ? -1 : 0;
}

static char *column_strdup(sqlite3_stmt *st, int col) {
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? vs_xstrdup((const char *)s) : NULL;
}

static double column_double_or_nan(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* BEGIN IMMEDIATE takes the write lock at once, so the reads that decide a change see
 * the rows the change is made against. */
static int db_begin(vs_db *db, vs_error *err) { return db_exec(db, "BEGIN IMMEDIATE", err); }
static int db_commit(vs_db *db, vs_error *err) { return db_exec(db, "COMMIT", err); }
static int db_rollback(vs_db *db) {
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
/* Ends a transaction: COMMIT when the work succeeded, ROLLBACK (and -1) when not. */
static int db_finish_tx(vs_db *db, int rc, vs_error *err) {
    if (rc) return db_rollback(db);
    if (db_commit(db, err)) return db_rollback(db);
    return 0;
}

/* ---- values as Optuna stores them ---- */

/* Now as Optuna's RDB storage writes datetimes: naive UTC with microseconds. */
static void db_now(char out[32]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06ld", (long)(ts.tv_nsec / 1000));
}

static const char *value_type_of(double v) {
    if (isnan(v)) return "NAN";
    if (isinf(v)) return v > 0 ? "INF_POS" : "INF_NEG";
    return "FINITE";
}

static double value_from_type(sqlite3_stmt *st, int value_col, int type_col) {
    const char *type = (const char *)sqlite3_column_text(st, type_col);
    if (!type) return NAN;
    if (!strcmp(type, "INF_POS")) return INFINITY;
    if (!strcmp(type, "INF_NEG")) return -INFINITY;
    if (!strcmp(type, "FINITE")) return column_double_or_nan(st, value_col);
    return NAN;
}

static int is_end_state(const char *state) {
    return !strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED") || !strcmp(state, "FAIL");
}

/* A trial's user attribute, value as JSON text (Optuna json.loads it). */
static int set_user_attr(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err) {
    char *json = vs_json_print_exact(value); /* Python reads back the very same doubles */
    if (!json) return vs_errorf(err, "user attribute '%s': cannot print it as JSON", key);
    int rc = db_run(db, err,
                    "INSERT INTO trial_user_attributes (trial_id, \"key\", value_json) VALUES (?, ?, ?) "
                    "ON CONFLICT (trial_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
                    "iss", trial_id, key, json);
    free(json);
    return rc;
}

static int set_user_attr_number(vs_db *db, int trial_id, const char *key, double v, vs_error *err) {
    cJSON *n = cJSON_CreateNumber(v);
    int rc = set_user_attr(db, trial_id, key, n, err);
    cJSON_Delete(n);
    return rc;
}

static int set_user_attr_string(vs_db *db, int trial_id, const char *key, const char *s, vs_error *err) {
    cJSON *j = cJSON_CreateString(s);
    int rc = set_user_attr(db, trial_id, key, j, err);
    cJSON_Delete(j);
    return rc;
}

/* ---- the owner ---- */

static int pid_alive(int pid) {
    if (pid <= 0) return 0;
    return kill(pid, 0) == 0 || errno != ESRCH; /* EPERM: it exists, owned by someone else */
}

/* Whether this process is the recorded owner of the sweep. */
static int db_is_owner(vs_db *db, int study_id, int *is_owner, vs_error *err) {
    int64_t n = 0;
    if (db_query_int(db, err, &n, NULL,
                     "SELECT COUNT(*) FROM vs_sweeps WHERE study_id = ? AND owner_pid = ? AND owner_host = ?", "iis",
                     study_id, (int)getpid(), db->host))
        return -1;
    *is_owner = n > 0;
    return 0;
}

/* ---- opening ---- */

static int db_has_table(vs_db *db, const char *name, int *has, vs_error *err) {
    int64_t n = 0;
    if (db_query_int(db, err, &n, NULL, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", "s",
                     name))
        return -1;
    *has = n > 0;
    return 0;
}

/* Optuna refuses a file whose alembic revision is not its own; we do the same. */
static int db_check_revision(vs_db *db, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT version_num FROM alembic_version", NULL);
    if (!st) return -1;
    int r = db_step(db, st, err);
    int rc = 0;
    if (r < 0) rc = -1;
    else if (r == 0) rc = vs_errorf(err, "%s: alembic_version is empty: not an Optuna database", db->path);
    else {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (!v || strcmp(v, DB_ALEMBIC_REVISION))
            rc = vs_errorf(err, "%s: Optuna schema revision %s, but vaesearch writes %s (Optuna 5.0)", db->path,
                           v ? v : "NULL", DB_ALEMBIC_REVISION);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Creates what the file lacks: everything in a new file; only vaesearch's part in a
 * database Optuna made. In one transaction, so two processes opening a new file at once
 * create it once. */
static int db_create_schema(vs_db *db, vs_error *err) {
    int has_studies, has_sweeps;
    if (db_begin(db, err)) return -1;
    int64_t tables = 0;
    int rc = db_has_table(db, "studies", &has_studies, err) || db_has_table(db, "vs_sweeps", &has_sweeps, err) ||
             db_query_int(db, err, &tables, NULL, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", NULL);
    if (!rc && !has_studies && tables > 0)
        rc = vs_errorf(err, "%s: an SQLite database of something else (it has tables, but not Optuna's)", db->path);
    else if (!rc && !has_studies) rc = db_exec(db, vs_db_schema_sql(), err);
    else if (!rc && !has_sweeps) {
        /* Optuna's own file: ours beside its tables, if its schema is the one we write. */
        const char *ours = strstr(vs_db_schema_sql(), "-- Part 2:");
        rc = db_check_revision(db, err) || (ours ? db_exec(db, ours, err) : vs_errorf(err, "schema: no part 2"));
    }
    return db_finish_tx(db, rc, err);
}

static int db_use_wal(vs_db *db, vs_error *err) {
    /* WAL: readers never block the writer, so status and the dashboard can read while
     * run writes. journal_mode answers with the mode it ended up in. Switching a new
     * file to WAL needs it to itself, and SQLite answers "busy" at once, without its busy
     * handler, when another process opens the same new file at that moment: so wait and
     * try again, up to the busy timeout. Once set, the mode stays in the file. */
    for (int waited_ms = 0;; waited_ms += 10) {
        sqlite3_stmt *st = db_prepare(db, err, "PRAGMA journal_mode = WAL", NULL);
        if (!st) return -1;
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            int rc = mode && !strcmp(mode, "wal")
                         ? 0
                         : vs_errorf(err, "%s: cannot use WAL mode (journal_mode is %s)", db->path, mode ? mode : "unknown");
            sqlite3_finalize(st);
            return rc;
        }
        sqlite3_finalize(st);
        if ((r != SQLITE_BUSY && r != SQLITE_LOCKED) || waited_ms >= DB_BUSY_TIMEOUT_MS)
            return db_sql_error(db, "PRAGMA journal_mode = WAL", err);
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static int db_open_flags(const char *path, int flags, int create, vs_db **out, vs_error *err) {
    *out = NULL;
    vs_db *db = vs_xcalloc(1, sizeof *db);
    db->path = vs_xstrdup(path);
    if (gethostname(db->host, sizeof db->host - 1)) snprintf(db->host, sizeof db->host, "localhost");
    if (sqlite3_open_v2(path, &db->sql, flags, NULL) != SQLITE_OK) {
        vs_errorf(err, "%s: cannot open: %s", path, db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
        vs_db_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db->sql, DB_BUSY_TIMEOUT_MS);
    int rc = db_exec(db, "PRAGMA foreign_keys = ON", err);
    /* The schema before WAL, so that another program's file is refused as it was. */
    if (!rc && create) rc = db_create_schema(db, err);
    if (!rc && !create) {
        int has;
        rc = db_has_table(db, "vs_sweeps", &has, err);
        if (!rc && !has) rc = vs_errorf(err, "%s: not a vaesearch results database (no vs_sweeps table)", path);
    }
    if (!rc) rc = db_use_wal(db, err);
    if (!rc) rc = db_check_revision(db, err);
    if (rc) {
        vs_db_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

int vs_db_open(const char *path, vs_db **out, vs_error *err) {
    return db_open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1, out, err);
}

int vs_db_open_existing(const char *path, vs_db **out, vs_error *err) {
    struct stat sb;
    if (stat(path, &sb)) {
        *out = NULL;
        return vs_errorf(err, "%s: %s", path, strerror(errno));
    }
    return db_open_flags(path, SQLITE_OPEN_READWRITE, 0, out, err);
}

void vs_db_close(vs_db *db) {
    if (!db) return;
    sqlite3_close(db->sql);
    free(db->path);
    free(db);
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
    sqlite3_finalize(st);
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
        int alive = same_host ? pid_alive(pid) && fresh : fresh;
        if (!us && alive)
            rc = vs_errorf(err, "%s: the sweep is being run by pid %d on %s (heartbeat %.0f s ago); stop it first",
                           db->path, pid, host ? host : "?", age);
    }
    sqlite3_finalize(st);
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
static int require_owner(vs_db *db, int study_id, const char *what, vs_error *err) {
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
    if (require_owner(db, study_id, "heartbeat", err)) return -1;
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
    sqlite3_finalize(st);
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
    /* Optuna numbers a study's trials 0, 1, 2... in creation order; so do we. */
    if (db_query_int(db, err, &next, NULL, "SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE study_id = ?", "i",
                     study_id))
        return -1;
    if (db_run(db, err, "INSERT INTO trials (number, study_id, state) VALUES (?, ?, 'WAITING')", "ii", (int)next,
               study_id))
        return -1;
    *trial_id = (int)sqlite3_last_insert_rowid(db->sql);
    *number = (int)next;
    for (int i = 0; i < s->n_params; i++) {
        const vs_param *p = &s->params[i];
        char *dist = vs_param_distribution_json(p);
        if (!dist) continue; /* a parameter Optuna has no distribution for */
        int rc = db_run(db, err,
                        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                        "VALUES (?, ?, ?, ?)",
                        "isds", *trial_id, p->name, p->kind == VS_PARAM_CONSTANT ? 0.0 : values[i], dist);
        free(dist);
        if (rc) return -1;
    }
    if (retry_of >= 0 && set_user_attr_number(db, *trial_id, "retry_of", retry_of, err)) return -1;
    return 0;
}

int vs_db_create_trial(vs_db *db, int study_id, const vs_space *s, const double *values, int retry_of, int *trial_id,
                       int *number, vs_error *err) {
    for (int i = 0; i < s->n_params; i++)
        if (s->params[i].kind != VS_PARAM_CONSTANT && check_param_value(&s->params[i], values[i], err))
            return vs_error_prefix(err, "%s: new trial", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, trial_insert(db, study_id, s, values, retry_of, trial_id, number, err), err);
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
    return set_user_attr_string(db, trial_id, "gpus", gpus ? gpus : "", err);
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
    if (is_end_state(state))
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
    sqlite3_finalize(st);
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
                  "iIds", trial_id, epoch, isfinite(v) ? v : NAN, value_type_of(v));
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
                  "ids", trial_id, isfinite(v) ? v : NAN, value_type_of(v));
}

/* The metrics of the trainer's done line become user attributes val_<m> and test_<m>. */
static int record_metrics(vs_db *db, int trial_id, const char *prefix, const cJSON *metrics, vs_error *err) {
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics) {
        if (!cJSON_IsNumber(m) || !m->string || !strcmp(m->string, "users")) continue;
        char key[128];
        snprintf(key, sizeof key, "%s%s", prefix, m->string);
        if (set_user_attr(db, trial_id, key, m, err)) return -1;
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
        if ((cJSON_IsNumber(v) || cJSON_IsString(v)) && set_user_attr(db, trial_id, copied[i], v, err)) return -1;
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
    double v = r == 1 ? value_from_type(st, 0, 1) : NAN;
    sqlite3_finalize(st);
    if (r < 0) return -1;
    if (isnan(v)) return db_run(db, err, "DELETE FROM trial_values WHERE trial_id = ?", "i", trial_id);
    return set_value(db, trial_id, v, err);
}

static int trial_finish(vs_db *db, int trial_id, const char *state, const cJSON *done, const char *metric,
                        int exit_status, const char *reason, const char *output_tail, vs_error *err) {
    int number;
    char old[12], now[32];
    if (trial_lookup(db, trial_id, &number, old, err)) return -1;
    if (is_end_state(old)) return vs_errorf(err, "%s: trial %d already ended (%s)", db->path, number, old);
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
             set_user_attr_string(db, trial_id, "fail_reason", reason ? reason : "unknown", err);
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
    double seconds = r == 1 ? column_double_or_nan(st, 0) : NAN;
    sqlite3_finalize(st);
    if (r < 0) return -1;
    return isnan(seconds) ? 0 : set_user_attr_number(db, trial_id, "seconds", seconds, err);
}

int vs_db_trial_finished(vs_db *db, int trial_id, const char *state, const cJSON *done_event, const char *metric,
                         int exit_status, const char *reason, const char *output_tail, vs_error *err) {
    if (!state || (!is_end_state(state) && strcmp(state, "WAITING")))
        return vs_errorf(err, "%s: trial end state '%s' is not COMPLETE, PRUNED, FAIL or WAITING", db->path,
                         state ? state : "(null)");
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, trial_finish(db, trial_id, state, done_event, metric, exit_status, reason, output_tail, err),
                        err);
}

static int user_attr_set(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err) {
    int number;
    char state[12];
    if (trial_lookup(db, trial_id, &number, state, err)) return -1;
    return set_user_attr(db, trial_id, key, value, err);
}

int vs_db_set_user_attr(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err) {
    if (!key || !key[0] || !value) return vs_errorf(err, "%s: user attribute without a key or value", db->path);
    if (db_begin(db, err)) return -1;
    return db_finish_tx(db, user_attr_set(db, trial_id, key, value, err), err);
}

static int requeue(vs_db *db, int study_id, int *n, vs_error *err) {
    char now[32];
    db_now(now);
    if (require_owner(db, study_id, "requeue", err)) return -1;
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
    sqlite3_finalize(st);
    for (int i = 0; r == 0 && i < s->n_params; i++)
        if (!seen[i] && s->params[i].kind != VS_PARAM_CONSTANT)
            r = vs_errorf(err, "%s: trial %d has no value for parameter '%s'", db->path, t->number, s->params[i].name);
    free(seen);
    return r < 0 ? -1 : 0;
}

static int load_value(vs_db *db, vs_db_trial *t, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err, "SELECT value, value_type FROM trial_values WHERE trial_id = ? AND objective = 0",
                                  "i", t->trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) {
        t->value = value_from_type(st, 0, 1);
        t->has_value = !isnan(t->value);
    }
    sqlite3_finalize(st);
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
    while (st && (r = db_step(db, st, err)) == 1) t->curve[sqlite3_column_int(st, 0) - 1] = value_from_type(st, 1, 2);
    sqlite3_finalize(st);
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
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT out_dir FROM vs_trial_runs WHERE trial_id = ? ORDER BY attempt DESC LIMIT 1",
                                  "i", t->trial_id);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) t->out_dir = column_strdup(st, 0);
    sqlite3_finalize(st);
    return r < 0 ? -1 : 0;
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
    sqlite3_finalize(st);
    *out = t;
    for (int i = 0; r == 0 && i < *n; i++)
        if (load_params(db, s, &t[i], err) || load_value(db, &t[i], err) || load_curve(db, &t[i], err) ||
            load_extras(db, &t[i], err))
            r = -1;
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

void vs_db_free_trials(vs_db_trial *t, int n) {
    if (!t) return;
    for (int i = 0; i < n; i++) {
        free(t[i].values);
        free(t[i].curve);
        free(t[i].out_dir);
    }
    free(t);
}

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
    sqlite3_finalize(st);
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
    if (host && !strcmp(host, db->host)) cJSON_AddBoolToObject(o, "alive", pid_alive(pid));
    else cJSON_AddNullToObject(o, "alive");
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
        "w.owner_started, w.owner_heartbeat, (julianday('now') - julianday(w.owner_heartbeat)) * 86400 "
        "FROM studies s JOIN vs_sweeps w ON w.study_id = s.study_id "
        "LEFT JOIN study_directions d ON d.study_id = s.study_id AND d.objective = 0 WHERE s.study_id = ?",
        "i", study_id);
    if (!st) return NULL;
    int r = db_step(db, st, err);
    if (r == 0) vs_errorf(err, "%s: no sweep with study_id %d", db->path, study_id);
    if (r != 1) {
        sqlite3_finalize(st);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "name", column_string_or_null(st, 0));
    cJSON_AddNumberToObject(o, "study_id", study_id);
    const char *dir = (const char *)sqlite3_column_text(st, 1);
    cJSON_AddStringToObject(o, "direction", dir && !strcmp(dir, "MINIMIZE") ? "minimize" : "maximize");
    cJSON_AddItemToObject(o, "metric", column_string_or_null(st, 2));
    cJSON_AddNumberToObject(o, "n_trials", sqlite3_column_int(st, 3));
    cJSON_AddItemToObject(o, "space", column_json(st, 4));
    cJSON_AddItemToObject(o, "created", column_string_or_null(st, 5));
    sweep_owner_json(db, o, st);
    sqlite3_finalize(st);
    if (sweep_counts_json(db, o, study_id, err)) {
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
 * JSON text (Optuna's choices are None, bool, int, float or str: space.c), so such a
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
    }
    cJSON_Delete(d);
    return out ? out : cJSON_CreateNumber(v);
}

static int trial_params_json(vs_db *db, cJSON *t, int trial_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ? "
                                  "ORDER BY param_id",
                                  "i", trial_id);
    if (!st) return -1;
    cJSON *params = cJSON_AddObjectToObject(t, "params");
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name)
            cJSON_AddItemToObject(params, name,
                                  param_json(sqlite3_column_double(st, 1), (const char *)sqlite3_column_text(st, 2)));
    }
    sqlite3_finalize(st);
    return r < 0 ? -1 : 0;
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
    sqlite3_finalize(st);
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
        cJSON_AddItemToObject(e, "intermediate_value", value_json(value_from_type(st, N_EPOCH_COLUMNS, N_EPOCH_COLUMNS + 1)));
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
    sqlite3_finalize(st);
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
    sqlite3_finalize(st);
    return r < 0 ? -1 : 0;
}

static cJSON *trial_row_json(sqlite3_stmt *st) {
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "number", sqlite3_column_int(st, 1));
    cJSON_AddNumberToObject(t, "trial_id", sqlite3_column_int(st, 0));
    cJSON_AddItemToObject(t, "state", column_string_or_null(st, 2));
    cJSON_AddItemToObject(t, "value", sqlite3_column_type(st, 6) == SQLITE_NULL ? cJSON_CreateNull()
                                                                                : value_json(value_from_type(st, 5, 6)));
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
    cJSON *list = cJSON_CreateArray();
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        cJSON *t = trial_row_json(st);
        cJSON_AddItemToArray(list, t);
        int id = sqlite3_column_int(st, 0);
        if (trial_params_json(db, t, id, err) || trial_attrs_json(db, t, id, err) ||
            trial_epochs_json(db, t, id, 1, err) || (detail && trial_epochs_json(db, t, id, 0, err)) ||
            (detail && trial_runs_json(db, t, id, err))) {
            r = -1;
            break;
        }
    }
    sqlite3_finalize(st);
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

/* ---- the schema ---- */

/* results/schema.sql, verbatim (test_results_db checks that they are equal). */
static const char schema_sql[] =
    /* BEGIN results/schema.sql */
    "-- results/schema.sql: the schema of results.db, the database `vaesearch run` writes\n"
    "-- (docs/results-db.md). orchestrator/results_db.c executes this very text on a new file;\n"
    "-- the test test_results_db checks that the two stay equal.\n"
    "--\n"
    "-- Part 1 is Optuna's RDB storage schema as Optuna 5.0.0 creates it on SQLite (schema\n"
    "-- version 12, alembic revision v3.2.0.a): the same tables, columns, constraints and\n"
    "-- indexes, so optuna.load_study, the optuna CLI and optuna-dashboard read the file as if\n"
    "-- Optuna had written it. Part 2 is vaesearch's own tables and views, all named vs_.\n"
    "\n"
    "-- Part 1: Optuna's tables.\n"
    "\n"
    "CREATE TABLE studies (\n"
    "    study_id INTEGER NOT NULL,\n"
    "    study_name VARCHAR(512) NOT NULL,\n"
    "    PRIMARY KEY (study_id)\n"
    ");\n"
    "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);\n"
    "\n"
    "CREATE TABLE version_info (\n"
    "    version_info_id INTEGER NOT NULL,\n"
    "    schema_version INTEGER,\n"
    "    library_version VARCHAR(256),\n"
    "    PRIMARY KEY (version_info_id),\n"
    "    CHECK (version_info_id=1)\n"
    ");\n"
    "\n"
    "CREATE TABLE study_directions (\n"
    "    study_direction_id INTEGER NOT NULL,\n"
    "    direction VARCHAR(8) NOT NULL,\n"
    "    study_id INTEGER NOT NULL,\n"
    "    objective INTEGER NOT NULL,\n"
    "    PRIMARY KEY (study_direction_id),\n"
    "    UNIQUE (study_id, objective),\n"
    "    FOREIGN KEY(study_id) REFERENCES studies (study_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE study_user_attributes (\n"
    "    study_user_attribute_id INTEGER NOT NULL,\n"
    "    study_id INTEGER,\n"
    "    \"key\" VARCHAR(512),\n"
    "    value_json TEXT,\n"
    "    PRIMARY KEY (study_user_attribute_id),\n"
    "    UNIQUE (study_id, \"key\"),\n"
    "    FOREIGN KEY(study_id) REFERENCES studies (study_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE study_system_attributes (\n"
    "    study_system_attribute_id INTEGER NOT NULL,\n"
    "    study_id INTEGER,\n"
    "    \"key\" VARCHAR(512),\n"
    "    value_json TEXT,\n"
    "    PRIMARY KEY (study_system_attribute_id),\n"
    "    UNIQUE (study_id, \"key\"),\n"
    "    FOREIGN KEY(study_id) REFERENCES studies (study_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE trials (\n"
    "    trial_id INTEGER NOT NULL,\n"
    "    number INTEGER,\n"
    "    study_id INTEGER,\n"
    "    state VARCHAR(8) NOT NULL,\n"
    "    datetime_start DATETIME,\n"
    "    datetime_complete DATETIME,\n"
    "    PRIMARY KEY (trial_id),\n"
    "    FOREIGN KEY(study_id) REFERENCES studies (study_id)\n"
    ");\n"
    "CREATE INDEX ix_trials_study_id ON trials (study_id);\n"
    "\n"
    "CREATE TABLE trial_user_attributes (\n"
    "    trial_user_attribute_id INTEGER NOT NULL,\n"
    "    trial_id INTEGER,\n"
    "    \"key\" VARCHAR(512),\n"
    "    value_json TEXT,\n"
    "    PRIMARY KEY (trial_user_attribute_id),\n"
    "    UNIQUE (trial_id, \"key\"),\n"
    "    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE trial_system_attributes (\n"
    "    trial_system_attribute_id INTEGER NOT NULL,\n"
    "    trial_id INTEGER,\n"
    "    \"key\" VARCHAR(512),\n"
    "    value_json TEXT,\n"
    "    PRIMARY KEY (trial_system_attribute_id),\n"
    "    UNIQUE (trial_id, \"key\"),\n"
    "    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE trial_params (\n"
    "    param_id INTEGER NOT NULL,\n"
    "    trial_id INTEGER,\n"
    "    param_name VARCHAR(512),\n"
    "    param_value FLOAT,\n"
    "    distribution_json TEXT,\n"
    "    PRIMARY KEY (param_id),\n"
    "    UNIQUE (trial_id, param_name),\n"
    "    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE trial_values (\n"
    "    trial_value_id INTEGER NOT NULL,\n"
    "    trial_id INTEGER NOT NULL,\n"
    "    objective INTEGER NOT NULL,\n"
    "    value FLOAT,\n"
    "    value_type VARCHAR(7) NOT NULL,\n"
    "    PRIMARY KEY (trial_value_id),\n"
    "    UNIQUE (trial_id, objective),\n"
    "    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE trial_intermediate_values (\n"
    "    trial_intermediate_value_id INTEGER NOT NULL,\n"
    "    trial_id INTEGER NOT NULL,\n"
    "    step INTEGER NOT NULL,\n"
    "    intermediate_value FLOAT,\n"
    "    intermediate_value_type VARCHAR(7) NOT NULL,\n"
    "    PRIMARY KEY (trial_intermediate_value_id),\n"
    "    UNIQUE (trial_id, step),\n"
    "    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE trial_heartbeats (\n"
    "    trial_heartbeat_id INTEGER NOT NULL,\n"
    "    trial_id INTEGER NOT NULL,\n"
    "    heartbeat DATETIME NOT NULL,\n"
    "    PRIMARY KEY (trial_heartbeat_id),\n"
    "    UNIQUE (trial_id),\n"
    "    FOREIGN KEY(trial_id) REFERENCES trials (trial_id)\n"
    ");\n"
    "\n"
    "CREATE TABLE alembic_version (\n"
    "    version_num VARCHAR(32) NOT NULL,\n"
    "    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"
    ");\n"
    "\n"
    "-- What Optuna checks when it opens the file: a newer revision would make it ask for\n"
    "-- `optuna storage upgrade`, an older one for a newer Optuna.\n"
    "INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, 12, '5.0.0');\n"
    "INSERT INTO alembic_version (version_num) VALUES ('v3.2.0.a');\n"
    "\n"
    "-- Part 2: vaesearch's tables. Times are UTC \"YYYY-MM-DD HH:MM:SS.ffffff\", as Optuna's.\n"
    "\n"
    "-- One row per sweep (study): its search space and the `vaesearch run` that owns it.\n"
    "CREATE TABLE vs_sweeps (\n"
    "    study_id INTEGER NOT NULL PRIMARY KEY REFERENCES studies (study_id) ON DELETE CASCADE,\n"
    "    space_json TEXT NOT NULL,           -- the space as canonical JSON (a changed space is refused)\n"
    "    metric TEXT NOT NULL,               -- the objective: the validation metric, e.g. \"ndcg@100\"\n"
    "    n_trials INTEGER NOT NULL,          -- the budget: trials to finish (COMPLETE or PRUNED)\n"
    "    created DATETIME NOT NULL,\n"
    "    owner_pid INTEGER,                  -- NULL when no run owns the sweep\n"
    "    owner_host TEXT,\n"
    "    owner_started DATETIME,\n"
    "    owner_heartbeat DATETIME\n"
    ");\n"
    "\n"
    "-- One row per attempt at a trial (a resumed or retried trial has several).\n"
    "CREATE TABLE vs_trial_runs (\n"
    "    run_id INTEGER NOT NULL PRIMARY KEY,\n"
    "    trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,\n"
    "    attempt INTEGER NOT NULL,           -- 1, 2, ...\n"
    "    pid INTEGER,                        -- the trainer process\n"
    "    host TEXT,\n"
    "    gpus TEXT,                          -- the CUDA_VISIBLE_DEVICES it had, e.g. \"0,1\"; \"\" on CPU\n"
    "    out_dir TEXT,                       -- the trainer's run folder\n"
    "    started DATETIME NOT NULL,\n"
    "    ended DATETIME,                     -- NULL while it runs\n"
    "    outcome VARCHAR(8),                 -- the state it left the trial in: COMPLETE, PRUNED, FAIL, WAITING\n"
    "    exit_status INTEGER,                -- the trainer's exit status, NULL if unknown\n"
    "    reason TEXT,                        -- why it ended, for people\n"
    "    output_tail TEXT,                   -- the trainer's last output lines\n"
    "    UNIQUE (trial_id, attempt)\n"
    ");\n"
    "\n"
    "-- The trainer's \"epoch\" lines (docs/trainer.md); NULL where a line lacks a value.\n"
    "CREATE TABLE vs_epochs (\n"
    "    trial_id INTEGER NOT NULL REFERENCES trials (trial_id) ON DELETE CASCADE,\n"
    "    epoch INTEGER NOT NULL,\n"
    "    step INTEGER,\n"
    "    loss FLOAT,\n"
    "    neg_ll FLOAT,\n"
    "    kl FLOAT,\n"
    "    beta FLOAT,\n"
    "    users_per_s FLOAT,\n"
    "    seconds FLOAT,\n"
    "    val_ndcg100 FLOAT,\n"
    "    val_recall20 FLOAT,\n"
    "    val_recall50 FLOAT,\n"
    "    loss_scale FLOAT,\n"
    "    skipped_steps INTEGER,\n"
    "    PRIMARY KEY (trial_id, epoch)\n"
    ");\n"
    "\n"
    "-- One row per trial: its parameters as a JSON object, objective, metrics and cost.\n"
    "-- seconds: the trainer's running time over all attempts (up to now for one running).\n"
    "CREATE VIEW vs_leaderboard AS\n"
    "SELECT st.study_name AS sweep,\n"
    "       t.trial_id AS trial_id,\n"
    "       t.number AS number,\n"
    "       t.state AS state,\n"
    "       CASE v.value_type WHEN 'FINITE' THEN v.value WHEN 'INF_POS' THEN 1e999 WHEN 'INF_NEG' THEN -1e999 END AS value,\n"
    "       -- Built as text, so that a list stays a list. vaesearch stores a list choice as its\n"
    "       -- JSON text (Optuna's choices are None, bool, int, float or str), shown here as\n"
    "       -- the list again.\n"
    "       (SELECT '{' || COALESCE(group_concat(json_quote(p.param_name) || ':' ||\n"
    "                   CASE p.kind\n"
    "                       WHEN 'IntDistribution' THEN CAST(CAST(p.param_value AS INTEGER) AS TEXT)\n"
    "                       WHEN 'CategoricalDistribution' THEN\n"
    "                           CASE p.choice_type\n"
    "                               WHEN 'text' THEN\n"
    "                                   CASE WHEN substr(p.choice, 1, 1) IN ('[', '{') AND json_valid(p.choice)\n"
    "                                        THEN p.choice ELSE json_quote(p.choice) END\n"
    "                               WHEN 'true' THEN 'true'\n"
    "                               WHEN 'false' THEN 'false'\n"
    "                               WHEN 'null' THEN 'null'\n"
    "                               ELSE CAST(p.choice AS TEXT) END\n"
    "                       ELSE json_quote(p.param_value) END, ','), '') || '}'\n"
    "          FROM (SELECT param_name, param_value,\n"
    "                       json_extract(distribution_json, '$.name') AS kind,\n"
    "                       json_type(distribution_json, '$.attributes.choices[' || CAST(param_value AS INTEGER) || ']') AS choice_type,\n"
    "                       json_extract(distribution_json, '$.attributes.choices[' || CAST(param_value AS INTEGER) || ']') AS choice\n"
    "                  FROM trial_params WHERE trial_id = t.trial_id ORDER BY param_name) p) AS params,\n"
    "       a.val_ndcg100, a.val_recall20, a.val_recall50,\n"
    "       a.test_ndcg100, a.test_recall20, a.test_recall50,\n"
    "       a.best_epoch,\n"
    "       a.users_per_s,\n"
    "       a.gpus,\n"
    "       (SELECT SUM(julianday(COALESCE(r.ended, strftime('%Y-%m-%d %H:%M:%f', 'now'))) - julianday(r.started)) * 86400\n"
    "          FROM vs_trial_runs r WHERE r.trial_id = t.trial_id) AS seconds\n"
    "  FROM trials t\n"
    "  JOIN studies st ON st.study_id = t.study_id\n"
    "  LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0\n"
    "  LEFT JOIN (SELECT trial_id,\n"
    "                    MAX(CASE \"key\" WHEN 'val_ndcg@100' THEN json_extract(value_json, '$') END) AS val_ndcg100,\n"
    "                    MAX(CASE \"key\" WHEN 'val_recall@20' THEN json_extract(value_json, '$') END) AS val_recall20,\n"
    "                    MAX(CASE \"key\" WHEN 'val_recall@50' THEN json_extract(value_json, '$') END) AS val_recall50,\n"
    "                    MAX(CASE \"key\" WHEN 'test_ndcg@100' THEN json_extract(value_json, '$') END) AS test_ndcg100,\n"
    "                    MAX(CASE \"key\" WHEN 'test_recall@20' THEN json_extract(value_json, '$') END) AS test_recall20,\n"
    "                    MAX(CASE \"key\" WHEN 'test_recall@50' THEN json_extract(value_json, '$') END) AS test_recall50,\n"
    "                    MAX(CASE \"key\" WHEN 'best_epoch' THEN json_extract(value_json, '$') END) AS best_epoch,\n"
    "                    MAX(CASE \"key\" WHEN 'train_users_per_s' THEN json_extract(value_json, '$') END) AS users_per_s,\n"
    "                    MAX(CASE \"key\" WHEN 'gpus' THEN json_extract(value_json, '$') END) AS gpus\n"
    "               FROM trial_user_attributes GROUP BY trial_id) a ON a.trial_id = t.trial_id;\n"
    "\n"
    "-- One row per sweep: trials per state, and the run that owns it.\n"
    "CREATE VIEW vs_progress AS\n"
    "SELECT st.study_name AS sweep,\n"
    "       st.study_id AS study_id,\n"
    "       COUNT(t.trial_id) AS trials,\n"
    "       COUNT(CASE t.state WHEN 'WAITING' THEN 1 END) AS waiting,\n"
    "       COUNT(CASE t.state WHEN 'RUNNING' THEN 1 END) AS running,\n"
    "       COUNT(CASE t.state WHEN 'COMPLETE' THEN 1 END) AS complete,\n"
    "       COUNT(CASE t.state WHEN 'PRUNED' THEN 1 END) AS pruned,\n"
    "       COUNT(CASE t.state WHEN 'FAIL' THEN 1 END) AS fail,\n"
    "       w.n_trials AS budget,\n"
    "       COUNT(CASE WHEN t.state IN ('COMPLETE', 'PRUNED') THEN 1 END) AS done,\n"
    "       w.owner_pid AS owner_pid,\n"
    "       w.owner_host AS owner_host,\n"
    "       w.owner_heartbeat AS owner_heartbeat\n"
    "  FROM studies st\n"
    "  LEFT JOIN trials t ON t.study_id = st.study_id\n"
    "  LEFT JOIN vs_sweeps w ON w.study_id = st.study_id\n"
    " GROUP BY st.study_id;\n"
    /* END results/schema.sql */
    ;

const char *vs_db_schema_sql(void) { return schema_sql; }
