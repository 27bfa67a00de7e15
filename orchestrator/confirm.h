/* confirm: a sweep's winners confirmed on fresh training seeds (`vaesearch confirm`,
 * docs/search-space.md, "Confirming the winners"). A sweep's best trial by validation is
 * partly luck: the same configuration trained with another seed scores differently, by
 * about as much as the top trials of a sweep differ. A confirmation re-trains the K best
 * configurations of a sweep with N fresh seeds each, as the trials of a sweep of its
 * own (an Optuna study, `<sweep>-confirm` by default, linked to the sweep it confirms:
 * results/results_confirm.h), run by the scheduler on the same slots and launchers as
 * any sweep and resumed by running the same command again; then summarises, per
 * configuration, the mean and standard deviation of each metric over its seeds.
 *
 * The confirmation's space is the confirmed sweep's own, with the pruner off (a trial
 * must finish for its metrics to count), the trainer's `seed` a parameter, and a budget
 * of exactly the trials it records up front (K configurations x N seeds): its sampler is
 * never asked for a proposal. Fresh seed j (1, 2, ...) of a configuration whose trial
 * trained with seed s is vs_confirm_seed(s, j): never s, the same in every run, and the
 * same for every configuration that shared s (so configurations are compared on the same
 * draws). */
#ifndef VS_CONFIRM_H
#define VS_CONFIRM_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "scheduler.h"
#include "common/vs_error.h"

/* ---- the run (confirm.c) ---- */

typedef struct vs_confirm_opts {
    vs_run_opts run;          /* slots, launcher, trainer, database...: as `vaesearch run` takes them */
    const char *space_path;   /* the confirmed sweep's space file (its name, and its dataset's path), or NULL */
    const char *sweep;        /* the confirmed sweep by name, or NULL: the space's, else the only sweep in the file
                                 that is no confirmation */
    const char *name;         /* the confirmation's name; NULL: the existing one's, else `<sweep>-confirm` */
    const char *data;         /* the dataset file, where the one the sweep recorded is not found from here */
    int top, seeds;           /* K configurations, N fresh seeds each */
} vs_confirm_opts;

/* Fresh seed number index (1, 2, ...) for a configuration first trained with seed
 * original: (original + index) mod (2^53 + 1), within the trainer's seeds [0, 2^53]. */
uint64_t vs_confirm_seed(uint64_t original, int index);

/* Records the trials that the confirmation lacks (configurations that joined the top K,
 * seeds beyond those it has) and runs them, and any that an earlier run left, with the
 * scheduler; the confirmation's name goes to name. Returns a VS_RUN_ status
 * (scheduler.h): VS_RUN_BAD_INPUT, with nothing recorded, for a sweep that does not
 * exist or has no COMPLETE trial, a dataset that is not the sweep's, a name taken by
 * another sweep... */
int vs_confirm_run(const vs_confirm_opts *o, char *name, size_t name_size, vs_error *err);

/* ---- the summary (confirm_summary.c) ---- */

#define VS_CONFIRM_N_METRICS 6
/* The metrics summarised, as the trials' user attributes name them: val_ndcg@100,
 * val_recall@20, val_recall@50, test_ndcg@100, test_recall@20, test_recall@50. */
extern const char *const vs_confirm_metrics[VS_CONFIRM_N_METRICS];

typedef struct vs_confirm_stat {
    int n;             /* seeds with the metric */
    double mean, sd;   /* sd: the sample standard deviation (n - 1), NaN below 2 seeds; mean NaN at 0 */
} vs_confirm_stat;

typedef struct vs_confirm_config {
    int number;                 /* the confirmed trial, in the confirmed sweep */
    const cJSON *trial;         /* it (vs_db_trials_json's object), NULL when it is gone from that sweep */
    int original_rank;          /* its rank there now among the COMPLETE trials by the objective (1: the best), 0
                                   when it is no longer ranked */
    double original_value;      /* its objective there */
    int complete, failed, pending;   /* its confirmation's trials by state (a retry counts for the trial it repeats) */
    int n_trials;
    int *numbers;               /* the confirmation's trial numbers for it, in order */
    vs_confirm_stat stat[VS_CONFIRM_N_METRICS];
} vs_confirm_config;

typedef struct vs_confirm_summary {
    vs_confirm_config *configs;   /* ranked: by the mean of the ranking metric, best first; those without it last,
                                     by original rank */
    int n;
    int metric;                   /* the ranking metric, an index into vs_confirm_metrics */
    int descending;               /* 1: higher is better */
    /* Whether the seeds separate the first two, by Welch's t test at the 5% level (two
     * sided): their means' gap against its standard error se = sqrt(sd1^2/n1 + sd2^2/n2);
     * separated when gap > t_needed x se, t_needed the t distribution's 97.5% point at the
     * Welch-Satterthwaite degrees of freedom df (rounded down). Both need 2 seeds done
     * (has_verdict 0 otherwise). */
    int has_verdict, separated;
    double gap, gap_se, df, t_needed;
} vs_confirm_summary;

/* Summarises a confirmation: source_sweep and source_trials are the confirmed sweep and
 * its trials, trials the confirmation's (vs_db_sweep_json, vs_db_trials_json), metric the
 * attribute to rank by (NULL: the confirmed sweep's objective, in its direction; another
 * metric ranks higher first). The summary points into the JSON given: keep it while the
 * summary is used. 0, or -1 with err (a metric that is none of vs_confirm_metrics). */
int vs_confirm_summarize(const cJSON *source_sweep, const cJSON *source_trials, const cJSON *trials, const char *metric,
                         vs_confirm_summary *out, vs_error *err);
void vs_confirm_summary_free(vs_confirm_summary *s);
/* The t distribution's two-sided 5% critical value (its 97.5% point) at df degrees of
 * freedom, df rounded down (a standard table; 1.96 beyond it), so never too lenient. */
double vs_confirm_t_needed(double df);
/* The sweep's COMPLETE trials with a value, best first by its objective in its direction
 * (equal values in trial order), into ranked (room for every trial): how many. A trial's
 * rank there is its original rank. */
int vs_confirm_rank_sweep(const cJSON *sweep, const cJSON *trials, const cJSON **ranked);
/* The configuration of the summary whose confirmation includes trial `number` of the
 * confirmation (confirmation = 1) or that confirms trial `number` of the confirmed sweep
 * (confirmation = 0); NULL when none. */
const vs_confirm_config *vs_confirm_find(const vs_confirm_summary *s, int number, int confirmation);
/* The confirmed trial and fresh seed index a trial of the confirmation stands for (a
 * retry for the trial it repeats): 0, or -1 when it says neither (not recorded by
 * vaesearch confirm). */
int vs_confirm_trial_link(const cJSON *trials, const cJSON *trial, int *source_number, int *seed_index);

#endif
