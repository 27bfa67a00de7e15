/* db_open: opening results.db: a new file gets the schema (schema.sql), an existing
 * one is checked (Optuna's alembic revision, vaesearch's tables) and gains the columns
 * an older vaesearch did not write, WAL mode and the busy timeout are set; closing. */
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
    db_release(db, st);
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
    else if (!rc && !has_studies) {
        rc = db_exec(db, vs_db_schema_sql(), err);
        db->created = rc == 0;
    }
    else if (!rc && !has_sweeps) {
        /* Optuna's own file: ours beside its tables, if its schema is the one we write. */
        const char *ours = strstr(vs_db_schema_sql(), "-- Part 2:");
        rc = db_check_revision(db, err) || (ours ? db_exec(db, ours, err) : vs_errorf(err, "schema: no part 2"));
    }
    return db_finish_tx(db, rc, err);
}

/* A file an older vaesearch wrote lacks vs_sweeps' uid and runs_dir (a sweep's identity
 * and its run folder): added, empty, once. Its sweeps get a uid when a run next opens
 * them (vs_db_open_sweep), and a run folder when that run chooses one. */
static int db_upgrade(vs_db *db, vs_error *err) {
    static const char *const count_sql =
        "SELECT COUNT(*) FROM pragma_table_info('vs_sweeps') WHERE name IN ('uid', 'runs_dir')";
    int64_t n = 0;
    if (db_query_int(db, err, &n, NULL, count_sql, NULL)) return -1;
    if (n == 2) return 0;
    if (db_begin(db, err)) return -1;
    int rc = db_query_int(db, err, &n, NULL, count_sql, NULL);   /* another process may have added them */
    if (!rc && n == 0)
        rc = db_exec(db, "ALTER TABLE vs_sweeps ADD COLUMN uid TEXT", err) ||
             db_exec(db, "ALTER TABLE vs_sweeps ADD COLUMN runs_dir TEXT", err);
    else if (!rc && n == 1)
        rc = vs_errorf(err, "%s: vs_sweeps has one of the columns uid and runs_dir but not the other", db->path);
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
            db_release(db, st);
            return rc;
        }
        db_release(db, st);
        if ((r != SQLITE_BUSY && r != SQLITE_LOCKED) || waited_ms >= DB_BUSY_TIMEOUT_MS)
            return db_sql_error(db, "PRAGMA journal_mode = WAL", err);
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* A file that is there must start as every SQLite database does; anything else (a
 * ratings CSV given as --db) is named for what it is not, before SQLite's own message
 * about the first query it fails. An empty or missing file is fine: it becomes one. */
static int check_sqlite_header(const char *path, vs_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char head[16];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == 0 || (n == sizeof head && !memcmp(head, "SQLite format 3", sizeof head))) return 0;
    return vs_errorf(err, "%s: not a results database (not an SQLite file)", path);
}

static int db_open_flags(const char *path, int flags, int create, vs_db **out, vs_error *err) {
    *out = NULL;
    if (check_sqlite_header(path, err)) return -1;
    vs_db *db = vs_xcalloc(1, sizeof *db);
    db->path = vs_xstrdup(path);
    if (gethostname(db->host, sizeof db->host - 1)) snprintf(db->host, sizeof db->host, "localhost");
    if (sqlite3_open_v2(path, &db->sql, flags, NULL) != SQLITE_OK) {
        vs_errorf(err, "%s: cannot open: %s", path, db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
        vs_db_close(db);
        return -1;
    }
    vs_db_set_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
    int rc = db_exec(db, "PRAGMA foreign_keys = ON", err);
    /* The schema before WAL, so that another program's file is refused as it was. */
    if (!rc && create) rc = db_create_schema(db, err);
    if (!rc && !create) {
        int has;
        rc = db_has_table(db, "vs_sweeps", &has, err);
        if (!rc && !has) rc = vs_errorf(err, "%s: not a vaesearch results database (no vs_sweeps table)", path);
    }
    if (!rc) rc = db_use_wal(db, err);
    /* In WAL mode, NORMAL syncs at checkpoints rather than at every commit: a killed
     * process loses nothing committed, a power cut may lose the last commits but never
     * the file's consistency (SQLite's advice for WAL). A sweep commits a few times a
     * trial; a sync each was most of the orchestrator's own time. */
    if (!rc) rc = db_exec(db, "PRAGMA synchronous = NORMAL", err);
    if (!rc) rc = db_check_revision(db, err);
    if (!rc) rc = db_upgrade(db, err);
    if (rc) {
        vs_db_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

void vs_db_set_busy_timeout(vs_db *db, int ms) {
    db->busy_timeout_ms = ms;
    sqlite3_busy_timeout(db->sql, ms);
}

int vs_db_open(const char *path, vs_db **out, vs_error *err) {
    /* SQLite takes an empty file for a new database. An empty results.db may be what a
     * failed copy or a full disk left, so beginning anew in it is said, not silent. (Not
     * refused: another process creating the same new file leaves it empty for a moment.) */
    struct stat sb;
    int was_empty = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0;
    if (db_open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1, out, err)) return -1;
    if (was_empty && (*out)->created)
        fprintf(stderr, "%s: was an empty file (0 bytes), not a results database; a new one begins in it\n", path);
    return 0;
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
    db_stmt_cache_free(db);
    sqlite3_close(db->sql);
    free(db->path);
    free(db);
}
