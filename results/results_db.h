/* results_db: results.db, in SQLite (WAL, a busy timeout, every change in a
 * transaction), written in Optuna's own RDB schema so that optuna-dashboard, the optuna
 * CLI and optuna.load_study read it unchanged; vaesearch's own tables (prefix vs_) and
 * views sit beside them. The schema is results/schema.sql, documented in
 * docs/results-db.md. A sweep is a study; a trial's objective (the validation metric of
 * its best epoch) is its value; the per-epoch validation metric is its intermediate
 * value at step = epoch; the other metrics, throughput, GPUs and timings are user
 * attributes. */
#ifndef VS_RESULTS_DB_H
#define VS_RESULTS_DB_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/vs_error.h"
#include "space/space.h"

typedef struct vs_db vs_db;

/* Opens (creating the schema in a new file) path. */
int vs_db_open(const char *path, vs_db **out, vs_error *err);
/* How long one attempt at the write lock waits for another writer (10 s when opened);
 * a writer that gives up tries again, said on stderr, so a sweep outlasts any lock. */
void vs_db_set_busy_timeout(vs_db *db, int ms);
void vs_db_close(vs_db *db);

/* The study named s->name: found, or created with its direction and the space (canonical
 * JSON) in vs_sweeps. A stored space that differs from s is refused, err saying what
 * changed (vs_space_diff), unless only its budget changed: then s replaces it (the sweep
 * grows or shrinks and keeps its trials). *created tells which. */
int vs_db_open_sweep(vs_db *db, const vs_space *s, int *study_id, int *created, vs_error *err);
/* The stored space (canonical JSON text, caller frees) of the sweep named name, into
 * *canonical; NULL when there is no such sweep. Read before vs_db_open_sweep so that a
 * space can keep what an older sweep began with (vs_space_keep_stored_defaults). */
int vs_db_stored_space(vs_db *db, const char *name, char **canonical, vs_error *err);

/* A sweep's identity: uid, 32 random hex digits that vs_db_open_sweep gives every sweep
 * (an older file's too), never reused (a deleted sweep's name starts a sweep with another
 * uid); and its run folder as recorded, relative to the database's folder (or absolute),
 * *runs_dir NULL until a run has chosen it (caller frees). Run folders carry the uid, so
 * that a sweep never takes another's saved states for its own (docs/results-db.md). */
int vs_db_sweep_home(vs_db *db, int study_id, char uid[33], char **runs_dir, vs_error *err);
/* Records the sweep's run folder (relative to the database's folder, or absolute). */
int vs_db_set_sweep_runs_dir(vs_db *db, int study_id, const char *runs_dir, vs_error *err);
/* Sets (or replaces) a study system attribute to a JSON value: vaesearch's own facts
 * about a sweep that Optuna has no place for (key "vaesearch:dataset"). */
int vs_db_set_sweep_system_attr(vs_db *db, int study_id, const char *key, const cJSON *value, vs_error *err);

/* One live `vaesearch run` per sweep: records this process (pid, host, start, heartbeat)
 * as the owner, unless the recorded owner is alive: same host and its pid exists and its
 * heartbeat is younger than stale_seconds, or another host with a heartbeat younger than
 * stale_seconds. The refusal names the pid and host. */
int vs_db_claim_sweep(vs_db *db, int study_id, double stale_seconds, vs_error *err);
/* Refreshes the owner's heartbeat and the trial_heartbeats of its RUNNING trials. */
int vs_db_heartbeat(vs_db *db, int study_id, vs_error *err);
/* Clears the owner (a clean exit). */
int vs_db_release_sweep(vs_db *db, int study_id, vs_error *err);

