/* test_results_db: results.db through its API (results_db.h), checked against the rows
 * themselves read with plain SQL: the schema equals results/schema.sql, WAL mode, sweeps
 * and a changed space refused, the owner claim (a live child refuses it, a dead or stale
 * one does not), trials through every end state stored as Optuna stores them, curves and
 * retries read back, orphans requeued, numbers unique under two writers, the views.
 * With VS_RESULTS_FIXTURE=PATH it only writes a small sweep to PATH, and what it wrote
 * to PATH.expect.json, for cli_results_optuna.sh to read back with Optuna. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test.h"
#include "common/json_exact.h"
#include "results/results_db.h"
#include "space/space.h"

/* ---- plain SQL on the file, independent of results_db.c ---- */

static sqlite3 *raw_open(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
        exit(1);
    }
    sqlite3_busy_timeout(db, 10000);
    return db;
}

/* The first column of the first row as text (caller frees), NULL for none or NULL. */
static char *raw_text(const char *path, const char *sql) {
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw_text: %s: %s\n", sql, sqlite3_errmsg(db));
    } else if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        out = strdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/* The same as a number; NAN for none or NULL. */
static double raw_num(const char *path, const char *sql) {
    char *s = raw_text(path, sql);
    double v = s ? strtod(s, NULL) : NAN;
    free(s);
    return v;
}

/* Whether the first column of the first row is the text expect. */
static int raw_is(const char *path, const char *sql, const char *expect) {
    char *s = raw_text(path, sql);
    int ok = s && expect && !strcmp(s, expect);
    if (!ok) fprintf(stderr, "  %s -> '%s', expected '%s'\n", sql, s ? s : "(none)", expect ? expect : "(none)");
    free(s);
    return ok;
}

static void raw_exec(const char *path, const char *sql) {
    sqlite3 *db = raw_open(path);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fprintf(stderr, "raw_exec: %s: %s\n", sql, msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

static void remove_db(const char *path) {
    char p[1100];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* "YYYY-MM-DD HH:MM:SS.ffffff", as Optuna's RDB storage writes datetimes. */
static int is_optuna_datetime(const char *s) {
    static const char shape[] = "dddd-dd-dd dd:dd:dd.dddddd";
    if (!s || strlen(s) != sizeof shape - 1) return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return 0;
    return 1;
}

/* ---- the space and the trainer's lines ---- */

static const char *space_json(const char *name, const char *lr_high) {
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"name\": \"%s\", \"description\": \"a \\\"test\\\" sweep\", \"dataset\": {\"synth\": \"small\"},"
             " \"sampler\": {\"kind\": \"random\", \"seed\": 7}, \"budget\": {\"trials\": 8},"
             " \"parameters\": {"
             "  \"lr\": {\"type\": \"log_uniform\", \"low\": 0.0001, \"high\": %s},"
             "  \"keep_prob\": {\"type\": \"uniform\", \"low\": 0.1, \"high\": 1.0, \"step\": 0.1},"
             "  \"beta1\": {\"type\": \"uniform\", \"low\": 0.8, \"high\": 0.95},"
             "  \"batch_size\": {\"type\": \"int\", \"low\": 100, \"high\": 1000, \"step\": 100},"
             "  \"latent_dim\": {\"type\": \"int\", \"low\": 16, \"high\": 512, \"log\": true},"
             "  \"hidden_dims\": {\"type\": \"categorical\", \"choices\": [[600], [600, 200], [300]]},"
             "  \"total_anneal_steps\": {\"type\": \"categorical\", \"choices\": [0, 20000, 200000]},"
             "  \"anneal_cap\": {\"type\": \"constant\", \"value\": 0.2}}}",
             name, lr_high);
    return buf;
}

static int param_of(const vs_space *s, const char *name) {
    for (int i = 0; i < s->n_params; i++)
        if (!strcmp(s->params[i].name, name)) return i;
    fprintf(stderr, "no parameter %s\n", name);
    exit(1);
}

/* Internal values for trial k: each a legal point of its distribution. */
static void trial_values(const vs_space *s, int k, double *v) {
    v[param_of(s, "lr")] = 1e-4 * pow(1.7, k);
    v[param_of(s, "keep_prob")] = (k % 9 + 1) / 10.0;
    v[param_of(s, "beta1")] = 0.8 + 0.01 * k;
    v[param_of(s, "batch_size")] = 100.0 * (k % 10 + 1);
    v[param_of(s, "latent_dim")] = 16 + 7 * k;
    v[param_of(s, "hidden_dims")] = k % 3;
    v[param_of(s, "total_anneal_steps")] = (k + 1) % 3;
    v[param_of(s, "anneal_cap")] = 0;
}

static cJSON *epoch_line(int epoch, double ndcg, int with_val) {
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"event\": \"epoch\", \"epoch\": %d, \"step\": %d, \"loss\": %g, \"neg_ll\": %g, \"kl\": %g,"
             " \"beta\": %g, \"users_per_s\": 5000.5, \"seconds\": 1.25}",
             epoch, epoch * 10, 500.0 - epoch, 490.0 - epoch, 10.0 + epoch, 0.01 * epoch);
    cJSON *e = cJSON_Parse(buf);
    if (with_val) {
        cJSON *val = cJSON_AddObjectToObject(e, "val");
        if (isnan(ndcg)) cJSON_AddNullToObject(val, "ndcg@100");
        else cJSON_AddNumberToObject(val, "ndcg@100", ndcg);
        cJSON_AddNumberToObject(val, "recall@20", ndcg * 1.1);
        cJSON_AddNumberToObject(val, "recall@50", ndcg * 1.3);
        cJSON_AddNumberToObject(val, "users", 100);
    }
    return e;
}

static cJSON *done_line(int best_epoch, double ndcg) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "event", "done");
    cJSON_AddNumberToObject(d, "best_epoch", best_epoch);
    cJSON *val = cJSON_AddObjectToObject(d, "val");
    cJSON_AddNumberToObject(val, "ndcg@100", ndcg);
    cJSON_AddNumberToObject(val, "recall@20", ndcg * 1.1);
    cJSON_AddNumberToObject(val, "recall@50", ndcg * 1.3);
    cJSON_AddNumberToObject(val, "users", 100);
    cJSON *test = cJSON_AddObjectToObject(d, "test");
    cJSON_AddNumberToObject(test, "ndcg@100", ndcg - 0.01);
    cJSON_AddNumberToObject(test, "recall@20", ndcg * 1.1 - 0.01);
    cJSON_AddNumberToObject(test, "recall@50", ndcg * 1.3 - 0.01);
    cJSON_AddNumberToObject(d, "train_users_per_s", 4321.5);
    cJSON_AddNumberToObject(d, "steps", 40);
    cJSON_AddStringToObject(d, "model", "runs/best.safetensors");
    return d;
}

