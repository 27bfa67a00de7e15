/* scheduler: `vaesearch run`'s engine. It turns a search space into trials, gives each
 * a slot (a GPU group, or a CPU slot), runs vaecf-train for it with CUDA_VISIBLE_DEVICES
 * set to the group, follows the trainer's JSON lines as they come (every epoch into the
 * database at once, pruning decisions after each validated epoch), and records how each
 * attempt ended. It resumes what an earlier run left, and stops cleanly on Ctrl-C. */
#ifndef VS_SCHEDULER_H
#define VS_SCHEDULER_H

#include <stdio.h>

#include "common/vs_error.h"

#define VS_MAX_GPUS 64

struct vs_db;
struct vs_space;

typedef struct vs_run_opts {
    const char *space_path;
    const char *db_path;        /* results.db */
    const char *trainer;        /* NULL: vaecf-train beside this program, else on PATH */
    const char *runs_dir;       /* where a new sweep's run folder goes; NULL: "runs" beside the database */
    int n_gpus;                 /* with gpus_given: the --gpus list; else detected */
    int gpus[VS_MAX_GPUS];
    int gpus_given;
    int jobs;                   /* CPU slots when there is no GPU (default 1; under Slurm 0: one a node) */
    int launcher;               /* VS_LAUNCHER_LOCAL (default) or VS_LAUNCHER_SLURM (launcher.h) */
    int nodes_per_trial;        /* under Slurm, nodes a trial spans (0: as its GPUs need, else 1) */
    const char *device;         /* NULL: cuda when there are GPUs, else cpu */
    int threads;                /* CPU threads per trial (0: cores / slots) */
    double trial_timeout;       /* seconds; overrides the space's when > 0 */
    int live;                   /* 1: one live progress line (a terminal); 0: a line per event */
    int retry_failed;           /* 1: re-queue every FAILed trial's parameters before proposing more */
    int max_consecutive_failures; /* stop after this many trials in a row fail for the same reason (0: never) */
    int keep_states;            /* 1: an ended trial keeps its state.safetensors (removed by default) */
    FILE *out;                  /* progress */
    /* Where a command builds the sweep itself (vaesearch confirm, confirm.h): */
    const char *space_json;     /* the space as JSON text, read in place of space_path's file (which then only
                                   names it in messages); NULL: the file */
    const char *dataset;        /* the dataset file, in place of the space's path; NULL: the space's */
    /* Called once the run owns the sweep and before it reads the sweep's trials, to record
     * trials for it to run: 0, or -1 with err (the run records nothing more). NULL: none. */
    int (*before_trials)(struct vs_db *db, int study_id, const struct vs_space *s, void *ctx, vs_error *err);
    void *before_trials_ctx;
} vs_run_opts;

/* Exit statuses of `vaesearch run`. */
enum { VS_RUN_DONE = 0, VS_RUN_FAILED = 1, VS_RUN_BAD_INPUT = 2, VS_RUN_INTERRUPTED = 3 };

/* Runs (or resumes) the sweep; returns one of the statuses above, err set unless DONE.
 * Everything the run needs (the trainer, the GPUs asked for, the dataset) is checked
 * before the database is opened: a run that returns VS_RUN_BAD_INPUT records nothing.
 * VS_RUN_FAILED also when the run stopped on consecutive failures, or when every trial
 * that ended in this run failed. */
int vs_scheduler_run(const vs_run_opts *o, vs_error *err);

#endif
