/* scheduler_internal: what the scheduler's files share, and nothing outside orchestrator/
 * may use: the sweep being run, its running trainers (one per slot), and the functions
 * one stage's file needs from another's, below by file in the order of a sweep's life.
 * The calls run one way, with no circle between files: scheduler.c calls the stages; a
 * stage may call another (launch.c proposes through propose.c, trial_events.c asks it
 * for pruning verdicts) and the helpers at the end (trial_history.c, children.c,
 * progress.c); nothing calls back into scheduler.c. */
#ifndef VS_SCHEDULER_INTERNAL_H
#define VS_SCHEDULER_INTERNAL_H

#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "launcher.h"
#include "scheduler.h"
#include "trainer_output.h"
#include "common/vs_error.h"
#include "results/results_db.h"
#include "space/space.h"

/* The seconds between a trainer's progress lines inside a long epoch (--progress-every). */
#define PROGRESS_SECONDS 30
/* A trainer asked to stop (SIGTERM) is killed after this long. */
#define KILL_GRACE_SECONDS 20.0
/* A full disk is no fault of the trial: the trainer's error or last lines say so. */
#define NO_SPACE_TEXT "No space left on device"

/* ---- a running trainer ---- */

typedef struct child {
    int used;
    int trial_id, number, slot;
    vs_trial_process proc;
    vs_line_reader out, err;   /* the line being read from each pipe */
    vs_output_tail tail;
    double started, kill_at;
    int prune, timed_out, stopping, killed;
    int bad_output;   /* it printed an event it should not have: stopped, recorded FAIL */
    int last_epoch, epochs;   /* the last epoch seen, of how many (0 when unknown) */
    int last_validated_epoch;        /* the last epoch with a validation, 0 before the first */
    double progress;                 /* the trainer's last progress line: the fraction of epoch last_epoch + 1
                                        done (0 when none came since the last epoch line) */
    double last_value, best_value;   /* the metric after the last validated epoch, and the best */
    cJSON *done;
    char *error;
    char prune_reason[256];
    FILE *stderr_log;          /* the run folder's stderr.log, or NULL */
    char slurm_step[64];       /* "JOB.STEP" once the step has said so, or "" */
    char slurm_note[256];      /* Slurm's word on the step (launcher_slurm.c), or "" */
    int slurm_note_rank;       /* vs_slurm_note's rank of it: a banner outranks an error */
} child;

/* ---- the sweep being run ---- */

typedef struct sweep {
    const vs_run_opts *o;
    vs_space space;
    vs_db *db;
    int study_id;
    char dataset[4096], trainer[4096];
    char runs[4096];           /* where a new sweep's run folder goes: --runs-dir, else runs beside the database */
    char uid[33];              /* the sweep's identity (results_db.h, vs_db_sweep_home) */
    char db_folder[4096];      /* the database's folder, absolute: the paths results.db keeps are relative to it */
    char home[4096];           /* the sweep's run folder, absolute (run_folders.h); trial N runs in home/trial-N */
    char home_note[9000];      /* "run folder: ..." as the run says it */
    const char *device;
    int threads, window, n_slots, n_groups;
    char (*group_gpus)[256];   /* per group: "0,1" */
    child *children;           /* per slot */
    struct pollfd *poll_fds;   /* 2 a slot (a trainer's stdout and stderr) and the wake-up */
    child **poll_owner;        /* ... and whose each is (NULL: the wake-up) */
    int slurm;                 /* 1: trials are job steps of this Slurm allocation */
    vs_slurm_allocation allocation;
    vs_slurm_plan plan;
    char slots_note[600];      /* under Slurm, the allocation and the plan in words (slots.c) */
    char step_note[200];       /* ... and a step's shape: "1 node, 2 GPUs and 8 CPUs" */
    vs_db_trial *trials;       /* the history, by number: read once, then kept current */
    int n_trials, cap_trials;
    int64_t budget;
    int stopping, time_up;
    int disk_full;   /* a trainer found no space left on the device: start no more trials */
    double t0, last_heartbeat, last_live;
    int run_ended, run_failed;      /* trials that ended in this run, and how many of them FAILed */
    int fail_streak, fail_stop;     /* FAILs in a row with the same reason; stopped because of them */
    char fail_key[1200];            /* that reason with its numbers left out */
    char last_fail[1200];           /* the last FAIL's reason as recorded */
    vs_db_seed *seeds;              /* warm start: an earlier sweep's finished trials that fit */
    int n_seeds, n_unfit;           /* ... and how many did not fit this sweep */
    char unfit_why[1024];           /* why they did not, counted ("9 trained on another dataset, ...") */
    uint32_t dataset_fingerprint;   /* the dataset's (dataset.h), recorded with the sweep (vaesearch:dataset) */
    int64_t dataset_items, dataset_train_users;
    double ended_seconds;      /* trainer time of the attempts that ended in this run (COMPLETE, PRUNED, FAIL) */
    int ended_count;
} sweep;

/* Trials per state (those this sweep ran; history, seeds and trials Optuna added, apart),
 * and the best COMPLETE trial of them all (NULL when none). */
typedef struct tally {
    int complete, pruned, failed, waiting, history;
    const vs_db_trial *best;
} tally;