/* Runs a trial's attempt: started, epochs with these ndcg values (NAN: a null metric,
 * -1: no "val"), then the end given. */
static void run_trial(vs_db *db, int trial_id, const double *ndcg, int n, const char *end, double value,
                      const char *reason, const char *tail) {
    vs_error err = {{0}};
    CHECK_OK(vs_db_trial_started(db, trial_id, 4242, "0", "runs/x", &err), &err);
    for (int e = 0; e < n; e++) {
        cJSON *line = epoch_line(e + 1, ndcg[e], ndcg[e] != -1);
        CHECK_OK(vs_db_trial_epoch(db, trial_id, "ndcg@100", line, &err), &err);
        cJSON_Delete(line);
    }
    if (!end) return;
    cJSON *done = strcmp(end, "COMPLETE") ? NULL : done_line(n, value);
    CHECK_OK(vs_db_trial_finished(db, trial_id, end, done, "ndcg@100", !strcmp(end, "FAIL") ? 1 : 0, reason, tail, &err),
             &err);
    cJSON_Delete(done);
}

/* ---- the checks ---- */

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = 0;
    fclose(f);
    return s;
}

static void check_schema_file(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0), "../results/schema.sql");
    char *text = read_file(path);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (!text) return;
    const char *a = text, *b = vs_db_schema_sql();
    int line = 1;
    while (*a && *a == *b) line += *a++ == '\n', b++;
    CHECK_MSG(*a == 0 && *b == 0, "results/schema.sql and the schema in results_db.c differ from line %d", line);
    free(text);
}

static void check_open(const char *path) {
    vs_error err = {{0}};
    vs_db *db = NULL;
    CHECK(vs_db_open_existing(path, &db, &err) == -1 && strstr(err.msg, path));
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    vs_db_close(db);
    /* again: an existing file is opened, not re-created */
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    vs_db_close(db);
    CHECK_OK(vs_db_open_existing(path, &db, &err), &err);
    vs_db_close(db);
    CHECK(raw_is(path, "PRAGMA journal_mode", "wal"));
    CHECK(raw_is(path, "SELECT schema_version || ' ' || library_version FROM version_info", "12 5.0.0"));
    CHECK(raw_is(path, "SELECT group_concat(version_num) FROM alembic_version", "v3.2.0.a"));
    CHECK(raw_num(path, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'vs_%'") == 5);
}

static void check_sweeps(vs_db *db, const char *path, int *study_id) {
    vs_error err = {{0}};
    vs_space s, changed;
    CHECK_OK(vs_space_parse(space_json("sweep-a", "0.01"), "space.json", &s, &err), &err);
    CHECK_OK(vs_space_parse(space_json("sweep-a", "0.02"), "space.json", &changed, &err), &err);
    int created = -1, again = -1;
    CHECK_OK(vs_db_open_sweep(db, &s, study_id, &created, &err), &err);
    CHECK(created == 1);
    CHECK_OK(vs_db_open_sweep(db, &s, &again, &created, &err), &err);
    CHECK(created == 0 && again == *study_id);
    err.msg[0] = 0;
    CHECK(vs_db_open_sweep(db, &changed, &again, &created, &err) == -1);
    CHECK_MSG(strstr(err.msg, "lr") && strstr(err.msg, "sweep-a"), "message: %s", err.msg);
    CHECK(raw_is(path, "SELECT direction || ' ' || objective FROM study_directions", "MAXIMIZE 0"));
    CHECK(raw_is(path, "SELECT metric || ' ' || n_trials FROM vs_sweeps", "ndcg@100 8"));
    char *stored = raw_text(path, "SELECT space_json FROM vs_sweeps");
    CHECK(stored && !strcmp(stored, s.canonical));
    free(stored);
    /* what optuna-dashboard shows: the objective's name, the description and dataset */
    CHECK(raw_is(path, "SELECT value_json FROM study_system_attributes WHERE key = 'study:metric_names'",
                 "[\"val_ndcg@100\"]"));
    CHECK(raw_is(path, "SELECT value_json FROM study_user_attributes WHERE key = 'description'", "\"a \\\"test\\\" sweep\""));
    CHECK(raw_is(path, "SELECT value_json FROM study_user_attributes WHERE key = 'dataset'", "\"synth:small\""));
    vs_space_free(&s);
    vs_space_free(&changed);
}

/* A child process claims the sweep and holds it until told to go. No connection is
 * open across the fork (SQLite's locks are per process; a child must open its own). */
static void check_owner(vs_db **dbp, const char *path, int study_id) {
    vs_error err = {{0}};
    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) exit(1);
    vs_db_close(*dbp);
    *dbp = NULL;
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        close(go[1]);
        vs_db *mine;
        vs_error e;
        char c = vs_db_open(path, &mine, &e) == 0 && vs_db_claim_sweep(mine, study_id, 60, &e) == 0 ? 'y' : 'n';
        if (c == 'n') fprintf(stderr, "child: %s\n", e.msg);
        if (write(ready[1], &c, 1) != 1) _exit(2);
        if (read(go[0], &c, 1) < 0) _exit(2); /* returns 0 when the parent closes it */
        _exit(0);                             /* gone without releasing: a crashed run */
    }
    close(ready[1]);
    close(go[0]);
    CHECK_OK(vs_db_open(path, dbp, &err), &err);
    if (!*dbp) exit(1);
    vs_db *db = *dbp;
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "pid %d", (int)child);
    CHECK(vs_db_claim_sweep(db, study_id, 60, &err) == -1);
    CHECK_MSG(strstr(err.msg, pid_text) != NULL, "message '%s' lacks '%s'", err.msg, pid_text);
    close(go[1]);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(vs_db_claim_sweep(db, study_id, 60, &err), &err); /* the owner's pid is dead */
    char expect[64];
    snprintf(expect, sizeof expect, "%d", (int)getpid());
    CHECK(raw_is(path, "SELECT owner_pid FROM vs_sweeps", expect));
    CHECK_OK(vs_db_claim_sweep(db, study_id, 60, &err), &err); /* already ours */
    CHECK_OK(vs_db_heartbeat(db, study_id, &err), &err);

    /* A live pid on this host (our parent) with a fresh heartbeat holds it; with a stale one not. */
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE vs_sweeps SET owner_pid = %d, owner_heartbeat = strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')",
             (int)getppid());
    raw_exec(path, sql);
    CHECK(vs_db_claim_sweep(db, study_id, 60, &err) == -1 && strstr(err.msg, "pid"));
    CHECK(vs_db_heartbeat(db, study_id, &err) == -1 && strstr(err.msg, "does not own"));
    raw_exec(path, "UPDATE vs_sweeps SET owner_heartbeat = '2000-01-01 00:00:00.000000'");
    CHECK_OK(vs_db_claim_sweep(db, study_id, 60, &err), &err);
    /* Another host: only its heartbeat tells. */
    raw_exec(path, "UPDATE vs_sweeps SET owner_pid = 1, owner_host = 'elsewhere.example', "
                   "owner_heartbeat = strftime('%Y-%m-%d %H:%M:%f', 'now')");
    CHECK(vs_db_claim_sweep(db, study_id, 60, &err) == -1 && strstr(err.msg, "elsewhere.example"));
    CHECK(vs_db_claim_sweep(db, study_id, 0, &err) == 0); /* stale at once */
    /* Release clears only our own claim. */
    CHECK_OK(vs_db_release_sweep(db, study_id, &err), &err);
    CHECK(raw_num(path, "SELECT COUNT(*) FROM vs_sweeps WHERE owner_pid IS NULL") == 1);
    CHECK_OK(vs_db_claim_sweep(db, study_id, 60, &err), &err);
}

