/* db_internal: what the results database's files share and nothing outside results/
 * may use: the connection, limits, the SQL helpers (db_sql.c) and the few functions one
 * concern's file needs from another's. */
#ifndef VS_DB_INTERNAL_H
#define VS_DB_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include <sqlite3.h>

#include "results_db.h"

/* How long a writer waits for another's transaction before giving up. */
#define DB_BUSY_TIMEOUT_MS 10000
/* The trainer output kept per attempt (its end, where the error is). */
#define DB_OUTPUT_TAIL_MAX 16384
/* A corrupt step number must not make load_trials allocate gigabytes. */
#define DB_MAX_EPOCHS 1000000
/* The alembic revision of Optuna 5.0.0's schema, the one results/schema.sql creates. */
#define DB_ALEMBIC_REVISION "v3.2.0.a"

/* Prepared statements kept per connection (db_sql.c); a sweep uses a few dozen. */
#define DB_STMT_CACHE_MAX 128

typedef struct db_cached_stmt {
    char *sql;
    uint64_t hash;
    sqlite3_stmt *st;
    int busy; /* handed out by db_prepare and not yet released */
} db_cached_stmt;

struct vs_db {
    sqlite3 *sql;
    db_cached_stmt stmts[DB_STMT_CACHE_MAX];
    int n_stmts;
    char *path;
    char host[256];
    int busy_timeout_ms;
    int created;   /* this connection created the schema in a new file */
    int defer_end_sync;   /* vs_db_defer_end_sync: trial ends commit without waiting for the disk */
};

/* ---- db_sql.c: SQL helpers ---- */

int db_sql_error(vs_db *db, const char *sql, vs_error *err);
int db_exec(vs_db *db, const char *sql, vs_error *err);
/* Prepares sql (kept in the connection's cache by its text) and binds its parameters,
 * described by types: 'i' int, 'I' int64, 'd' double (NULL when NaN), 's' string (NULL
 * when NULL). NULL with err on failure. Every statement goes back with db_release,
 * never sqlite3_finalize. */
sqlite3_stmt *db_vprepare(vs_db *db, const char *sql, const char *types, va_list ap, vs_error *err);
sqlite3_stmt *db_prepare(vs_db *db, vs_error *err, const char *sql, const char *types, ...);
/* Gives back a statement from db_prepare: a cached one is reset for its next use. */
void db_release(vs_db *db, sqlite3_stmt *st);
/* Finalizes every cached statement (before the connection closes). */
void db_stmt_cache_free(vs_db *db);
/* Runs a statement that changes rows (or returns one row that is ignored). */
int db_run(vs_db *db, vs_error *err, const char *sql, const char *types, ...);
/* Steps st: 1 for a row, 0 at the end, -1 with err on an error. */
int db_step(vs_db *db, sqlite3_stmt *st, vs_error *err);
/* One integer from a query; *found says whether there was a row (a NULL reads as 0). */
int db_query_int(vs_db *db, vs_error *err, int64_t *out, int *found, const char *sql, const char *types, ...);
char *db_column_strdup(sqlite3_stmt *st, int col);
double db_column_double_or_nan(sqlite3_stmt *st, int col);

/* ---- db_sql.c: transactions ---- */

/* BEGIN IMMEDIATE takes the write lock at once, so the reads that decide a change see
 * the rows the change is made against. */
int db_begin(vs_db *db, vs_error *err);
int db_commit(vs_db *db, vs_error *err);
int db_rollback(vs_db *db);
/* Ends a transaction: COMMIT when the work succeeded, ROLLBACK (and -1) when not. */
int db_finish_tx(vs_db *db, int rc, vs_error *err);

/* ---- db_sql.c: values as Optuna stores them ---- */

/* Now as Optuna's RDB storage writes datetimes: naive UTC with microseconds. */
void db_now(char out[32]);
const char *db_value_type_of(double v);
double db_value_from_type(sqlite3_stmt *st, int value_col, int type_col);
int db_is_end_state(const char *state);
/* A trial's user attribute, value as JSON text (Optuna json.loads it). */
int db_set_user_attr(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err);
int db_set_user_attr_number(vs_db *db, int trial_id, const char *key, double v, vs_error *err);
int db_set_user_attr_string(vs_db *db, int trial_id, const char *key, const char *s, vs_error *err);

/* ---- db_sweeps.c: the owner ---- */

int db_pid_alive(int pid);
/* db_trials.c: a new WAITING trial with its parameters, inside the caller's transaction. */
int db_trial_insert(vs_db *db, int study_id, const vs_space *s, const double *values, int retry_of, int *trial_id,
                    int *number, vs_error *err);
/* Whether this process is the recorded owner of the sweep. */
int db_is_owner(vs_db *db, int study_id, int *is_owner, vs_error *err);
/* Refuses when another run has taken the sweep over (ours went stale). */
int db_require_owner(vs_db *db, int study_id, const char *what, vs_error *err);

#endif
