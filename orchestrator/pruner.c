/* pruner.c: the median and ASHA pruners of pruner.h. Both judge one value of the running
 * trial against the reference curves at the same epoch (median) or rung (ASHA), so a
 * decision depends only on (space, epochs, value, reference set) and is the same in
 * every run of the sweep.
 * docs/search-algorithms.md, "Samplers and pruners", states the rules:
 *   median  as Optuna's MedianPruner with the epoch as its step: epochs before
 *           pruner_warmup_epochs are never judged; a NaN value is pruned; with at least
 *           pruner_startup_trials reference values at this epoch, a value worse than
 *           their median is pruned;
 *   asha    as Optuna's SuccessiveHalvingPruner: a rung epoch min_epochs * eta^k is
 *           judged at the first epoch validated at or after it (with eval_every > 1 a
 *           rung may fall between validations); the trial continues when it is at least
 *           as good as the k-th best of the competing values (each reference's value at
 *           its first validated epoch at or after the rung, and its own),
 *           k = max(1, floor(count / eta)). */
#include "pruner.h"

#include <math.h>
#include <stdlib.h>

/* The value of a curve after `epoch` (1-based); NaN when it has none. */
static double curve_at(const vs_curve *c, int epoch) {
    if (!c->values || epoch < 1 || epoch > c->n_epochs) return NAN;
    return c->values[epoch - 1];
}

static int is_worse(double value, double than, int maximize) { return maximize ? value < than : value > than; }

static int compare_doubles(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The reference values at `epoch` (not NaN), in a new array; *count says how many. */
static double *reference_values(int epoch, const vs_curve *ref, int n_ref, int *count) {
    double *v = vs_xmalloc((size_t)(n_ref > 0 ? n_ref : 1) * sizeof *v);
    *count = 0;
    for (int i = 0; i < n_ref; i++) {
        double x = curve_at(&ref[i], epoch);
        if (!isnan(x)) v[(*count)++] = x;
    }
    return v;
}

static int median_should_prune(const vs_space *s, int epoch, double value, const vs_curve *ref, int n_ref) {
    /* Optuna's n_warmup_steps: no judgement while step < n_warmup_steps, and the
     * database's step is the epoch. */
    if (epoch < s->pruner_warmup_epochs) return 0;
    if (isnan(value)) return 1;   /* a diverged trial cannot come back */
    int n;
    double *v = reference_values(epoch, ref, n_ref, &n);
    int prune = 0;
    if (n > 0 && n >= s->pruner_startup_trials) {
        qsort(v, (size_t)n, sizeof *v, compare_doubles);
        /* numpy.percentile(v, 50): the middle value, or between the two middle ones. */
        double lower = v[(n - 1) / 2], upper = v[n / 2];
        double median = upper - (upper - lower) * 0.5;
        prune = !isnan(median) && is_worse(value, median, s->maximize);
    }
    free(v);
    return prune;
}

/* A reference's value at a rung: the value at its first validated epoch at or after the
 * rung, as Optuna's SuccessiveHalvingPruner records the value a trial reaches each rung
 * with. NaN when it validated none there. */
static double rung_value(const vs_curve *c, long long rung) {
    for (long long e = rung; e <= c->n_epochs; e++) {
        double x = curve_at(c, (int)e);
        if (!isnan(x)) return x;
    }
    return NAN;
}

/* Whether value is among the best max(1, floor(count / eta)) of the competing values
 * at this rung: the references' and its own. */
static int promoted(const vs_space *s, long long rung, double value, const vs_curve *ref, int n_ref, int eta) {
    int n = 0, better = 0;   /* references reaching the rung; those strictly better than this trial */
    for (int i = 0; i < n_ref; i++) {
        double x = rung_value(&ref[i], rung);
        if (isnan(x)) continue;
        n++;
        better += is_worse(value, x, s->maximize);
    }
    int keep = (n + 1) / eta;   /* the competing values include this trial's */
    if (keep < 1) keep = 1;
    return better < keep;
}

static int asha_should_prune(const vs_space *s, int previous_epoch, int epoch, double value, const vs_curve *ref,
                             int n_ref) {
    int min_epochs = s->asha_min_epochs > 1 ? s->asha_min_epochs : 1;
    int eta = s->asha_reduction_factor;
    if (eta < 2) return 0;
    /* Every rung passed since the last validation is judged now, on this value, in
     * order: the trial must be promoted through each. */
    for (long long rung = min_epochs; rung <= epoch; rung *= eta) {
        if (rung <= previous_epoch) continue;
        if (isnan(value)) return 1;
        if (!promoted(s, rung, value, ref, n_ref, eta)) return 1;
    }
    return 0;
}

int vs_pruner_should_prune(const vs_space *s, int previous_epoch, int epoch, double value, const vs_curve *reference,
                           int n_reference) {
    if (epoch < 1 || n_reference < 0 || (n_reference > 0 && !reference)) return 0;
    switch (s->pruner) {
    case VS_PRUNER_MEDIAN: return median_should_prune(s, epoch, value, reference, n_reference);
    case VS_PRUNER_ASHA: return asha_should_prune(s, previous_epoch, epoch, value, reference, n_reference);
    case VS_PRUNER_NONE: return 0;
    }
    return 0;
}