static void check_trials(vs_db *db, const char *path, int study_id) {
    vs_error err = {{0}};
    vs_space s;
    CHECK_OK(vs_space_parse(space_json("sweep-a", "0.01"), "space.json", &s, &err), &err);
    double v[16];
    int ids[10], number;
    for (int k = 0; k < 9; k++) {
        trial_values(&s, k, v);
        CHECK_OK(vs_db_create_trial(db, study_id, &s, v, k == 5 ? 2 : -1, &ids[k], &number, &err), &err);
        CHECK(number == k);
    }
    CHECK(raw_is(path, "SELECT group_concat(state) FROM (SELECT state FROM trials ORDER BY number)",
                 "WAITING,WAITING,WAITING,WAITING,WAITING,WAITING,WAITING,WAITING,WAITING"));
    /* Parameters as Optuna stores them: internal value and distribution_json. */
    char sql[512];
    for (int i = 0; i < s.n_params; i++) {
        char *dist = vs_param_distribution_json(&s.params[i]);
        snprintf(sql, sizeof sql, "SELECT distribution_json FROM trial_params WHERE trial_id = %d AND param_name = '%s'",
                 ids[4], s.params[i].name);
        CHECK(raw_is(path, sql, dist));
        free(dist);
    }
    trial_values(&s, 4, v);
    snprintf(sql, sizeof sql, "SELECT param_value = %.17g FROM trial_params WHERE trial_id = %d AND param_name = 'lr'",
             v[param_of(&s, "lr")], ids[4]);
    CHECK(raw_is(path, sql, "1"));
    snprintf(sql, sizeof sql, "SELECT param_value FROM trial_params WHERE trial_id = %d AND param_name = 'hidden_dims'", ids[4]);
    CHECK(raw_num(path, sql) == 1);

    /* Refusals: bad values, unknown states, ended trials. */
    trial_values(&s, 0, v);
    v[param_of(&s, "hidden_dims")] = 3;
    CHECK(vs_db_create_trial(db, study_id, &s, v, -1, &ids[9], &number, &err) == -1 && strstr(err.msg, "hidden_dims"));
    v[param_of(&s, "hidden_dims")] = 0;
    v[param_of(&s, "lr")] = NAN;
    CHECK(vs_db_create_trial(db, study_id, &s, v, -1, &ids[9], &number, &err) == -1 && strstr(err.msg, "lr"));
    CHECK(vs_db_trial_finished(db, ids[0], "DONE", NULL, "ndcg@100", 0, NULL, NULL, &err) == -1 && strstr(err.msg, "DONE"));
    CHECK(vs_db_trial_started(db, 999999, 1, "", "x", &err) == -1 && strstr(err.msg, "999999"));

    double a[] = {0.30, 0.35, 0.33}, b[] = {0.2, 0.1}, c[] = {-1}, d1[] = {0.25}, e[] = {0.22, NAN}, g[] = {0.3, NAN};
    /* three ends at once: the first two commit without waiting for the disk, the third
     * for all (checked below as any others) */
    vs_db_defer_end_sync(db, 1);
    run_trial(db, ids[0], a, 3, "COMPLETE", 0.35, NULL, NULL);
    run_trial(db, ids[1], b, 2, "PRUNED", 0, "pruned at epoch 2", NULL);
    vs_db_defer_end_sync(db, 0);
    run_trial(db, ids[2], c, 1, "FAIL", 0, "training diverged", "line 1\nvaecf-train: training diverged\n");
    run_trial(db, ids[3], d1, 1, "WAITING", 0, "stopped", NULL);
    run_trial(db, ids[4], e, 2, NULL, 0, NULL, NULL); /* left RUNNING: an orphan */
    run_trial(db, ids[6], g, 2, "PRUNED", 0, NULL, NULL); /* last intermediate NaN: no value */
    run_trial(db, ids[7], a, 1, "COMPLETE", INFINITY, NULL, NULL); /* a non-finite objective: a failure */
    {   /* a done line without the objective is a failure */
        CHECK_OK(vs_db_trial_started(db, ids[8], 1, "", "runs/8", &err), &err);
        cJSON *done = cJSON_Parse("{\"event\": \"done\", \"val\": {\"recall@20\": 0.1}}");
        CHECK_OK(vs_db_trial_finished(db, ids[8], "COMPLETE", done, "ndcg@100", 0, NULL, NULL, &err), &err);
        cJSON_Delete(done);
    }

    /* Ended trials are closed. */
    cJSON *line = epoch_line(4, 0.3, 1);
    CHECK(vs_db_trial_epoch(db, ids[0], "ndcg@100", line, &err) == -1 && strstr(err.msg, "COMPLETE"));
    cJSON_Delete(line);
    line = cJSON_Parse("{\"event\": \"epoch\", \"loss\": 1}");
    CHECK(vs_db_trial_epoch(db, ids[3], "ndcg@100", line, &err) == -1 && strstr(err.msg, "epoch"));
    cJSON_Delete(line);
    CHECK(vs_db_trial_finished(db, ids[0], "FAIL", NULL, "ndcg@100", 1, "x", NULL, &err) == -1 && strstr(err.msg, "COMPLETE"));
    CHECK(vs_db_trial_started(db, ids[1], 1, "", "x", &err) == -1 && strstr(err.msg, "PRUNED"));

    /* Rows as Optuna would have written them. */
    snprintf(sql, sizeof sql, "SELECT state || ' ' || value || ' ' || value_type FROM trials JOIN trial_values USING (trial_id) WHERE trial_id = %d", ids[0]);
    CHECK(raw_is(path, sql, "COMPLETE 0.35 FINITE"));
    snprintf(sql, sizeof sql, "SELECT state || ' ' || value || ' ' || value_type FROM trials JOIN trial_values USING (trial_id) WHERE trial_id = %d", ids[1]);
    CHECK(raw_is(path, sql, "PRUNED 0.1 FINITE"));
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM trial_values WHERE trial_id IN (%d, %d, %d)", ids[2], ids[6], ids[8]);
    CHECK(raw_num(path, sql) == 0);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM trial_values WHERE trial_id = %d", ids[7]);
    CHECK(raw_is(path, sql, "0"));
    snprintf(sql, sizeof sql, "SELECT value_json FROM trial_user_attributes WHERE trial_id = %d AND key = 'fail_reason'", ids[7]);
    CHECK(raw_is(path, sql, "\"the done line's val.ndcg@100 is not finite (inf)\""));
    snprintf(sql, sizeof sql, "SELECT group_concat(step || ':' || coalesce(intermediate_value, 'null') || ':' || intermediate_value_type, ' ') "
                              "FROM (SELECT * FROM trial_intermediate_values WHERE trial_id = %d ORDER BY step)", ids[4]);
    CHECK(raw_is(path, sql, "1:0.22:FINITE 2:null:NAN"));
    snprintf(sql, sizeof sql, "SELECT value_json FROM trial_user_attributes WHERE trial_id = %d AND key = 'best_epoch'", ids[0]);
    CHECK(raw_is(path, sql, "3"));
    snprintf(sql, sizeof sql, "SELECT value_json FROM trial_user_attributes WHERE trial_id = %d AND key = 'test_ndcg@100'", ids[0]);
    CHECK_NEAR(raw_num(path, sql), 0.34, 1e-12);
    snprintf(sql, sizeof sql, "SELECT value_json FROM trial_user_attributes WHERE trial_id = %d AND key = 'gpus'", ids[0]);
    CHECK(raw_is(path, sql, "\"0\""));
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM trial_user_attributes WHERE trial_id = %d AND key = 'val_users'", ids[0]);
    CHECK(raw_num(path, sql) == 0);
    snprintf(sql, sizeof sql, "SELECT value_json FROM trial_user_attributes WHERE trial_id = %d AND key = 'fail_reason'", ids[2]);
    CHECK(raw_is(path, sql, "\"training diverged\""));
    snprintf(sql, sizeof sql, "SELECT json_extract(value_json, '$') FROM trial_user_attributes WHERE trial_id = %d AND key = 'fail_reason'", ids[8]);
    CHECK(raw_is(path, sql, "the done line has no val.ndcg@100"));
    snprintf(sql, sizeof sql, "SELECT state FROM trials WHERE trial_id = %d", ids[8]);
    CHECK(raw_is(path, sql, "FAIL"));
    snprintf(sql, sizeof sql, "SELECT exit_status || ' ' || outcome || ' ' || output_tail FROM vs_trial_runs WHERE trial_id = %d", ids[2]);
    CHECK(raw_is(path, sql, "1 FAIL line 1\nvaecf-train: training diverged\n"));
    snprintf(sql, sizeof sql, "SELECT loss || ' ' || kl || ' ' || coalesce(val_ndcg100, 'null') || ' ' || (loss_scale IS NULL) "
                              "FROM vs_epochs WHERE trial_id = %d AND epoch = 2", ids[0]);
    CHECK(raw_is(path, sql, "498.0 12.0 0.35 1"));
    snprintf(sql, sizeof sql, "SELECT datetime_start FROM trials WHERE trial_id = %d", ids[0]);
    char *start = raw_text(path, sql);
    CHECK(is_optuna_datetime(start));
    free(start);
    snprintf(sql, sizeof sql, "SELECT datetime_complete FROM trials WHERE trial_id = %d", ids[1]);
    char *complete = raw_text(path, sql);
    CHECK(is_optuna_datetime(complete));
    free(complete);
    /* UTC, as Optuna 5 stores them: within a minute of SQLite's own 'now' (UTC). */
    snprintf(sql, sizeof sql, "SELECT abs(julianday('now') - julianday(datetime_complete)) * 86400 FROM trials WHERE trial_id = %d", ids[1]);
    CHECK(raw_num(path, sql) < 60);

    /* A stopped trial waits and keeps its start; the next attempt is attempt 2. */
    snprintf(sql, sizeof sql, "SELECT state || ' ' || (datetime_start IS NOT NULL) || ' ' || (datetime_complete IS NULL) FROM trials WHERE trial_id = %d", ids[3]);
    CHECK(raw_is(path, sql, "WAITING 1 1"));
    snprintf(sql, sizeof sql, "SELECT datetime_start FROM trials WHERE trial_id = %d", ids[3]);
    char *first_start = raw_text(path, sql);
    usleep(2000);
    CHECK_OK(vs_db_trial_started(db, ids[3], 4343, "1", "runs/3", &err), &err);
    line = epoch_line(2, 0.27, 1);
    CHECK_OK(vs_db_trial_epoch(db, ids[3], "ndcg@100", line, &err), &err);
    cJSON_Delete(line);
    cJSON *done = done_line(2, 0.27);
    CHECK_OK(vs_db_trial_finished(db, ids[3], "COMPLETE", done, "ndcg@100", 0, NULL, NULL, &err), &err);
    cJSON_Delete(done);
    CHECK(raw_is(path, sql, first_start));
    free(first_start);
    snprintf(sql, sizeof sql, "SELECT group_concat(attempt || ':' || outcome || ':' || gpus, ' ') FROM vs_trial_runs WHERE trial_id = %d", ids[3]);
    CHECK(raw_is(path, sql, "1:WAITING:0 2:COMPLETE:1"));

    /* The orphan goes back to WAITING. */
    int n = -1;
    CHECK_OK(vs_db_requeue_orphans(db, study_id, &n, &err), &err);
    CHECK(n == 1);
    snprintf(sql, sizeof sql, "SELECT state FROM trials WHERE trial_id = %d", ids[4]);
    CHECK(raw_is(path, sql, "WAITING"));
    snprintf(sql, sizeof sql, "SELECT outcome || ' ' || (ended IS NOT NULL) FROM vs_trial_runs WHERE trial_id = %d", ids[4]);
    CHECK(raw_is(path, sql, "WAITING 1"));
    CHECK_OK(vs_db_requeue_orphans(db, study_id, &n, &err), &err);
    CHECK(n == 0);

    /* load_trials gives back what went in. */
    vs_db_trial *t = NULL;
    int nt = 0;
    CHECK_OK(vs_db_load_trials(db, study_id, &s, &t, &nt, &err), &err);
    CHECK(nt == 9);
    for (int i = 0; i < nt && nt == 9; i++) {
        CHECK(t[i].number == i && t[i].trial_id == ids[i]);
        trial_values(&s, i, v);
        for (int p = 0; p < s.n_params; p++) CHECK_MSG(t[i].values[p] == v[p], "trial %d %s", i, s.params[p].name);
        CHECK(t[i].retry_of == (i == 5 ? 2 : -1));
    }
    if (nt == 9) {
        static const char *const states[] = {"COMPLETE", "PRUNED", "FAIL", "COMPLETE", "WAITING",
                                             "WAITING",  "PRUNED", "FAIL",     "FAIL"};
        for (int i = 0; i < 9; i++) CHECK_MSG(!strcmp(t[i].state, states[i]), "trial %d is %s", i, t[i].state);
        CHECK(t[0].has_value && t[0].value == 0.35 && t[0].n_epochs == 3);
        CHECK(t[0].curve[0] == 0.30 && t[0].curve[1] == 0.35 && t[0].curve[2] == 0.33);
        CHECK(t[1].has_value && t[1].value == 0.1 && t[1].n_epochs == 2);
        CHECK(!t[2].has_value && t[2].n_epochs == 0);
        CHECK(t[3].n_epochs == 2 && t[3].curve[0] == 0.25 && t[3].curve[1] == 0.27 && t[3].value == 0.27);
        CHECK(t[4].n_epochs == 2 && t[4].curve[0] == 0.22 && isnan(t[4].curve[1]) && !t[4].has_value);
        CHECK(!t[6].has_value);
        CHECK(!t[7].has_value);
        CHECK(t[0].out_dir && !strcmp(t[0].out_dir, "runs/x"));
        CHECK(t[3].out_dir && !strcmp(t[3].out_dir, "runs/3"));
        CHECK(t[5].out_dir == NULL);
        /* One trial read alone (the scheduler's refresh) is the same as in the history. */
        for (int i = 0; i < 9; i++) {
            vs_db_trial one;
            CHECK_OK(vs_db_load_trial(db, ids[i], &s, &one, &err), &err);
            CHECK_MSG(one.number == t[i].number && !strcmp(one.state, t[i].state) && one.has_value == t[i].has_value &&
                          (!one.has_value || one.value == t[i].value) && one.n_epochs == t[i].n_epochs &&
                          one.retry_of == t[i].retry_of && !one.out_dir == !t[i].out_dir,
                      "trial %d read alone differs", i);
            for (int e = 0; e < one.n_epochs && one.n_epochs == t[i].n_epochs; e++)
                CHECK(one.curve[e] == t[i].curve[e] || (isnan(one.curve[e]) && isnan(t[i].curve[e])));
            for (int p = 0; p < s.n_params; p++) CHECK(one.values[p] == t[i].values[p]);
            vs_db_free_trials_content(&one, 1);
        }
        vs_db_trial none;
        CHECK(vs_db_load_trial(db, 999999, &s, &none, &err) == -1 && strstr(err.msg, "999999"));
    }
    vs_db_free_trials(t, nt);

    /* The reports the commands print. */
    cJSON *sweep = vs_db_sweep_json(db, study_id, &err);
    CHECK(sweep != NULL);
    const cJSON *counts = cJSON_GetObjectItem(sweep, "counts");
    CHECK(cJSON_GetObjectItem(counts, "COMPLETE")->valueint == 2 && cJSON_GetObjectItem(counts, "WAITING")->valueint == 2 &&
          cJSON_GetObjectItem(counts, "PRUNED")->valueint == 2 && cJSON_GetObjectItem(counts, "FAIL")->valueint == 3);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(sweep, "owner"), "alive")));
    CHECK(cJSON_GetObjectItem(sweep, "n_trials")->valueint == 8);
    cJSON_Delete(sweep);
    cJSON *list = vs_db_trials_json(db, study_id, 3, 1, &err);
    CHECK(cJSON_GetArraySize(list) == 1);
    const cJSON *t3 = cJSON_GetArrayItem(list, 0);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(t3, "curve")) == 2 && cJSON_GetArraySize(cJSON_GetObjectItem(t3, "runs")) == 2);
    cJSON *hd = cJSON_GetObjectItem(cJSON_GetObjectItem(t3, "params"), "hidden_dims");
    char *hd_text = hd ? cJSON_PrintUnformatted(hd) : NULL;
    CHECK(hd_text && !strcmp(hd_text, "[600]")); /* trial 3: choice 3 % 3 = 0 */
    free(hd_text);
    cJSON_Delete(list);
    vs_space_free(&s);
}

