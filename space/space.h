/* space: a sweep's search space, read from JSON (docs/search-space.md) and checked
 * completely before anything runs. Every mistake is reported with the JSON path of
 * the culprit ("space.json: parameters.lr.low: must be > 0 for a log-uniform").
 * A parameter names a trainer config key (config.h); a trial's config is the space's
 * fixed settings plus one value per parameter. */
#ifndef VS_SPACE_H
#define VS_SPACE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/vs_error.h"

typedef enum vs_param_kind {
    VS_PARAM_UNIFORM,      /* float in [low, high], optional step */
    VS_PARAM_LOG_UNIFORM,  /* float in [low, high], log scale, low > 0 */
    VS_PARAM_INT,          /* integer in [low, high] with step (>= 1), optionally log */
    VS_PARAM_CATEGORICAL,  /* one of choices (JSON values: numbers, strings, lists) */
    VS_PARAM_CONSTANT,     /* always value */
} vs_param_kind;

/* A condition of a parameter: it is present only when parameter `parent` is present and
 * holds one of `values` (internal values, in increasing order). */
typedef struct vs_cond {
    int parent;            /* index in vs_space.params */
    int n_values;
    double *values;
} vs_cond;

typedef struct vs_param {
    char *name;            /* the trainer config key; "key[i]": element i of a list key; or a switch (below) */
    vs_param_kind kind;
    double low, high;      /* UNIFORM, LOG_UNIFORM, INT */
    double step;           /* UNIFORM: 0 = continuous; INT: >= 1 */
    int log;               /* INT with log scale (LOG_UNIFORM is always log) */
    int n_choices;
    cJSON **choices;       /* CATEGORICAL: owned copies */
    cJSON *value;          /* CONSTANT: owned copy */
    int n_when;            /* "when": present only when every condition holds (0: always present) */
    vs_cond *when;
    cJSON *otherwise;      /* "else": the trainer's value while absent (owned), or NULL: the trainer's default */
    int list_index;        /* element list_index of the list key list_key ("hidden_dims[1]"), or -1 */
    char *list_key;
    int is_switch;         /* not a trainer key: named by other parameters' conditions, never given to the trainer */
} vs_param;

typedef enum vs_sampler_kind { VS_SAMPLER_GRID, VS_SAMPLER_RANDOM, VS_SAMPLER_TPE } vs_sampler_kind;
/* TPE's variants ("sampler": {"multivariate": false | true | "optuna"}, docs/search-algorithms.md):
 * univariate, as Optuna's TPESampler(multivariate=False); vaesearch's multivariate; and
 * Optuna's multivariate exactly, TPESampler(multivariate=True, group=True). */
enum { VS_TPE_UNIVARIATE = 0, VS_TPE_MULTIVARIATE = 1, VS_TPE_OPTUNA = 2 };
typedef enum vs_pruner_kind { VS_PRUNER_NONE, VS_PRUNER_MEDIAN, VS_PRUNER_ASHA } vs_pruner_kind;

typedef struct vs_space {
    char *name;                 /* the sweep (an Optuna study name) */
    char *description;          /* what the sweep is for, or NULL (not part of the canonical form) */
    char *dataset;              /* path of the .vsds file; a relative path is relative to the space file's folder */
    char *dataset_synth;        /* instead of a path, {"synth": "small"}: a generated dataset (vaesearch synth's
                                   presets), made on first use beside the results database; NULL otherwise */
    char *metric;               /* "ndcg@100", "recall@20" or "recall@50" (validation) */
    int maximize;               /* direction: 1 maximize (default), 0 minimize */

    vs_sampler_kind sampler;
    uint64_t seed;
    int tpe_startup_trials;     /* random trials before TPE models the history (default 10) */
    int tpe_candidates;         /* candidates scored by expected improvement (default 24) */
    int tpe_multivariate;       /* VS_TPE_MULTIVARIATE (default), VS_TPE_UNIVARIATE or VS_TPE_OPTUNA */
    int tpe_multivariate_given; /* the file sets sampler.multivariate (else it is the default) */
    int tpe_multivariate_kept;  /* univariate kept for a sweep stored before the key existed
                                   (vs_space_keep_stored_defaults): the canonical form leaves it out */

    int n_trials;               /* budget: trials to finish (COMPLETE or PRUNED); grid: at most the grid's size */
    double max_seconds;         /* budget: wall time of `run` (0 = none) */

    int gpus_per_trial;         /* default 1 */
    int trials_per_gpu;         /* default 1 */
    int max_retries;            /* re-queue a FAILed trial's parameters up to this many times (default 0) */
    int window;                 /* trial n is proposed (and judged by the pruner) from trials numbered
                                   < n - window, which must have ended; 0 = 2 x the parallel slots */
    double trial_timeout;       /* seconds (0 = none) */

    vs_pruner_kind pruner;
    int pruner_startup_trials;  /* median: finished trials needed before pruning (default 5) */
    int pruner_warmup_epochs;   /* median: epochs before a trial can be pruned (default 5) */
    int asha_min_epochs;        /* asha: first rung (default 1) */
    int asha_reduction_factor;  /* asha: keep the top 1/eta at each rung (default 3) */

    cJSON *fixed;               /* trainer config keys applied to every trial (owned) */
    int n_params;
    vs_param *params;
    int has_conditions;         /* some parameter has a "when" */

    char *canonical;            /* the whole space as canonical JSON, to detect a changed space */
    char *source_path;

    char *warm_start_db;        /* warm_start.db: an earlier results database (relative: to the space file's
                                   folder) whose finished trials seed this sweep's sampler; NULL when none */
    char *warm_start_sweep;     /* warm_start.sweep: its sweep; NULL: the only one in that file */
    int warm_start_any_setup;   /* warm_start.match "parameters": seeds of another dataset or other settings are
                                   taken too (default "setup": only those of the same dataset and settings) */
} vs_space;

