/* confirm_summary: what a confirmation found (confirm.h): per confirmed configuration,
 * its seeds done, pending and failed, the mean and standard deviation of each metric
 * over its seeds, its rank in the sweep it came from; the configurations ranked by the
 * mean; and whether the seeds separate the first two. Read from the JSON of
 * vs_db_sweep_json and vs_db_trials_json, for `vaesearch confirm`, `top --confirmed`
 * and `show`. */
#include "confirm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vs_error.h"

const char *const vs_confirm_metrics[VS_CONFIRM_N_METRICS] = {"val_ndcg@100",  "val_recall@20",  "val_recall@50",
                                                              "test_ndcg@100", "test_recall@20", "test_recall@50"};

static double number_of(const cJSON *v) { return cJSON_IsNumber(v) ? v->valuedouble : NAN; }

static const cJSON *user_attr(const cJSON *trial, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(trial, "user_attrs"), key);
}

static int trial_number(const cJSON *trial) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(trial, "number");
    return cJSON_IsNumber(n) ? n->valueint : -1;
}

static const char *trial_state(const cJSON *trial) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(trial, "state"));
    return s ? s : "";
}

static const cJSON *trial_numbered(const cJSON *trials, int number) {
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) if (trial_number(t) == number) return t;
    return NULL;
}

/* ---- the sweep's own ranking ---- */

typedef struct keyed {
    const cJSON *trial;
    double key;
    int number;
} keyed;

static int sort_descending;

static int by_key(const void *pa, const void *pb) {
    const keyed *a = pa, *b = pb;
    if (a->key != b->key) return (a->key > b->key) == sort_descending ? -1 : 1;
    return a->number - b->number;
}

static int maximizes(const cJSON *sweep) {
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sweep, "direction"));
    return !d || strcmp(d, "minimize");
}

int vs_confirm_rank_sweep(const cJSON *sweep, const cJSON *trials, const cJSON **ranked) {
    int n = 0;
    keyed *k = vs_xcalloc((size_t)cJSON_GetArraySize(trials) + 1, sizeof *k);
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        double v = number_of(cJSON_GetObjectItemCaseSensitive(t, "value"));
        if (strcmp(trial_state(t), "COMPLETE") || !isfinite(v)) continue;
        k[n++] = (keyed){t, v, trial_number(t)};
    }
    sort_descending = maximizes(sweep);
    qsort(k, (size_t)n, sizeof *k, by_key);
    for (int i = 0; i < n; i++) ranked[i] = k[i].trial;
    free(k);
    return n;
}

/* ---- a confirmation's trials ---- */

int vs_confirm_trial_link(const cJSON *trials, const cJSON *trial, int *source_number, int *seed_index) {
    /* A retry (retry_of) is recorded by the scheduler without the link: it stands for the
     * trial it repeats. The walk is bounded, so that a loop in a damaged file ends. */
    for (int steps = cJSON_GetArraySize(trials); trial && steps >= 0; steps--) {
        double of = number_of(user_attr(trial, "confirm_of")), index = number_of(user_attr(trial, "confirm_seed_index"));
        if (!isnan(of) && !isnan(index)) {
            *source_number = (int)of;
            *seed_index = (int)index;
            return 0;
        }
        double retry_of = number_of(user_attr(trial, "retry_of"));
        trial = isnan(retry_of) ? NULL : trial_numbered(trials, (int)retry_of);
    }
    return -1;
}

/* A seed of a configuration: done when one of its trials is COMPLETE, else pending while
 * one waits or runs, else failed. */
enum { SEED_FAILED, SEED_PENDING, SEED_DONE };

typedef struct seed_state {
    int index, state;
} seed_state;

typedef struct building {
    seed_state *seeds;
    int n_seeds;
    double *values[VS_CONFIRM_N_METRICS];   /* each COMPLETE trial's metrics */
    int n_values[VS_CONFIRM_N_METRICS];
} building;

static vs_confirm_config *config_for(vs_confirm_summary *s, building **b, int number, int *cap) {
    for (int i = 0; i < s->n; i++)
        if (s->configs[i].number == number) return &s->configs[i];
    if (s->n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        s->configs = vs_xrealloc(s->configs, sizeof *s->configs * (size_t)*cap);
        *b = vs_xrealloc(*b, sizeof **b * (size_t)*cap);
    }
    memset(&s->configs[s->n], 0, sizeof s->configs[s->n]);
    memset(&(*b)[s->n], 0, sizeof (*b)[s->n]);
    s->configs[s->n].number = number;
    return &s->configs[s->n++];
}

static void add_trial(vs_confirm_config *c, building *b, const cJSON *t, int index) {
    c->numbers = vs_xrealloc(c->numbers, sizeof *c->numbers * (size_t)(c->n_trials + 1));
    c->numbers[c->n_trials++] = trial_number(t);
    const char *st = trial_state(t);
    int state = !strcmp(st, "COMPLETE") ? SEED_DONE : !strcmp(st, "WAITING") || !strcmp(st, "RUNNING") ? SEED_PENDING
                                                                                                       : SEED_FAILED;
    int k = 0;
    while (k < b->n_seeds && b->seeds[k].index != index) k++;
    if (k == b->n_seeds) {
        b->seeds = vs_xrealloc(b->seeds, sizeof *b->seeds * (size_t)(b->n_seeds + 1));
        b->seeds[b->n_seeds++] = (seed_state){index, state};
    } else if (state > b->seeds[k].state) {
        b->seeds[k].state = state;
    }
    if (state != SEED_DONE) return;
    for (int m = 0; m < VS_CONFIRM_N_METRICS; m++) {
        double v = number_of(user_attr(t, vs_confirm_metrics[m]));
        if (!isfinite(v)) continue;
        b->values[m] = vs_xrealloc(b->values[m], sizeof(double) * (size_t)(b->n_values[m] + 1));
        b->values[m][b->n_values[m]++] = v;
    }
}