/* The views, against the tables. */
static void check_views(const char *path) {
    CHECK(raw_is(path, "SELECT params FROM vs_leaderboard WHERE number = 0",
                 "{\"anneal_cap\":0.2,\"batch_size\":100,\"beta1\":0.8,\"hidden_dims\":[600],\"keep_prob\":0.1,"
                 "\"latent_dim\":16,\"lr\":0.0001,\"total_anneal_steps\":20000}"));
    CHECK(raw_is(path, "SELECT state || ' ' || value || ' ' || val_recall20 || ' ' || best_epoch || ' ' || users_per_s || ' ' || gpus "
                       "FROM vs_leaderboard WHERE number = 0",
                 "COMPLETE 0.35 0.385 3 4321.5 0"));
    CHECK(raw_num(path, "SELECT seconds FROM vs_leaderboard WHERE number = 0") >= 0);
    CHECK(raw_is(path, "SELECT trials || ' ' || waiting || ' ' || running || ' ' || complete || ' ' || pruned || ' ' || fail || ' ' || done || ' ' || budget "
                       "FROM vs_progress WHERE sweep = 'sweep-a'",
                 "9 2 0 2 2 3 4 8"));
}

/* Two processes opening a new file and the same sweep, and creating trials, at once:
 * one schema, one study, and the trials numbered 0..19, each once. */
