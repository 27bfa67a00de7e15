/* sampler_tpe.c: the tree-structured Parzen estimator (Bergstra et al. 2011), univariate,
 * as Optuna 5's TPESampler(multivariate=False) computes it with its defaults (prior
 * weight 1, magic clip, no endpoints, gamma(n) = min(ceil(0.1 n), 25), the default
 * weights ramp) and its constant liar. docs/search-algorithms.md, "Samplers and
 * pruners", states every step; in short, for trial `number`:
 *   1. fewer than tpe_startup_trials finished (COMPLETE or PRUNED) trials: random;
 *   2. the finished trials are ranked (COMPLETE by value, then PRUNED by value) and the
 *      best gamma(n) form the "below" group; the rest and every PENDING trial (the
 *      constant liar) form the "above" group; both are put in trial-number order;
 *   3. per parameter, a Parzen estimator of each group: one truncated Gaussian per
 *      observation (log space for log parameters, discretised for stepped ones) plus
 *      a prior, or weighted choice counts for a categorical;
 *   4. tpe_candidates draws from l (the below estimator); the one maximising
 *      log l(x) - log g(x) is proposed.
 * Parameter p draws from vs_stream(seed, VS_RNG_SAMPLER, number, 1000 + p), so a
 * proposal is a pure function of (space, number, history), whatever order the history
 * comes in. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"
#include "common/pcg.h"

#define TPE_PRIOR_WEIGHT 1.0
#define TPE_GAMMA_CAP 25       /* default_gamma: at most 25 "below" trials */
#define TPE_FLAT_WEIGHTS 25    /* default_weights: the 25 newest observations weigh 1 */
#define TPE_STREAM_BASE 1000   /* stream key b of parameter p: 1000 + p */
#define LOG_SQRT_2PI 0.91893853320467274178
#define SQRT_HALF 0.70710678118654752440


/* ---------------------------------------------------------------- the normal distribution */

/* Phi(z), the standard normal CDF. */
static double ndtr(double z) { return 0.5 * erfc(-z * SQRT_HALF); }

/* log Phi(z), accurate in the far left tail where Phi underflows (asymptotic series
 * of the Mills ratio below z = -20, where its first terms are exact to 1e-13). */
static double log_ndtr(double z) {
    if (z > 5.0) return log1p(-0.5 * erfc(z * SQRT_HALF));
    if (z > -20.0) return log(ndtr(z));
    double r = 1.0 / (z * z);
    double series = 1.0 - r * (1.0 - 3.0 * r * (1.0 - 5.0 * r * (1.0 - 7.0 * r)));
    return -0.5 * z * z - log(-z) - LOG_SQRT_2PI + log(series);
}

/* log(Phi(b) - Phi(a)) for a <= b, computed on the side of zero where it does not
 * cancel: the mass of a far tail interval stays finite. */
static double log_gauss_mass(double a, double b) {
    if (!(a < b)) return -INFINITY;
    if (b <= 0.0) {
        double lb = log_ndtr(b), la = log_ndtr(a);
        return lb + log1p(-exp(la - lb));
    }
    if (a >= 0.0) return log_gauss_mass(-b, -a);
    /* a < 0 < b: one minus the two tails. */
    return log1p(-ndtr(a) - ndtr(-b));
}

/* Phi^-1(p) for p in (0, 1): Acklam's rational approximation (relative error 1.2e-9)
 * refined by one Halley step on erfc, which brings it to double precision. */
