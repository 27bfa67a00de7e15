/* db_sql: the results database's SQL helpers (prepare with typed binds, run, step,
 * one integer, transactions; prepared statements kept in a cache by their text) and values as Optuna stores them (datetimes, value
 * types, user attributes as JSON text). */
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

#include "common/json_exact.h"
#include "db_internal.h"

/* ---- SQL helpers ---- */

int db_sql_error(vs_db *db, const char *sql, vs_error *err) {
    return vs_errorf(err, "%s: %s (in \"%.100s\")", db->path, sqlite3_errmsg(db->sql), sql ? sql : "?");
}

int db_exec(vs_db *db, const char *sql, vs_error *err) {
    if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK) return db_sql_error(db, sql, err);
    return 0;
}

/* ---- the statement cache ----
 * Parsing SQL costs more than most of the queries a sweep runs, and a sweep runs the
 * same few dozen statements for every trial: each is prepared once, kept by its text,
 * and reset for the next use. A statement in use (a query whose rows are being read
 * while another runs the same text) is not shared: the second user gets its own,
 * finalized when released. */

static uint64_t sql_hash(const char *sql) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* A statement for sql, from the cache when one is free there. NULL with err on failure. */
static sqlite3_stmt *stmt_get(vs_db *db, const char *sql, vs_error *err) {
    uint64_t h = sql_hash(sql);
    db_cached_stmt *free_slot = NULL;
    for (int i = 0; i < db->n_stmts; i++) {
        db_cached_stmt *c = &db->stmts[i];
        if (c->hash == h && !strcmp(c->sql, sql)) {
            if (c->busy) break; /* in use: a private one below */
            c->busy = 1;
            return c->st;
        }
    }
    if (db->n_stmts < DB_STMT_CACHE_MAX) free_slot = &db->stmts[db->n_stmts];
    for (int i = 0; free_slot && i < db->n_stmts; i++) /* the text is cached already (busy): no second entry */
        if (db->stmts[i].hash == h && !strcmp(db->stmts[i].sql, sql)) free_slot = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->sql, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        db_sql_error(db, sql, err);
        return NULL;
    }
    if (free_slot) {
        *free_slot = (db_cached_stmt){vs_xstrdup(sql), h, st, 1};
        db->n_stmts++;
    }
    return st;
}

/* Gives back a statement from db_prepare: a cached one is reset for its next use,
 * another is finalized. */