static void check_concurrent_numbers(const char *dir) {
    vs_error err = {{0}};
    vs_space s;
    char path[1100];
    snprintf(path, sizeof path, "%s/concurrent.db", dir);
    remove_db(path);
    CHECK_OK(vs_space_parse(space_json("sweep-c", "0.01"), "space.json", &s, &err), &err);
    fflush(NULL);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            vs_db *mine = NULL;
            vs_error e;
            double v[16];
            int id, number, study_id, created;
            int bad = vs_db_open(path, &mine, &e) || vs_db_open_sweep(mine, &s, &study_id, &created, &e);
            for (int i = 0; !bad && i < 10; i++) {
                trial_values(&s, i, v);
                bad = vs_db_create_trial(mine, study_id, &s, v, -1, &id, &number, &e);
            }
            if (bad) fprintf(stderr, "child: %s\n", e.msg);
            _exit(bad ? 1 : 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int status;
        waitpid(kids[k], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK(raw_is(path, "SELECT COUNT(*) || ' ' || COUNT(DISTINCT number) || ' ' || MIN(number) || ' ' || MAX(number) FROM trials",
                 "20 20 0 19"));
    CHECK(raw_is(path, "SELECT COUNT(*) FROM studies", "1"));
    CHECK(raw_is(path, "SELECT COUNT(*) FROM version_info", "1"));
    vs_space_free(&s);
}

/* --sweep's default: the only sweep; with two, an error naming both. */
static void check_find_sweep(const char *path) {
    vs_error err = {{0}};
    vs_db *db;
    int id = -1, created;
    CHECK_OK(vs_db_open_existing(path, &db, &err), &err);
    CHECK_OK(vs_db_find_sweep(db, NULL, &id, &err), &err);
    CHECK(id == 1);
    vs_space s;
    CHECK_OK(vs_space_parse(space_json("sweep-b", "0.01"), "space.json", &s, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &s, &id, &created, &err), &err);
    vs_space_free(&s);
    CHECK(vs_db_find_sweep(db, NULL, &id, &err) == -1 && strstr(err.msg, "sweep-a") && strstr(err.msg, "sweep-b"));
    CHECK(vs_db_find_sweep(db, "nope", &id, &err) == -1 && strstr(err.msg, "nope") && strstr(err.msg, "sweep-a"));
    CHECK_OK(vs_db_find_sweep(db, "sweep-b", &id, &err), &err);
    CHECK(id == 2);
    vs_db_close(db);
}

/* A stepped value a hair off its grid (0.1 + 2 x 0.1) reads back, in the reports, as
 * the grid's decimal: what top, show and their CSV print. */
static void check_stepped_report(const char *path) {
    vs_error err = {{0}};
    vs_db *db;
    vs_space s;
    int study_id, created, trial_id, number;
    CHECK_OK(vs_db_open_existing(path, &db, &err), &err);
    CHECK_OK(vs_space_parse(space_json("sweep-b", "0.01"), "space.json", &s, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &s, &study_id, &created, &err), &err);
    double v[16];
    trial_values(&s, 0, v);
    v[param_of(&s, "keep_prob")] = 0.1 + 2 * 0.1;
    CHECK_OK(vs_db_create_trial(db, study_id, &s, v, -1, &trial_id, &number, &err), &err);
    cJSON *list = vs_db_trials_json(db, study_id, number, 0, &err);
    char *text = vs_json_print_exact(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "params"), "keep_prob"));
    CHECK_MSG(text && !strcmp(text, "0.3"), "keep_prob printed as %s", text ? text : "NULL");
    free(text);
    cJSON_Delete(list);
    vs_space_free(&s);
    vs_db_close(db);
}