/* A trial as the scheduler needs it. */
typedef struct vs_db_trial {
    int trial_id, number;
    char state[12];           /* RUNNING, WAITING, COMPLETE, PRUNED, FAIL (Optuna's names) */
    double *values;           /* n_params internal values (space.h); NaN where absent (its conditions leave it
                                 out: no row) or where missing is set */
    char *missing;            /* n_params flags, 1 where results.db has no value for a parameter the trial needs
                                 or may need (its conditions hold, or hang on a missing value): a trial Optuna
                                 enqueued or added with some left out; NULL when none is missing */
    int has_value;
    double value;             /* COMPLETE: the objective; PRUNED: the last intermediate value */
    int n_epochs;
    double *curve;            /* curve[e - 1]: intermediate value at epoch e, NAN where none */
    int retry_of;             /* number of the FAILed trial whose parameters this repeats, or -1 */
    char *out_dir;            /* the trainer's run folder of the last attempt, or NULL */
    int64_t attempts;         /* its vs_trial_runs rows: 0 for a trial that ended without vaesearch running it
                                 (a warm-start seed, one Optuna's add_trial wrote) */
    char *fixed_params;       /* a WAITING trial with missing values: Optuna's enqueue_trial's system attribute
                                 fixed_params (JSON text, the values it fixes by name), or NULL */
} vs_db_trial;

/* Every trial of the study, by number. */
int vs_db_load_trials(vs_db *db, int study_id, const vs_space *s, vs_db_trial **out, int *n, vs_error *err);
void vs_db_free_trials(vs_db_trial *t, int n);
/* One trial, by trial_id, as vs_db_load_trials reads it: what the scheduler reads back
 * after each change, so that it never reloads the whole history. */
int vs_db_load_trial(vs_db *db, int trial_id, const vs_space *s, vs_db_trial *out, vs_error *err);
/* Frees what n trials hold, not the array. */
void vs_db_free_trials_content(vs_db_trial *t, int n);

/* Creates trial number = (largest number so far) + 1 in state WAITING with its parameters
 * (trial_params with Optuna's distribution_json). */
int vs_db_create_trial(vs_db *db, int study_id, const vs_space *s, const double *values, int retry_of, int *trial_id,
                       int *number, vs_error *err);

/* Records the parameters a WAITING trial has no value for (one Optuna enqueued with some
 * left out): values[i] for each such one, none where values[i] is NaN (absent); those
 * recorded already stay. values must agree with the space's conditions (vs_db_create_trial's
 * check). */
int vs_db_fill_trial_params(vs_db *db, int trial_id, const vs_space *s, const double *values, vs_error *err);

/* RUNNING: datetime_start (kept from an earlier attempt), a vs_trial_runs row (pid, host,
 * gpus, out_dir, start), user attribute "gpus". */
int vs_db_trial_started(vs_db *db, int trial_id, int pid, const char *gpus, const char *out_dir, vs_error *err);

/* One "epoch" event of the trainer (trainer.md): a vs_epochs row; when it carries "val",
 * val[metric] becomes the intermediate value at step = epoch. */
int vs_db_trial_epoch(vs_db *db, int trial_id, const char *metric, const cJSON *epoch_event, vs_error *err);

/* The end of an attempt, recorded in vs_trial_runs (exit status, reason, last output lines):
 *   COMPLETE  done_event is the trainer's "done" line: value = val[metric], user attributes
 *             val_/test_ metrics, best_epoch, train_users_per_s, seconds;
 *   PRUNED    value = the last intermediate value;
 *   FAIL      user attribute fail_reason = reason;
 *   WAITING   stopped (Ctrl-C) with a resumable state: the next run continues it.
 * datetime_complete is set for the first three. */
int vs_db_trial_finished(vs_db *db, int trial_id, const char *state, const cJSON *done_event, const char *metric,
                         int exit_status, const char *reason, const char *output_tail, vs_error *err);

/* Sets (or replaces) a user attribute of a trial to a JSON value. */
int vs_db_set_user_attr(vs_db *db, int trial_id, const char *key, const cJSON *value, vs_error *err);

/* Several trials ended at once: with defer set, vs_db_trial_finished commits without
 * waiting for the disk; the first end recorded after it is cleared waits for the disk
 * once for all of them (a sync of the log covers every commit before it). For a batch
 * of ends: defer for all but the last. A power cut can lose the deferred ends only
 * while that last one is still being recorded. */
void vs_db_defer_end_sync(vs_db *db, int defer);

/* Trials left RUNNING by an owner that is gone become WAITING again (they continue from
 * their trainer's last state). Returns how many through *n. */
int vs_db_requeue_orphans(vs_db *db, int study_id, int *n, vs_error *err);