void db_release(vs_db *db, sqlite3_stmt *st) {
    if (!st) return;
    for (int i = 0; i < db->n_stmts; i++) {
        db_cached_stmt *c = &db->stmts[i];
        if (c->st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            c->busy = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

/* Finalizes every cached statement (before the connection closes). */
void db_stmt_cache_free(vs_db *db) {
    for (int i = 0; i < db->n_stmts; i++) {
        sqlite3_finalize(db->stmts[i].st);
        free(db->stmts[i].sql);
    }
    db->n_stmts = 0;
}

/* Prepares sql (from the cache) and binds its parameters, described by types: 'i' int,
 * 'I' int64, 'd' double (NULL when NaN), 's' string (NULL when NULL). NULL with err on
 * failure. Give it back with db_release. */
sqlite3_stmt *db_vprepare(vs_db *db, const char *sql, const char *types, va_list ap, vs_error *err) {
    sqlite3_stmt *st = stmt_get(db, sql, err);
    if (!st) return NULL;
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
            db_release(db, st);
            return NULL;
        }
    }
    return st;
}

sqlite3_stmt *db_prepare(vs_db *db, vs_error *err, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = db_vprepare(db, sql, types, ap, err);
    va_end(ap);
    return st;
}

/* Runs a statement that changes rows (or returns one row that is ignored). */
int db_run(vs_db *db, vs_error *err, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = db_vprepare(db, sql, types, ap, err);
    va_end(ap);
    if (!st) return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) db_sql_error(db, sql, err); /* before the reset clears the message */
    db_release(db, st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Steps st: 1 for a row, 0 at the end, -1 with err on an error. */
int db_step(vs_db *db, sqlite3_stmt *st, vs_error *err) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_sql_error(db, sqlite3_sql(st), err);
}

/* One integer from a query; *found says whether there was a row (a NULL reads as 0). */
int db_query_int(vs_db *db, vs_error *err, int64_t *out, int *found, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = db_vprepare(db, sql, types, ap, err);
    va_end(ap);
    if (!st) return -1;
    int r = db_step(db, st, err);
    if (r == 1) *out = sqlite3_column_int64(st, 0);
    if (found) *found = r == 1;
    db_release(db, st);
    return r < 0 ? -1 : 0;
}

char *db_column_strdup(sqlite3_stmt *st, int col) {
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? vs_xstrdup((const char *)s) : NULL;
}

double db_column_double_or_nan(sqlite3_stmt *st, int col) {
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* BEGIN IMMEDIATE takes the write lock at once, so the reads that decide a change see
 * the rows the change is made against. */
/* Another writer holding the lock past the busy timeout (a sqlite3 shell, a script) must
 * not end a sweep: it is waited for, with a growing pause, and said so on stderr. */
int db_begin(vs_db *db, vs_error *err) {
    double waited_ms = 0;
    for (int attempt = 1;; attempt++) {
        int rc = sqlite3_exec(db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK) return 0;
        if ((rc & 0xff) != SQLITE_BUSY) return db_sql_error(db, "BEGIN IMMEDIATE", err);
        int pause_ms = attempt < 6 ? 250 << (attempt - 1) : 8000;
        waited_ms += db->busy_timeout_ms;
        fprintf(stderr, "%s: another process holds the write lock (waited %.1f s so far); trying again (attempt %d)\n",
                db->path, waited_ms / 1000.0, attempt + 1);
        waited_ms += pause_ms;
        struct timespec pause = {pause_ms / 1000, (long)(pause_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
}
int db_commit(vs_db *db, vs_error *err) { return db_exec(db, "COMMIT", err); }
int db_rollback(vs_db *db) {
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
/* Ends a transaction: COMMIT when the work succeeded, ROLLBACK (and -1) when not. */
int db_finish_tx(vs_db *db, int rc, vs_error *err) {
    if (rc) return db_rollback(db);
    if (db_commit(db, err)) return db_rollback(db);
    return 0;
}

/* ---- values as Optuna stores them ---- */

/* Now as Optuna's RDB storage writes datetimes: naive UTC with microseconds. */
void db_now(char out[32]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06ld", (long)(ts.tv_nsec / 1000));
}

const char *db_value_type_of(double v) {
    if (isnan(v)) return "NAN";
    if (isinf(v)) return v > 0 ? "INF_POS" : "INF_NEG";
    return "FINITE";
}

double db_value_from_type(sqlite3_stmt *st, int value_col, int type_col) {
    const char *type = (const char *)sqlite3_column_text(st, type_col);
    if (!type) return NAN;
    if (!strcmp(type, "INF_POS")) return INFINITY;
    if (!strcmp(type, "INF_NEG")) return -INFINITY;
    if (!strcmp(type, "FINITE")) return db_column_double_or_nan(st, value_col);
    return NAN;
}

int db_is_end_state(const char *state) {
    return !strcmp(state, "COMPLETE") || !strcmp(state, "PRUNED") || !strcmp(state, "FAIL");
}

/* A trial's user attribute, value as JSON text (Optuna json.loads it). */
int db_set_user_attr(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err) {
    char *json = vs_json_print_exact(value); /* Python reads back the very same doubles */
    if (!json) return vs_errorf(err, "user attribute '%s': cannot print it as JSON", key);
    int rc = db_run(db, err,
                    "INSERT INTO trial_user_attributes (trial_id, \"key\", value_json) VALUES (?, ?, ?) "
                    "ON CONFLICT (trial_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
                    "iss", trial_id, key, json);
    free(json);
    return rc;
}

int db_set_user_attr_number(vs_db *db, int trial_id, const char *key, double v, vs_error *err) {
    cJSON *n = cJSON_CreateNumber(v);
    int rc = db_set_user_attr(db, trial_id, key, n, err);
    cJSON_Delete(n);
    return rc;
}

int db_set_user_attr_string(vs_db *db, int trial_id, const char *key, const char *s, vs_error *err) {
    cJSON *j = cJSON_CreateString(s);
    int rc = db_set_user_attr(db, trial_id, key, j, err);
    cJSON_Delete(j);
    return rc;
}