/* A file Optuna made (its tables only): vaesearch adds its own, refuses a study it did
 * not make, and refuses another Optuna schema revision without adding its tables. */
static void check_optuna_file(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/optuna.db", dir);
    remove_db(path);
    const char *schema = vs_db_schema_sql();
    const char *ours = strstr(schema, "-- Part 2:");
    CHECK(ours != NULL);
    if (!ours) return;
    char *optuna_part = strndup(schema, (size_t)(ours - schema));
    sqlite3 *raw = NULL;
    sqlite3_open(path, &raw);
    sqlite3_close(raw);
    raw_exec(path, optuna_part);
    free(optuna_part);
    raw_exec(path, "INSERT INTO studies (study_name) VALUES ('by-optuna')");
    raw_exec(path, "UPDATE alembic_version SET version_num = 'v3.0.0.d'");
    vs_error err = {{0}};
    vs_db *db = NULL;
    CHECK(vs_db_open(path, &db, &err) == -1 && strstr(err.msg, "v3.0.0.d"));
    CHECK(raw_num(path, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'vs_%'") == 0);
    raw_exec(path, "UPDATE alembic_version SET version_num = 'v3.2.0.a'");
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    CHECK(raw_num(path, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'vs_%'") == 5);
    vs_space s;
    CHECK_OK(vs_space_parse(space_json("by-optuna", "0.01"), "space.json", &s, &err), &err);
    int study_id, created;
    CHECK(db && vs_db_open_sweep(db, &s, &study_id, &created, &err) == -1 && strstr(err.msg, "not made by vaesearch"));
    vs_space_free(&s);
    vs_db_close(db);

    /* Another program's database is refused and left as it was (not even WAL). */
    snprintf(path, sizeof path, "%s/other.db", dir);
    remove_db(path);
    sqlite3_open(path, &raw);
    sqlite3_close(raw);
    raw_exec(path, "CREATE TABLE notes (x TEXT)");
    CHECK(vs_db_open(path, &db, &err) == -1 && strstr(err.msg, "something else"));
    CHECK(vs_db_open_existing(path, &db, &err) == -1 && strstr(err.msg, "not a vaesearch results database"));
    CHECK(raw_is(path, "SELECT group_concat(name) FROM sqlite_master", "notes"));
    CHECK(raw_is(path, "PRAGMA journal_mode", "delete"));
}

/* A sweep's identity: a file an older vaesearch wrote (vs_sweeps without uid and
 * runs_dir) gains the columns; every sweep gets a uid of its own, kept when it is opened
 * again, new for a deleted sweep's name; its run folder is recorded and reported. */
static void check_identity(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/identity.db", dir);
    remove_db(path);
    char *old = strdup(vs_db_schema_sql());
    char *cut = strstr(old, "owner_heartbeat DATETIME,\n");
    char *end = cut ? strstr(cut, "\n);") : NULL;
    if (end) end++;
    CHECK(cut && end);
    if (!cut || !end) return;
    memmove(cut + strlen("owner_heartbeat DATETIME\n"), end, strlen(end) + 1);
    memcpy(cut, "owner_heartbeat DATETIME\n", strlen("owner_heartbeat DATETIME\n"));
    sqlite3 *raw = NULL;
    sqlite3_open(path, &raw);
    sqlite3_close(raw);
    raw_exec(path, old);
    free(old);
    CHECK(raw_num(path, "SELECT COUNT(*) FROM pragma_table_info('vs_sweeps') WHERE name IN ('uid', 'runs_dir')") == 0);
    vs_error err = {{0}};
    vs_db *db = NULL;
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    if (!db) return;
    CHECK(raw_num(path, "SELECT COUNT(*) FROM pragma_table_info('vs_sweeps') WHERE name IN ('uid', 'runs_dir')") == 2);
    vs_space a, b;
    CHECK_OK(vs_space_parse(space_json("a", "0.01"), "a.json", &a, &err), &err);
    CHECK_OK(vs_space_parse(space_json("b", "0.01"), "b.json", &b, &err), &err);
    int id_a, id_b, created;
    char uid_a[33], uid_b[33], again[33];
    char *runs = NULL;
    CHECK_OK(vs_db_open_sweep(db, &a, &id_a, &created, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &b, &id_b, &created, &err), &err);
    CHECK_OK(vs_db_sweep_home(db, id_a, uid_a, &runs, &err), &err);
    CHECK(strlen(uid_a) == 32 && strspn(uid_a, "0123456789abcdef") == 32 && runs == NULL);
    CHECK_OK(vs_db_sweep_home(db, id_b, uid_b, &runs, &err), &err);
    CHECK(strcmp(uid_a, uid_b) != 0);
    CHECK_OK(vs_db_open_sweep(db, &a, &id_a, &created, &err), &err);
    CHECK_OK(vs_db_sweep_home(db, id_a, again, &runs, &err), &err);
    CHECK(!created && !strcmp(again, uid_a));
    CHECK_OK(vs_db_set_sweep_runs_dir(db, id_a, "runs/a", &err), &err);
    CHECK_OK(vs_db_sweep_home(db, id_a, again, &runs, &err), &err);
    CHECK(runs && !strcmp(runs, "runs/a"));
    free(runs);
    cJSON *sw = vs_db_sweep_json(db, id_a, &err);
    CHECK(sw && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sw, "id")), uid_a) &&
          !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sw, "runs_dir")), "runs/a"));
    cJSON_Delete(sw);
    /* A deleted sweep's name starts a sweep of another identity, without a run folder. */
    CHECK_OK(vs_db_delete_sweep(db, id_a, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &a, &id_a, &created, &err), &err);
    CHECK_OK(vs_db_sweep_home(db, id_a, again, &runs, &err), &err);
    CHECK(created && strcmp(again, uid_a) && runs == NULL);
    vs_space_free(&a);
    vs_space_free(&b);
    vs_db_close(db);
}

