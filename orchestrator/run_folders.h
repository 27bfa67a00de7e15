/* run_folders: where a sweep's trials run, and whose a folder is (docs/results-db.md,
 * "Run folders"). A sweep claims its run folder, runs/NAME by default (runs/NAME-2,
 * NAME-3, ... when that one is another sweep's), by creating it and writing sweep.json
 * with its uid (results_db.h, vs_db_sweep_home); each trial's folder in it, trial-N,
 * holds owner.json naming that uid and N. A trial runs and resumes only in a folder that
 * names it, so no sweep takes another's saved state for its own; `vaesearch delete`
 * removes only a folder whose sweep.json names the sweep. Paths that results.db keeps
 * (run folders, model files) are relative to the database's folder, so that they work
 * from any folder and move with the database. */
#ifndef VS_RUN_FOLDERS_H
#define VS_RUN_FOLDERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/vs_error.h"

#define VS_RUNS_SWEEP_FILE "sweep.json"
#define VS_RUNS_OWNER_FILE "owner.json"
#define VS_RUNS_STATE_FILE "state.safetensors"
#define VS_RUNS_MODEL_FILE "best.safetensors"

/* path made absolute (against the working folder) and tidied without touching the disk:
 * "." and empty parts dropped, ".." taking the part before it away. */
int vs_runs_absolute(const char *path, char *out, size_t n, vs_error *err);
/* The absolute folder of the database at db_path. */
int vs_runs_db_folder(const char *db_path, char *out, size_t n, vs_error *err);
/* A path as results.db keeps it, made one to open: an absolute one as it is, a
 * relative one under db_folder. */
void vs_runs_resolve(const char *db_folder, const char *stored, char *out, size_t n);
/* An absolute path as results.db keeps it: relative to db_folder when inside it. */
void vs_runs_relative(const char *db_folder, const char *abs, char *out, size_t n);

/* Whose folder is: 1 when its sweep.json names uid, 0 when it names another sweep
 * (whose uid goes to other) or there is none (other ""). */
int vs_runs_sweep_of(const char *folder, const char *uid, char other[64]);

/* Claims the sweep's run folder in parent (created when missing): the first of
 * parent/name, parent/name-2, ... that is this sweep's: created now, or naming uid in
 * its sweep.json; with adopt (a sweep of an older vaesearch whose trials ran in
 * parent/name) also parent/name without a sweep.json. Writes sweep.json (uid, name,
 * database db_abs); out gets the folder's absolute path. */
int vs_runs_claim(const char *parent, const char *name, const char *uid, const char *db_abs, int adopt, char *out,
                  size_t n, vs_error *err);
/* Makes trial number's folder home/trial-N ready for its trainer: created with its
 * owner.json, or found naming this sweep and trial; with adopt (the trial ran there
 * under an older vaesearch, before owner.json) also one without owner.json. 0 ready;
 * 1 refused: the folder holds another sweep's or trial's files, why says whose (they are
 * left as they are); -1 with err when it cannot be used at all (not a folder, a link). */
int vs_runs_trial_folder(const char *home, int number, const char *uid, int adopt, char *dir, size_t n, char *why,
                         size_t why_n, vs_error *err);

/* 1 when dir's owner.json names this sweep's trial number, else 0. */
int vs_runs_is_trials(const char *dir, const char *uid, int number);
/* Removes a trial's resumable state from its folder, and any temporary copy a killed
 * trainer left: the trial has ended and never resumes. */
int vs_runs_drop_state(const char *dir, vs_error *err);

/* The bytes path takes on the disk (its blocks; links are not followed). */
int vs_runs_disk_use(const char *path, int64_t *bytes, vs_error *err);
/* Removes folder and everything under it; links are removed, never followed. */
int vs_runs_remove(const char *folder, vs_error *err);

#endif