/* Reads and validates path. On error nothing is allocated and err holds
 * "path: json.path: what is wrong". */
int vs_space_load(const char *path, vs_space *out, vs_error *err);
/* The same from a JSON text; `source` names it in messages. */
int vs_space_parse(const char *json, const char *source, vs_space *out, vs_error *err);
void vs_space_free(vs_space *s);

/* The number of points of a grid (every parameter must be CATEGORICAL, CONSTANT, INT, or
 * UNIFORM with a step): with conditions, only the combinations they allow, each once;
 * 0 with err set when the space cannot be a grid. */
int64_t vs_space_grid_size(const vs_space *s, vs_error *err);

/* A trial's parameters are kept as one double each ("internal" values, as Optuna stores
 * them in trial_params.param_value): the number itself for UNIFORM, LOG_UNIFORM, INT;
 * the choice's index for CATEGORICAL; 0 for CONSTANT; NaN for a parameter that its
 * conditions leave out of the trial (absent: no trial_params row, as in Optuna). */

/* Which parameters are present for these values: present[p] is 1 when every condition of
 * p holds (each parent present, with one of the condition's values), else 0. */
void vs_space_presence(const vs_space *s, const double *values, int *present);
/* The same where some values are not known yet (unknown[p] set: a value missing from a
 * trial, to be proposed): present[p] is 1, 0, or -1 where a condition of p hangs on an
 * unknown value (a parent that is absent still makes p absent). */
void vs_space_presence_partial(const vs_space *s, const double *values, const char *unknown, int *present);
/* Sets every parameter its conditions leave out to NaN (absent). */
void vs_space_drop_absent(const vs_space *s, double *values);
/* The first parameter whose presence disagrees with its conditions (a value while they
 * leave it out, or NaN while they hold), or -1 when none does. */
int vs_space_presence_mismatch(const vs_space *s, const double *values);
/* Point `point` (0 <= point < vs_space_grid_size) of the grid: the points are the
 * combinations of values of the present parameters (docs/search-algorithms.md, "Grid"). */
int vs_space_grid_point(const vs_space *s, int64_t point, double *values, vs_error *err);

/* The value of the grid low, low + step, ... nearest v, as the double nearest that
 * decimal (0.1 + 2 x 0.1 is 0.3, not 0.30000000000000004): stepped values stay on their
 * grid in the database and print as the decimals they are. */
double vs_step_on_grid(double low, double step, double v);
/* v on p's grid: a stepped uniform by vs_step_on_grid, an int rounded; others as they are. */
double vs_param_on_grid(const vs_param *p, double v);
/* The JSON value of parameter p for internal value v (caller deletes). */
cJSON *vs_param_json_value(const vs_param *p, double v);
/* Optuna's distribution_json for p (caller frees): FloatDistribution, IntDistribution or
 * CategoricalDistribution exactly as Optuna writes them. */
char *vs_param_distribution_json(const vs_param *p);
/* The trial's trainer config: fixed settings, then every parameter present (an absent one
 * with an "else" gives that value), the elements of a list key as one list, switches left
 * out (caller deletes); NULL when a value is not one its parameter takes. */
cJSON *vs_space_trial_config(const vs_space *s, const double *values);
/* Lists how two spaces differ, as "parameters.lr.high: 0.01 -> 0.02; ..." (caller frees);
 * NULL when they are the same. A form stored before TPE had "multivariate" reads as
 * "multivariate": false (univariate, as that vaesearch was). */
char *vs_space_diff(const char *canonical_a, const char *canonical_b);
/* A sweep stored before TPE had "multivariate" (stored_canonical without the key) began
 * univariate, and the default is now multivariate: when the file does not set
 * sampler.multivariate, s keeps univariate, with a canonical form that leaves the key
 * out as the stored one does (so resuming again keeps it too), and 1 is returned for the
 * caller to say so; else 0 and s as it was. A value the file sets is the file's: one that
 * differs from the stored form is a change (vs_space_diff). */
int vs_space_keep_stored_defaults(vs_space *s, const char *stored_canonical);
/* Whether name can name a sweep: VS_SPACE_NAME_RULE. */
#define VS_SPACE_NAME_RULE "use letters, digits, '.', '_' and '-' (not first), at most 100 characters"
int vs_space_name_ok(const char *name);
/* 1 when two canonical spaces differ at most in their budget (a sweep may grow or
 * shrink and go on with its trials and history), else 0. */
int vs_space_budget_only_change(const char *canonical_a, const char *canonical_b);
/* The internal value of p for a JSON value (a trial of another sweep): 0 and *out when
 * the value is one p can take (in range, on its step, one of its choices), else -1. */
int vs_param_internal_value(const vs_param *p, const cJSON *value, double *out);

#endif