/* ---- the fixture for cli_results_optuna.sh ---- */

/* What the fixture's trial k is, and what Optuna must read back. */
static cJSON *fixture_trial(vs_db *db, const vs_space *s, int study_id, int k, const char *end, const double *ndcg, int n,
                            double value, vs_error *err) {
    double v[16];
    int id, number;
    trial_values(s, k, v);
    if (vs_db_create_trial(db, study_id, s, v, -1, &id, &number, err)) return NULL;
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "number", number);
    cJSON *params = cJSON_AddObjectToObject(x, "params");
    cJSON *dists = cJSON_AddObjectToObject(x, "distributions");
    for (int i = 0; i < s->n_params; i++) {
        cJSON_AddItemToObject(params, s->params[i].name, vs_param_json_value(&s->params[i], v[i]));
        char *d = vs_param_distribution_json(&s->params[i]);
        cJSON_AddItemToObject(dists, s->params[i].name, cJSON_Parse(d));
        free(d);
    }
    cJSON *inter = cJSON_AddObjectToObject(x, "intermediate_values");
    for (int e = 0; e < n; e++) {
        char step[16];
        snprintf(step, sizeof step, "%d", e + 1);
        cJSON_AddItemToObject(inter, step, isnan(ndcg[e]) ? cJSON_CreateNull() : cJSON_CreateNumber(ndcg[e]));
    }
    run_trial(db, id, ndcg, n, end, value, end && !strcmp(end, "FAIL") ? "training diverged" : NULL, "tail\n");
    const char *state = end ? end : "RUNNING";
    cJSON_AddStringToObject(x, "state", state);
    if (!strcmp(state, "COMPLETE")) cJSON_AddNumberToObject(x, "value", value);
    else if (!strcmp(state, "PRUNED")) cJSON_AddNumberToObject(x, "value", ndcg[n - 1]);
    else cJSON_AddNullToObject(x, "value");
    cJSON *attrs = cJSON_AddObjectToObject(x, "user_attrs");
    cJSON_AddStringToObject(attrs, "gpus", "0");
    if (!strcmp(state, "COMPLETE")) {
        cJSON_AddNumberToObject(attrs, "val_ndcg@100", value);
        cJSON_AddNumberToObject(attrs, "test_ndcg@100", value - 0.01);
        cJSON_AddNumberToObject(attrs, "best_epoch", n);
        cJSON_AddNumberToObject(attrs, "train_users_per_s", 4321.5);
    }
    if (!strcmp(state, "FAIL")) cJSON_AddStringToObject(attrs, "fail_reason", "training diverged");
    return x;
}