/* Mean, and the sample standard deviation (two passes: exact enough for metrics in [0, 1]). */
static vs_confirm_stat stat_of(const double *v, int n) {
    vs_confirm_stat s = {n, NAN, NAN};
    if (n == 0) return s;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    s.mean = sum / n;
    if (n < 2) return s;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = sqrt(ss / (n - 1));
    return s;
}

static int rank_metric;

/* By the mean of the ranking metric, best first; those without it last; then by original
 * rank (unranked last), then number. */
static int by_mean(const void *pa, const void *pb) {
    const vs_confirm_config *a = pa, *b = pb;
    double x = a->stat[rank_metric].mean, y = b->stat[rank_metric].mean;
    if (isnan(x) != isnan(y)) return isnan(x) ? 1 : -1;
    if (!isnan(x) && x != y) return (x > y) == sort_descending ? -1 : 1;
    int ra = a->original_rank ? a->original_rank : 1 << 30, rb = b->original_rank ? b->original_rank : 1 << 30;
    if (ra != rb) return ra - rb;
    return a->number - b->number;
}

double vs_confirm_t_needed(double df) {
    /* t(0.975, df) for df = 1..30, then 40, 60, 120 (Student's t table). */
    static const double upto30[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                    2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                    2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (!(df >= 1)) df = 1;
    if (df < 31) return upto30[(int)df - 1];
    return df < 40 ? 2.042 : df < 60 ? 2.021 : df < 120 ? 2.000 : df < 1e9 ? 1.980 : 1.960;
}

/* Welch's test of the first two configurations' means (vs_confirm_summary). */
static void verdict(vs_confirm_summary *s) {
    if (s->n < 2) return;
    const vs_confirm_stat *a = &s->configs[0].stat[s->metric], *b = &s->configs[1].stat[s->metric];
    if (a->n < 2 || b->n < 2) return;
    s->has_verdict = 1;
    double va = a->sd * a->sd / a->n, vb = b->sd * b->sd / b->n;
    s->gap = fabs(a->mean - b->mean);
    s->gap_se = sqrt(va + vb);
    /* Welch-Satterthwaite; with no spread at all, the pooled count. */
    s->df = va + vb > 0 ? (va + vb) * (va + vb) / (va * va / (a->n - 1) + vb * vb / (b->n - 1)) : a->n + b->n - 2;
    s->t_needed = vs_confirm_t_needed(s->df);
    s->separated = s->gap > s->t_needed * s->gap_se;
}

int vs_confirm_summarize(const cJSON *source_sweep, const cJSON *source_trials, const cJSON *trials, const char *metric,
                         vs_confirm_summary *out, vs_error *err) {
    memset(out, 0, sizeof *out);
    char objective[64];
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(source_sweep, "metric"));
    snprintf(objective, sizeof objective, "val_%s", m ? m : "ndcg@100");
    const char *want = metric ? metric : objective;
    out->metric = -1;
    for (int i = 0; i < VS_CONFIRM_N_METRICS; i++)
        if (!strcmp(want, vs_confirm_metrics[i])) out->metric = i;
    if (out->metric < 0) return vs_errorf(err, "'%s' is not a metric a confirmation summarises", want);
    out->descending = strcmp(want, objective) || maximizes(source_sweep);

    building *b = NULL;
    int cap = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, trials) {
        int number, index;
        if (vs_confirm_trial_link(trials, t, &number, &index)) continue;
        vs_confirm_config *c = config_for(out, &b, number, &cap);
        add_trial(c, &b[c - out->configs], t, index);
    }
    const cJSON **ranked = vs_xcalloc((size_t)cJSON_GetArraySize(source_trials) + 1, sizeof *ranked);
    int n_ranked = vs_confirm_rank_sweep(source_sweep, source_trials, ranked);
    for (int i = 0; i < out->n; i++) {
        vs_confirm_config *c = &out->configs[i];
        building *x = &b[i];
        for (int k = 0; k < x->n_seeds; k++) {
            c->complete += x->seeds[k].state == SEED_DONE;
            c->pending += x->seeds[k].state == SEED_PENDING;
            c->failed += x->seeds[k].state == SEED_FAILED;
        }
        for (int mi = 0; mi < VS_CONFIRM_N_METRICS; mi++) {
            c->stat[mi] = stat_of(x->values[mi], x->n_values[mi]);
            free(x->values[mi]);
        }
        free(x->seeds);
        c->trial = trial_numbered(source_trials, c->number);
        c->original_value = number_of(cJSON_GetObjectItemCaseSensitive(c->trial, "value"));
        for (int r = 0; r < n_ranked && !c->original_rank; r++)
            if (ranked[r] == c->trial) c->original_rank = r + 1;
    }
    free(ranked);
    free(b);
    rank_metric = out->metric;
    sort_descending = out->descending;
    if (out->n) qsort(out->configs, (size_t)out->n, sizeof *out->configs, by_mean);
    verdict(out);
    return 0;
}

void vs_confirm_summary_free(vs_confirm_summary *s) {
    for (int i = 0; i < s->n; i++) free(s->configs[i].numbers);
    free(s->configs);
    memset(s, 0, sizeof *s);
}

const vs_confirm_config *vs_confirm_find(const vs_confirm_summary *s, int number, int confirmation) {
    for (int i = 0; i < s->n; i++) {
        const vs_confirm_config *c = &s->configs[i];
        if (!confirmation && c->number == number) return c;
        for (int k = 0; confirmation && k < c->n_trials; k++)
            if (c->numbers[k] == number) return c;
    }
    return NULL;
}