static double ndtri(double p) {
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01,  -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    const double p_low = 0.02425;
    double x;
    if (p <= 0.0) return -INFINITY;
    if (p >= 1.0) return INFINITY;
    if (p < p_low || p > 1.0 - p_low) {
        double q = sqrt(-2.0 * log(p < p_low ? p : 1.0 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        if (p > p_low) x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    double e = ndtr(x) - p;
    double u = e * 2.5066282746310002 * exp(0.5 * x * x);
    return x - u / (1.0 + 0.5 * x * u);
}

/* A standard normal truncated to [a, b], by inversion of the CDF at u in [0, 1). An
 * interval right of zero is mirrored so that the CDF is taken where it has precision. */
static double truncnorm_standard(double a, double b, double u) {
    if (a > 0.0) return -truncnorm_standard(-b, -a, u);
    double pa = ndtr(a), pb = ndtr(b);
    if (!(pb > pa)) return a + u * (b - a);   /* so far out that the mass underflows */
    double z = ndtri(pa + u * (pb - pa));
    return z < a ? a : z > b ? b : z;
}

/* ---------------------------------------------------------------- one parameter's domain */

/* Where a parameter's estimator lives: the "model" space is the log of the value for
 * log parameters; a stepped parameter's bounds are widened by half a step there, so
 * each grid value owns an interval of width step (in value space). */
typedef struct domain {
    const vs_param *p;
    int log, discrete;
    double lo, hi;   /* bounds in model space */
} domain;

static void domain_of(const vs_param *p, domain *d) {
    d->p = p;
    d->log = p->kind == VS_PARAM_LOG_UNIFORM || (p->kind == VS_PARAM_INT && p->log);
    d->discrete = p->kind == VS_PARAM_INT || (p->kind == VS_PARAM_UNIFORM && p->step > 0);
    double half = d->discrete ? p->step / 2 : 0.0;
    d->lo = p->low - half;
    d->hi = p->high + half;
    if (d->log) {
        d->lo = log(d->lo);
        d->hi = log(d->hi);
    }
}

/* A model-space point back to a value of the parameter. */
static double domain_value(const domain *d, double t) {
    const vs_param *p = d->p;
    double x = d->log ? exp(t) : t;
    if (d->discrete) x = p->low + rint((x - p->low) / p->step) * p->step;
    return vs_sampler_clamp(x, p->low, p->high);
}

/* ---------------------------------------------------------------- Parzen estimators */

/* A mixture: component k has weight w[k] (normalised); the prior is the last one.
 * Numeric: a Gaussian (mu[k], sigma[k]) truncated to [lo, hi] in model space.
 * Categorical: probabilities cat[k * n_choices + c]. */
typedef struct parzen {
    int n;
    double *w, *log_w;
    double *mu, *sigma;
    double *log_sigma, *log_mass;    /* log_mass: of [lo, hi], which the truncation renormalises */
    double *cat;
    int n_choices;
} parzen;

/* Optuna's default_weights(n): ones for up to 25 observations; beyond, the older ones
 * ramp linearly (numpy.linspace(1/n, 1, n - 25)) and the newest 25 weigh 1. */
static void default_weights(int n, double *w) {
    int ramp = n > TPE_FLAT_WEIGHTS ? n - TPE_FLAT_WEIGHTS : 0;
    if (ramp == 1) w[0] = 1.0 / n;
    if (ramp > 1) {
        double start = 1.0 / n, step = (1.0 - start) / (ramp - 1);
        for (int i = 0; i < ramp; i++) w[i] = start + i * step;
        w[ramp - 1] = 1.0;
    }
    for (int i = ramp; i < n; i++) w[i] = 1.0;
}

typedef struct sort_item {
    double key;
    int index;
} sort_item;

static int compare_sort_items(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Each observation's bandwidth: the larger gap to its neighbours among the sorted
 * observations and the bounds, except that the outermost two take their inner gap
 * (consider_endpoints off), clipped to [range / min(100, n + 2), range]. This is
 * Optuna 5's rule; Optuna 4 also counted the prior's centre as a neighbour. */
static void numeric_sigmas(const domain *d, const double *mus, int n_obs, double *sigmas) {
    if (n_obs == 0) return;
    sort_item *order = vs_xmalloc((size_t)n_obs * sizeof *order);
    double *s = vs_xmalloc((size_t)(n_obs + 2) * sizeof *s);
    for (int i = 0; i < n_obs; i++) order[i] = (sort_item){mus[i], i};
    qsort(order, (size_t)n_obs, sizeof *order, compare_sort_items);
    s[0] = d->lo;
    for (int i = 0; i < n_obs; i++) s[i + 1] = order[i].key;
    s[n_obs + 1] = d->hi;
    double range = d->hi - d->lo;
    double min_sigma = range / fmin(100.0, 1.0 + (n_obs + 1.0)), max_sigma = range;
    for (int i = 0; i < n_obs; i++) {
        double left = s[i + 1] - s[i], right = s[i + 2] - s[i + 1];
        double sigma = left > right ? left : right;
        if (n_obs >= 2 && i == 0) sigma = right;
        if (n_obs >= 2 && i == n_obs - 1) sigma = left;
        sigmas[order[i].index] = vs_sampler_clamp(sigma, min_sigma, max_sigma);
    }
    free(order);
    free(s);
}

/* Builds the estimator of one group: obs are the group's internal values of this
 * parameter, in trial-number order (which the weights ramp depends on). */
static void parzen_build(parzen *pe, const domain *d, const double *obs, int n_obs) {
    memset(pe, 0, sizeof *pe);
    pe->n = n_obs + 1;
    pe->w = vs_xmalloc((size_t)pe->n * sizeof *pe->w);
    pe->log_w = vs_xmalloc((size_t)pe->n * sizeof *pe->log_w);
    default_weights(n_obs, pe->w);
    pe->w[n_obs] = TPE_PRIOR_WEIGHT;
    double total = 0;
    for (int k = 0; k < pe->n; k++) total += pe->w[k];
    for (int k = 0; k < pe->n; k++) {
        pe->w[k] /= total;
        pe->log_w[k] = log(pe->w[k]);
    }

    const vs_param *p = d->p;
    if (p->kind == VS_PARAM_CATEGORICAL) {
        /* Every kernel spreads prior_weight / kernels over the choices; an observation's
         * kernel adds 1 on its choice; rows are normalised (the prior's row is uniform). */
        int c = p->n_choices;
        pe->n_choices = c;
        pe->cat = vs_xmalloc((size_t)pe->n * (size_t)c * sizeof *pe->cat);
        double base = TPE_PRIOR_WEIGHT / pe->n;
        for (int k = 0; k < pe->n; k++) {
            double *row = pe->cat + (size_t)k * c;
            for (int j = 0; j < c; j++) row[j] = base;
            if (k < n_obs) row[(int)obs[k]] += 1.0;
            double sum = 0;
            for (int j = 0; j < c; j++) sum += row[j];
            for (int j = 0; j < c; j++) row[j] /= sum;
        }
        return;
    }

    pe->mu = vs_xmalloc((size_t)pe->n * sizeof *pe->mu);
    pe->sigma = vs_xmalloc((size_t)pe->n * sizeof *pe->sigma);
    pe->log_sigma = vs_xmalloc((size_t)pe->n * sizeof *pe->log_sigma);
    pe->log_mass = vs_xmalloc((size_t)pe->n * sizeof *pe->log_mass);
    for (int k = 0; k < n_obs; k++) pe->mu[k] = d->log ? log(obs[k]) : obs[k];
    numeric_sigmas(d, pe->mu, n_obs, pe->sigma);
    pe->mu[n_obs] = 0.5 * (d->lo + d->hi);
    pe->sigma[n_obs] = d->hi - d->lo;
    for (int k = 0; k < pe->n; k++) {
        pe->log_sigma[k] = log(pe->sigma[k]);
        pe->log_mass[k] = log_gauss_mass((d->lo - pe->mu[k]) / pe->sigma[k], (d->hi - pe->mu[k]) / pe->sigma[k]);
    }
}

static void parzen_free(parzen *pe) {
    free(pe->w);
    free(pe->log_w);
    free(pe->mu);
    free(pe->sigma);
    free(pe->log_sigma);
    free(pe->log_mass);
    free(pe->cat);
}

/* The first index whose cumulative probability exceeds u (the last if rounding leaves
 * u above the total). */
static int pick_by_weight(const double *w, int n, double u) {
    double cum = 0;
    for (int k = 0; k < n - 1; k++) {
        cum += w[k];
        if (u < cum) return k;
    }
    return n - 1;
}

/* One draw from the mixture: two uniforms, the component's then the value's. */
static double parzen_sample(const parzen *pe, const domain *d, vs_pcg32 *g) {
    int k = pick_by_weight(pe->w, pe->n, vs_pcg32_unit_double(g));
    double u = vs_pcg32_unit_double(g);
    if (pe->cat) return (double)pick_by_weight(pe->cat + (size_t)k * pe->n_choices, pe->n_choices, u);
    double mu = pe->mu[k], sigma = pe->sigma[k];
    double z = truncnorm_standard((d->lo - mu) / sigma, (d->hi - mu) / sigma, u);
    return domain_value(d, vs_sampler_clamp(mu + sigma * z, d->lo, d->hi));
}

static double log_sum_exp(const double *x, int n) {
    double max = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    if (max == -INFINITY) return -INFINITY;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp(x[i] - max);
    return max + log(sum);
}

/* log of the mixture's density (continuous, in model space) or mass (stepped: the
 * probability of the value's interval of width step; categorical: of the choice). */
static double parzen_log_pdf(const parzen *pe, const domain *d, double x, double *scratch) {
    for (int k = 0; k < pe->n; k++) {
        double lp;
        if (pe->cat) {
            lp = log(pe->cat[(size_t)k * pe->n_choices + (int)x]);
        } else if (d->discrete) {
            double half = d->p->step / 2, left = x - half, right = x + half;
            if (d->log) left = log(left), right = log(right);
            lp = log_gauss_mass((left - pe->mu[k]) / pe->sigma[k], (right - pe->mu[k]) / pe->sigma[k]) -
                 pe->log_mass[k];
        } else {
            double t = d->log ? log(x) : x;
            double z = (t - pe->mu[k]) / pe->sigma[k];
            lp = -0.5 * z * z - LOG_SQRT_2PI - pe->log_sigma[k] - pe->log_mass[k];
        }
        scratch[k] = pe->log_w[k] + lp;
    }
    return log_sum_exp(scratch, pe->n);
}

/* ---------------------------------------------------------------- the history */

/* Finished trials in rank order: COMPLETE before PRUNED (Optuna ranks a pruned trial
 * below every complete one), a NaN value last within its state, then by value in the
 * study's direction, then by trial number. */
typedef struct ranked_obs {
    const vs_trial_obs *o;
    int maximize;
} ranked_obs;

static int rank_class(const vs_trial_obs *o) { return (o->state == VS_OBS_PRUNED) * 2 + (isnan(o->value) ? 1 : 0); }

static int compare_rank(const void *pa, const void *pb) {
    const ranked_obs *a = pa, *b = pb;
    int ca = rank_class(a->o), cb = rank_class(b->o);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (!(ca & 1) && a->o->value != b->o->value) {
        int a_better = a->maximize ? a->o->value > b->o->value : a->o->value < b->o->value;
        return a_better ? -1 : 1;
    }
    return (a->o->number > b->o->number) - (a->o->number < b->o->number);
}

/* Trial-number order, ties (which a sane history has not) broken by everything else so
 * the order never depends on the order given. */
static int compare_number(const void *pa, const void *pb) {
    const vs_trial_obs *a = *(const vs_trial_obs *const *)pa, *b = *(const vs_trial_obs *const *)pb;
    if (a->number != b->number) return a->number < b->number ? -1 : 1;
    if (a->state != b->state) return a->state < b->state ? -1 : 1;
    return memcmp(&a->value, &b->value, sizeof a->value);
}

/* Every observation must carry usable internal values: the estimators take logs of
 * them and index choices by them. */
static int check_history(const vs_space *s, const vs_trial_obs *h, int n, vs_error *err) {
    for (int i = 0; i < n; i++) {
        const vs_trial_obs *o = &h[i];
        if (o->state != VS_OBS_COMPLETE && o->state != VS_OBS_PRUNED && o->state != VS_OBS_PENDING)
            return vs_errorf(err, "TPE: trial %d: unknown state %d", o->number, (int)o->state);
        if (s->n_params > 0 && !o->values) return vs_errorf(err, "TPE: trial %d: no parameter values", o->number);
        for (int p = 0; p < s->n_params; p++) {
            const vs_param *par = &s->params[p];
            double v = o->values[p];
            if (par->kind == VS_PARAM_CONSTANT) continue;
            if (!isfinite(v)) return vs_errorf(err, "TPE: trial %d: parameters.%s is %g", o->number, par->name, v);
            if (par->kind == VS_PARAM_CATEGORICAL && (v < 0 || v >= par->n_choices || v != floor(v)))
                return vs_errorf(err, "TPE: trial %d: parameters.%s: choice index %g is not in 0..%d", o->number,
                                 par->name, v, par->n_choices - 1);
            if ((par->kind == VS_PARAM_LOG_UNIFORM || (par->kind == VS_PARAM_INT && par->log)) && !(v > 0))
                return vs_errorf(err, "TPE: trial %d: parameters.%s: %g is not > 0 on a log scale", o->number,
                                 par->name, v);
        }
    }
    return 0;
}

/* Splits the history into the below and above groups, each in trial-number order. */
typedef struct split {
    const vs_trial_obs **below, **above;
    int n_below, n_above;
} split;

static void split_history(const vs_space *s, const vs_trial_obs *h, int n, int n_finished, split *out) {
    ranked_obs *ranked = vs_xmalloc((size_t)(n_finished ? n_finished : 1) * sizeof *ranked);
    int r = 0;
    for (int i = 0; i < n; i++)
        if (h[i].state != VS_OBS_PENDING) ranked[r++] = (ranked_obs){&h[i], s->maximize};
    qsort(ranked, (size_t)r, sizeof *ranked, compare_rank);

    /* Optuna's default_gamma, in floating point as it is there: ceil(0.1 * 30) is 4. */
    int gamma = (int)ceil(0.1 * n_finished);
    if (gamma > TPE_GAMMA_CAP) gamma = TPE_GAMMA_CAP;
    if (gamma > n_finished) gamma = n_finished;

    out->below = vs_xmalloc((size_t)(n ? n : 1) * sizeof *out->below);
    out->above = vs_xmalloc((size_t)(n ? n : 1) * sizeof *out->above);
    out->n_below = out->n_above = 0;
    for (int i = 0; i < r; i++) {
        if (i < gamma) out->below[out->n_below++] = ranked[i].o;
        else out->above[out->n_above++] = ranked[i].o;
    }
    for (int i = 0; i < n; i++)   /* the constant liar: in flight counts as bad */
        if (h[i].state == VS_OBS_PENDING) out->above[out->n_above++] = &h[i];
    qsort(out->below, (size_t)out->n_below, sizeof *out->below, compare_number);
    qsort(out->above, (size_t)out->n_above, sizeof *out->above, compare_number);
    free(ranked);
}

/* ---------------------------------------------------------------- proposing */

static double propose_param(const vs_space *s, int number, int p, const split *sp) {
    const vs_param *par = &s->params[p];
    if (par->kind == VS_PARAM_CONSTANT) return 0.0;
    if (par->kind != VS_PARAM_CATEGORICAL && par->low == par->high) return par->low;

    domain d;
    domain_of(par, &d);
    int n_obs = sp->n_below > sp->n_above ? sp->n_below : sp->n_above;
    double *obs = vs_xmalloc((size_t)(n_obs + 1) * sizeof *obs);
    parzen below, above;
    for (int i = 0; i < sp->n_below; i++) obs[i] = sp->below[i]->values[p];
    parzen_build(&below, &d, obs, sp->n_below);
    for (int i = 0; i < sp->n_above; i++) obs[i] = sp->above[i]->values[p];
    parzen_build(&above, &d, obs, sp->n_above);
    free(obs);

    int n_scratch = below.n > above.n ? below.n : above.n;
    double *scratch = vs_xmalloc((size_t)n_scratch * sizeof *scratch);
    vs_pcg32 g = vs_stream(s->seed, VS_RNG_SAMPLER, (uint64_t)number, TPE_STREAM_BASE + (uint64_t)p);
    double best = 0, best_score = -INFINITY;
    for (int c = 0; c < s->tpe_candidates; c++) {
        double x = parzen_sample(&below, &d, &g);
        double score = parzen_log_pdf(&below, &d, x, scratch) - parzen_log_pdf(&above, &d, x, scratch);
        if (isnan(score)) score = -INFINITY;
        if (c == 0 || score > best_score) best = x, best_score = score;
    }
    free(scratch);
    parzen_free(&below);
    parzen_free(&above);
    return best;
}

int vs_sampler_tpe(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                   vs_error *err) {
    if (s->tpe_startup_trials < 0)
        return vs_errorf(err, "TPE: startup trials must be >= 0 (got %d)", s->tpe_startup_trials);
    if (s->tpe_candidates < 1) return vs_errorf(err, "TPE: candidates must be >= 1 (got %d)", s->tpe_candidates);
    if (check_history(s, history, n_history, err)) return -1;
    int n_finished = 0;
    for (int i = 0; i < n_history; i++) n_finished += history[i].state != VS_OBS_PENDING;
    if (n_finished < s->tpe_startup_trials) return vs_sampler_random(s, number, values, err);

    split sp;
    split_history(s, history, n_history, n_finished, &sp);
    for (int p = 0; p < s->n_params; p++) values[p] = propose_param(s, number, p, &sp);
    free(sp.below);
    free(sp.above);
    return 0;
}