static int write_fixture(const char *path) {
    vs_error err = {{0}};
    vs_space s;
    vs_db *db;
    int study_id, created;
    remove_db(path);
    CHECK_OK(vs_space_parse(space_json("fixture", "0.01"), "space.json", &s, &err), &err);
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    CHECK_OK(vs_db_open_sweep(db, &s, &study_id, &created, &err), &err);
    CHECK_OK(vs_db_claim_sweep(db, study_id, 60, &err), &err);
    if (test_failed) return test_finish();
    double c0[] = {0.20, 0.28, 0.31}, c1[] = {0.30, 0.42, 0.41, 0.40}, p2[] = {0.10, 0.12}, f3[] = {0.05},
           c4[] = {NAN, 0.40}, w5[] = {0.33}, r6[] = {0.25};
    cJSON *expect = cJSON_CreateObject();
    cJSON_AddStringToObject(expect, "study_name", "fixture");
    cJSON_AddStringToObject(expect, "direction", "MAXIMIZE");
    cJSON_AddNumberToObject(expect, "best_number", 1);
    cJSON_AddNumberToObject(expect, "best_value", 0.42);
    cJSON *trials = cJSON_AddArrayToObject(expect, "trials");
    cJSON *x[7] = {
        fixture_trial(db, &s, study_id, 0, "COMPLETE", c0, 3, 0.31, &err),
        fixture_trial(db, &s, study_id, 1, "COMPLETE", c1, 4, 0.42, &err),
        fixture_trial(db, &s, study_id, 2, "PRUNED", p2, 2, 0, &err),
        fixture_trial(db, &s, study_id, 3, "FAIL", f3, 1, 0, &err),
        fixture_trial(db, &s, study_id, 4, "COMPLETE", c4, 2, 0.40, &err),
        fixture_trial(db, &s, study_id, 5, "WAITING", w5, 1, 0, &err),
        fixture_trial(db, &s, study_id, 6, NULL, r6, 1, 0, &err),
    };
    for (int i = 0; i < 7; i++) {
        CHECK_MSG(x[i] != NULL, "fixture trial %d: %s", i, err.msg);
        if (x[i]) cJSON_AddItemToArray(trials, x[i]);
    }
    vs_db_close(db);
    char expect_path[1100];
    snprintf(expect_path, sizeof expect_path, "%s.expect.json", path);
    FILE *f = fopen(expect_path, "w");
    char *text = vs_json_print_exact(expect); /* cJSON_Print may drop a double's last bit */
    CHECK(f && text && fputs(text, f) >= 0 && fclose(f) == 0);
    free(text);
    cJSON_Delete(expect);
    vs_space_free(&s);
    return test_finish();
}

/* ---- hostile or broken input (issue 13) ---- */

/* Text written to stderr while call runs (into buf). */
#define CAPTURE_STDERR(call, buf, path)                                     \
    do {                                                                    \
        fflush(stderr);                                                     \
        int saved_ = dup(2), fd_ = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644); \
        dup2(fd_, 2);                                                       \
        close(fd_);                                                         \
        call;                                                               \
        fflush(stderr);                                                     \
        dup2(saved_, 2);                                                    \
        close(saved_);                                                      \
        char *text_ = read_file(path);                                      \
        snprintf(buf, sizeof buf, "%s", text_ ? text_ : "");                \
        free(text_);                                                        \
    } while (0)

/* An empty file is not silently begun anew: it is said (it may be what a failed copy
 * left); control characters from a damaged file come out escaped. */
static void check_damaged_files(const char *dir) {
    vs_error err = {{0}};
    vs_db *db = NULL;
    char path[1100], said_path[1100], said[2048];
    snprintf(path, sizeof path, "%s/empty.db", dir);
    snprintf(said_path, sizeof said_path, "%s/stderr.txt", dir);
    remove_db(path);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
    int rc = -1;
    CAPTURE_STDERR(rc = vs_db_open(path, &db, &err), said, said_path);
    CHECK_OK(rc, &err);
    CHECK_MSG(strstr(said, "empty file") && strstr(said, path), "stderr: %s", said);
    vs_db_close(db);
    db = NULL;
    CAPTURE_STDERR(rc = vs_db_open(path, &db, &err), said, said_path);   /* now a database: nothing to say */
    CHECK_OK(rc, &err);
    CHECK_MSG(!strstr(said, "empty file"), "stderr: %s", said);
    vs_db_close(db);
    db = NULL;

    snprintf(path, sizeof path, "%s/garbled.db", dir);
    remove_db(path);
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    vs_db_close(db);
    db = NULL;
    raw_exec(path, "UPDATE alembic_version SET version_num = 'v1' || char(27) || '[31m' || char(10) || 'x'");
    CHECK(vs_db_open(path, &db, &err) == -1);
    int controls = 0;
    for (const char *p = err.msg; *p; p++) controls += (unsigned char)*p < 0x20;
    CHECK_MSG(!controls && strstr(err.msg, "v1\\x1b[31m\\x0ax"), "message: %s", err.msg);
}

/* A writer holding the lock longer than the busy timeout is waited for, not an error:
 * a child holds BEGIN IMMEDIATE for 1.5 s while this process, with a 100 ms timeout,
 * records a trial. */
static void check_lock_outlasted(const char *dir) {
    vs_error err = {{0}};
    vs_space s;
    char path[1100];
    snprintf(path, sizeof path, "%s/locked.db", dir);
    remove_db(path);
    CHECK_OK(vs_space_parse(space_json("sweep-l", "0.01"), "space.json", &s, &err), &err);
    vs_db *db = NULL;
    int study_id = -1, created, id = -1, number = -1;
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    if (!db) return;
    CHECK_OK(vs_db_open_sweep(db, &s, &study_id, &created, &err), &err);
    vs_db_close(db);
    int ready[2];
    if (pipe(ready)) exit(1);
    fflush(NULL);
    pid_t kid = fork();
    if (kid == 0) {
        sqlite3 *raw = raw_open(path);
        int ok = sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        if (write(ready[1], ok ? "1" : "0", 1) != 1) _exit(1);
        usleep(1500 * 1000);
        sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(raw);
        _exit(0);
    }
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == '1');
    db = NULL;
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    if (db) {
        vs_db_set_busy_timeout(db, 100);
        double v[16];
        trial_values(&s, 0, v);
        CHECK_OK(vs_db_create_trial(db, study_id, &s, v, -1, &id, &number, &err), &err);
        vs_db_close(db);
    }
    int status;
    waitpid(kid, &status, 0);
    close(ready[0]);
    close(ready[1]);
    CHECK(raw_is(path, "SELECT COUNT(*) FROM trials", "1"));
    vs_space_free(&s);
}

int main(void) {
    const char *fixture = getenv("VS_RESULTS_FIXTURE");
    if (fixture && *fixture) return write_fixture(fixture);
    const char *tmp = getenv("VS_TEST_TMP");
    if (!tmp) tmp = "/tmp";
    mkdir(tmp, 0777);
    char path[1024];
    snprintf(path, sizeof path, "%s/results.db", tmp);
    remove_db(path);

    check_schema_file();
    check_open(path);
    vs_error err = {{0}};
    vs_db *db = NULL;
    int study_id = -1;
    CHECK_OK(vs_db_open(path, &db, &err), &err);
    if (!db) return test_finish();
    check_sweeps(db, path, &study_id);
    check_owner(&db, path, study_id);
    check_trials(db, path, study_id);
    vs_db_close(db);
    check_views(path);
    check_concurrent_numbers(tmp);
    check_find_sweep(path);
    check_stepped_report(path);
    check_optuna_file(tmp);
    check_identity(tmp);
    check_damaged_files(tmp);
    check_lock_outlasted(tmp);
    return test_finish();
}