/* Seconds on the monotonic clock. */
static inline double sched_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* o[key] as a number; NaN when it is missing or not one. */
static inline double sched_json_num(const cJSON *o, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

/* ---- sweep_setup.c: what is checked before the database is opened ---- */

/* The trainer: --trainer, else vaecf-train beside this program, else on PATH. */
int sched_resolve_trainer(sweep *w);
int sched_check_trainer(const sweep *w, vs_error *err);
void sched_resolve_runs(sweep *w);
int sched_ensure_dataset(sweep *w, vs_error *err);

/* ---- slots.c: the slots and their GPUs ---- */

/* The slots, their GPU groups or Slurm steps, the threads a trial and the window. */
int sched_setup_slots(sweep *w, vs_error *err);
/* CUDA_VISIBLE_DEVICES of slot s ("0,1"), or NULL without GPU groups. */
const char *sched_slot_gpus(const sweep *w, int s);

/* ---- warm_start.c: an earlier sweep's trials as seeds ---- */

int sched_load_seeds(sweep *w, vs_error *err);
int sched_sweep_recorded(const sweep *w);
int sched_record_seeds(sweep *w, vs_error *err);
/* The sweep's dataset, as a study system attribute vaesearch:dataset ({fingerprint, items,
 * train_users}): what a later warm start from this sweep compares its own with. */
int sched_record_dataset(sweep *w, vs_error *err);

/* ---- propose.c: proposing trials, and pruning them ---- */

/* A trial that ended without this sweep running it (a warm-start seed, one Optuna's
 * add_trial wrote): history for the sampler, not counted in the budget. */
int sched_is_history(const vs_db_trial *t);
/* Proposals made so far, as the budget counts them: trials that are no retry, no history. */
int64_t sched_base_trials(const sweep *w);
int sched_propose(sweep *w, vs_error *err);
/* A WAITING trial with parameters missing (Optuna's enqueue_trial): the values its
 * fixed_params give, the others proposed as for a new trial of its number, all recorded
 * before it runs; of a conditional space, exactly those whose conditions hold on the
 * fixed and proposed values (the others absent). 0 done; 1 not yet (its reference set
 * has not ended); 2 refused, the trial FAILed saying why (a value the space cannot take,
 * a fixed value its conditions leave out); -1 err. */
int sched_complete_trial(sweep *w, vs_db_trial *t, vs_error *err);
int sched_prune_verdict(sweep *w, int number, int previous_epoch, int epoch, double value, double best);
/* The better of two objective values in the sweep's direction; NaN is neither. */
double sched_better_of(const sweep *w, double best, double v);
int sched_replay_pruning(sweep *w, const vs_db_trial *t);

/* ---- launch.c: the run folders, starting trials in free slots ---- */

/* The sweep's run folder: the one recorded, else claimed now (run_folders.h) and recorded. */
int sched_claim_home(sweep *w, vs_error *err);
/* An absolute path as results.db keeps it: relative to the database's folder (caller frees). */
char *sched_stored_path(const sweep *w, const char *abs);
int sched_fill_slots(sweep *w, vs_error *err);

/* ---- trial_events.c: a trainer's output lines ---- */

/* Waits up to a second for output from the trainers, or for wake_fd (a signal; drained),
 * and acts on every whole line; -1 with err when polling or recording failed. */
int sched_read_trainers(sweep *w, int wake_fd, vs_error *err);

/* ---- trial_end.c: how an attempt ended, retries ---- */

/* At time now: a trial past its timeout is asked to stop, one past its grace period is
 * killed, and each trainer whose output has closed is reaped and its attempt recorded. */
int sched_end_trials(sweep *w, double now, vs_error *err);
/* A trial that cannot start (its run folder is another's, its parameters do not fit):
 * FAIL with reason, counted and retried as a failure of its trainer would be. */
int sched_fail_unstarted(sweep *w, int trial_id, int number, const char *reason, vs_error *err);
/* An ended trial's resumable state is removed (unless --keep-states): it never resumes. */
void sched_drop_state(sweep *w, int number);
int sched_requeue_failed(sweep *w, vs_error *err);

/* ---- trial_history.c: the sweep's trials in memory, as results.db holds them ---- */

/* COMPLETE, PRUNED or FAIL. */
int sched_is_ended(const char *state);
int sched_reload(sweep *w, vs_error *err);
vs_db_trial *sched_trial_by_number(const sweep *w, int number);
int sched_refresh_trial(sweep *w, int trial_id, vs_error *err);
tally sched_count_trials(const sweep *w);

/* ---- children.c: the running trainers, one per slot ---- */

child *sched_running_child(sweep *w, int trial_id);
int sched_active_children(const sweep *w);
void sched_signal_trial(child *c, int sig);
/* SIGTERM asks each to save its state and stop (killed after a grace period); SIGKILL. */
void sched_stop_children(sweep *w, int sig);
void sched_child_free(child *c);

/* ---- progress.c: what the sweep tells the user ---- */

/* A line of progress (it clears the live line first). */
void sched_say(sweep *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "name=value ..." of a trial's searched parameters (caller frees). */
char *sched_params_text(const sweep *w, const double *values);
void sched_live_line(sweep *w);
void sched_summary(sweep *w);

#endif