/* Notes on the functions above, as results_db.c implements them:
 *   - vs_db_heartbeat and vs_db_requeue_orphans refuse unless this process owns the sweep
 *     (vs_db_claim_sweep first): a run that lost its sweep to another learns so.
 *   - vs_db_trial_started takes a WAITING trial only; vs_db_trial_epoch,
 *     vs_db_trial_finished refuse a trial that has ended (COMPLETE, PRUNED, FAIL).
 *   - vs_db_trial_finished: exit_status < 0 is stored as NULL (unknown). COMPLETE with a
 *     done_event that has no number at val[metric] is recorded as FAIL, fail_reason saying
 *     so (Optuna refuses a COMPLETE trial without a value). A trial that ends without an
 *     open attempt (it never started) gets one, started and ended now.
 *   - vs_db_trial_epoch: a "val" without a number at val[metric] stores Optuna's NAN. */

/* ---- Added for the read-only commands (top, status, show) and the tests. ---- */

/* The schema a new file gets: the text of results/schema.sql. */
const char *vs_db_schema_sql(void);

/* Opens an existing results.db without creating anything: a missing file, or one that is
 * not a vaesearch results database, is an error. For commands that only read. */
int vs_db_open_existing(const char *path, vs_db **out, vs_error *err);

/* The sweep named name, or with name NULL the only sweep in the file; the error lists the
 * sweeps when there are several, or names the one asked for when it is missing. */
int vs_db_find_sweep(vs_db *db, const char *name, int *study_id, vs_error *err);

/* The sweep as a JSON object (caller deletes): name, study_id, id (its uid, or null),
 * runs_dir (its run folder as recorded, or null), user_attrs and system_attrs (the
 * study's attributes, key -> JSON value), direction ("maximize" or
 * "minimize"), metric, n_trials, space (the stored space, parsed), created, counts
 * (trials per state: WAITING, RUNNING, COMPLETE, PRUNED, FAIL), and owner: null, or
 * {pid, host, started, heartbeat, heartbeat_age_s, alive}, where alive is the kill(pid, 0)
 * check on this host and null (unknown) for another host. NULL with err on failure. */
cJSON *vs_db_sweep_json(vs_db *db, int study_id, vs_error *err);

/* Trials as a JSON array ordered by number (caller deletes): every trial when number < 0,
 * else just that one (an empty array when there is none). Each object has number,
 * trial_id, state, value (a number, "inf"/"-inf", or null), datetime_start,
 * datetime_complete, params (name -> the JSON value), user_attrs, attempts (how many),
 * seconds (the trainer's running time over all attempts, up to now for a running one)
 * and latest_epoch (the last epoch row, or null). With detail, also curve (every epoch
 * row, with its intermediate value) and runs (every attempt: attempt, pid, host, gpus,
 * out_dir, started, ended, outcome, exit_status, reason, output_tail). Epoch rows name
 * their metrics as the trainer does: val_ndcg@100, val_recall@20, val_recall@50. */
cJSON *vs_db_trials_json(vs_db *db, int study_id, int number, int detail, vs_error *err);

/* ---- Growing and tidying sweeps (db_grow.c). ---- */

/* Deletes the sweep and everything recorded for it (its trials with their parameters,
 * values, epochs and attempts), as Optuna's delete_study does. Refused while a live
 * `vaesearch run` owns it. The trainers' run folders are not touched. */
int vs_db_delete_sweep(vs_db *db, int study_id, vs_error *err);
/* Renames the sweep (the study and the name in its stored space); refused when new_name
 * is taken or a live run owns it. */
int vs_db_rename_sweep(vs_db *db, int study_id, const char *new_name, vs_error *err);

/* A finished trial of another sweep, to seed this one (warm start). */
typedef struct vs_db_seed {
    double *values;          /* n_params internal values of this sweep's space, NaN where absent */
    int complete;            /* 1 COMPLETE, 0 PRUNED */
    double value;            /* its objective (COMPLETE) or last intermediate value (PRUNED) */
    char source[512];        /* "path:sweep#number", recorded as user attribute warm_start */
} vs_db_seed;

/* Records a seed as a trial already ended (its state and value, user attribute
 * warm_start naming where it came from); it is never run. */
int vs_db_add_seed_trial(vs_db *db, int study_id, const vs_space *s, const vs_db_seed *seed, vs_error *err);

#endif
