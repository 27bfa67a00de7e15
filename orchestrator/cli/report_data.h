/* report_data: a sweep as `vaesearch report` draws it, read from results.db in one go:
 * the sweep and its trials as top, status and show read them (vs_db_sweep_json,
 * vs_db_trials_json), the space stored with the sweep, and, a query each for the whole
 * study (results_report.h), its objectives, their values and every trial's curve; and
 * what is derived from them: states, the best trial, the Pareto front, the sweep's wall
 * time. */
#ifndef VS_REPORT_DATA_H
#define VS_REPORT_DATA_H

#include <cjson/cJSON.h>

#include "results/results_db.h"
#include "results/results_report.h"
#include "space/space.h"
#include "trainer/metrics.h"

/* Trial states, in the order the page lists them (Optuna's names: report_state_names). */
enum report_state { RS_COMPLETE, RS_PRUNED, RS_FAIL, RS_WAITING, RS_RUNNING, RS_COUNT };
extern const char *const report_state_names[RS_COUNT];

typedef struct report_trial {
    int number;
    int state;                /* enum report_state */
    const cJSON *json;        /* the trial as vs_db_trials_json gives it (params, user_attrs, ...) */
    double *values;           /* one per objective, NaN where there is none */
    double *params;           /* the space's parameters' values, a categorical's as the index of
                                 its choice; NaN where the trial has none the space can take, or
                                 none at all (absent: its conditions left it out) */
    double *curve;            /* curve[e - 1]: the intermediate value at epoch e, NaN where none */
    int n_epochs;
    double users_per_s;       /* training users per second (COMPLETE), or NaN */
    int on_front;             /* on the Pareto front of the objectives (several objectives) */
} report_trial;

typedef struct report_baseline {
    int known;                /* the dataset was read */
    char note[1200];           /* where it came from, or why it is missing */
    vs_metrics val, test;     /* the popularity ranking's metrics */
    long long train_users, val_users, test_users, items, interactions;
} report_baseline;

typedef struct report {
    char db_path[4096];
    cJSON *sweep;             /* vs_db_sweep_json */
    cJSON *trials;            /* vs_db_trials_json, every trial */
    cJSON *study_attrs;       /* the study's user attributes (dataset, description) */
    vs_space space;           /* the stored space, parsed */
    int has_space;
    vs_db_objective *objectives;
    int n_objectives;
    report_trial *t;          /* by number */
    int n;
    int counts[RS_COUNT];
    int best;                 /* index in t of the best COMPLETE trial by objective 0, or -1 */
    int n_front;              /* trials on the Pareto front (several objectives) */
    double wall_seconds;      /* first trial's start to the last one's end (now while one runs), or NaN */
    char first_start[32], last_end[32];
    double trainer_seconds;   /* the trainers' time over every trial and attempt */
    report_baseline baseline;
    /* storage behind t */
    double *values, *params, *curves;
} report;

/* Reads the sweep (name NULL: the only one in the file) from db_path into r. Returns 0, or
 * the exit status after the message, as `top` does: 2 for a missing database or sweep, 1
 * for one that cannot be read. */
int report_load(report *r, const char *db_path, const char *sweep_name);
void report_free(report *r);

/* The sweep's objective metric ("ndcg@100") and the best trial's JSON, or NULL. */
const char *report_metric(const report *r);
const cJSON *report_best_json(const report *r);
/* The stored space's "parameters" (in the space's order, as top lists them), or NULL. */
const cJSON *report_space_params(const report *r);

#endif
