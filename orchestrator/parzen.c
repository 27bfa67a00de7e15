/* parzen.c: TPE's Parzen estimators (parzen.h), over one parameter or several sharing
 * the component index, as Optuna 5's _ParzenEstimator builds them with its defaults;
 * and the normal distribution's functions they need, to double precision: the CDF and
 * its log far into the tails, the mass of an interval, the inverse CDF, and truncated
 * draws by inversion. docs/search-algorithms.md, "TPE", states every rule. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parzen.h"

#define TPE_FLAT_WEIGHTS 25    /* default_weights: the 25 newest observations weigh 1 */
#define LOG_SQRT_2PI 0.91893853320467274178
#define SQRT_HALF 0.70710678118654752440

static double clamp(double x, double low, double high) { return x < low ? low : x > high ? high : x; }

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

/* ---------------------------------------------------------------- a parameter's domain */

void vs_parzen_dim_of(const vs_param *p, vs_parzen_dim *d) {
    memset(d, 0, sizeof *d);
    d->p = p;
    d->categorical = p->kind == VS_PARAM_CATEGORICAL;
    if (d->categorical) return;
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

/* A model-space point back to a value of the parameter: exp on a log scale, rounded to
 * the step grid (half to even, as numpy.round) and clipped for a stepped one. */
static double dim_value(const vs_parzen_dim *d, double t) {
    const vs_param *p = d->p;
    double x = d->log ? exp(t) : t;
    if (d->discrete) x = p->low + rint((x - p->low) / p->step) * p->step;
    return clamp(x, p->low, p->high);
}

/* ---------------------------------------------------------------- building */

void vs_parzen_default_weights(int n, double *w) {
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
 * (consider_endpoints off), clipped to [range / min(100, n + 2), range] (the magic
 * clip). This is Optuna 5's rule, per parameter also in a multivariate estimator;
 * Optuna 4 also counted the prior's centre as a neighbour. Ties are broken by position,
 * which is trial-number order. With min_bandwidth > 0 the floor is min_bandwidth x
 * range instead of the magic clip's. */
static void numeric_sigmas(const vs_parzen_dim *d, const double *mus, int n_obs, double min_bandwidth, double *sigmas) {
    if (n_obs == 0) return;
    sort_item *order = vs_xmalloc((size_t)n_obs * sizeof *order);
    double *s = vs_xmalloc((size_t)(n_obs + 2) * sizeof *s);
    for (int i = 0; i < n_obs; i++) order[i] = (sort_item){mus[i], i};
    qsort(order, (size_t)n_obs, sizeof *order, compare_sort_items);
    s[0] = d->lo;
    for (int i = 0; i < n_obs; i++) s[i + 1] = order[i].key;
    s[n_obs + 1] = d->hi;
    double range = d->hi - d->lo;
    double min_sigma = min_bandwidth > 0 ? min_bandwidth * range : range / fmin(100.0, 1.0 + (n_obs + 1.0));
    double max_sigma = range;
    for (int i = 0; i < n_obs; i++) {
        double left = s[i + 1] - s[i], right = s[i + 2] - s[i + 1];
        double sigma = left > right ? left : right;
        if (n_obs >= 2 && i == 0) sigma = right;
        if (n_obs >= 2 && i == n_obs - 1) sigma = left;
        sigmas[order[i].index] = clamp(sigma, min_sigma, max_sigma);
    }
    free(order);
    free(s);
}

/* One parameter's kernels: column `col` of the observations. */
static void build_kernels(vs_parzen_kernels *k, const vs_parzen_dim *d, const double *obs, int n_obs, int n_dims,
                          int col, double prior_weight, double min_bandwidth) {
    int n = n_obs + 1;
    memset(k, 0, sizeof *k);
    if (d->categorical) {
        /* Every kernel spreads prior_weight / kernels over the choices; an observation's
         * kernel adds 1 on its choice; rows are normalised (the prior's row is uniform). */
        int c = d->p->n_choices;
        k->n_choices = c;
        k->cat = vs_xmalloc((size_t)n * (size_t)c * sizeof *k->cat);
        double base = prior_weight / n;
        for (int i = 0; i < n; i++) {
            double *row = k->cat + (size_t)i * c;
            for (int j = 0; j < c; j++) row[j] = base;
            if (i < n_obs) row[(int)obs[(size_t)i * n_dims + col]] += 1.0;
            double sum = 0;
            for (int j = 0; j < c; j++) sum += row[j];
            for (int j = 0; j < c; j++) row[j] = sum > 0 ? row[j] / sum : 1.0 / c;
        }
        return;
    }
    k->mu = vs_xmalloc((size_t)n * sizeof *k->mu);
    k->sigma = vs_xmalloc((size_t)n * sizeof *k->sigma);
    k->log_sigma = vs_xmalloc((size_t)n * sizeof *k->log_sigma);
    k->log_mass = vs_xmalloc((size_t)n * sizeof *k->log_mass);
    for (int i = 0; i < n_obs; i++) {
        double v = obs[(size_t)i * n_dims + col];
        k->mu[i] = d->log ? log(v) : v;
    }
    numeric_sigmas(d, k->mu, n_obs, min_bandwidth, k->sigma);
    k->mu[n_obs] = 0.5 * (d->lo + d->hi);
    k->sigma[n_obs] = d->hi - d->lo;
    for (int i = 0; i < n; i++) {
        k->log_sigma[i] = log(k->sigma[i]);
        k->log_mass[i] = log_gauss_mass((d->lo - k->mu[i]) / k->sigma[i], (d->hi - k->mu[i]) / k->sigma[i]);
    }
}

void vs_parzen_build(vs_parzen *pe, const vs_parzen_dim *dims, int n_dims, const double *obs, int n_obs,
                     const double *weights, double prior_weight, double min_bandwidth) {
    memset(pe, 0, sizeof *pe);
    pe->n_dims = n_dims;
    pe->n = n_obs + 1;
    pe->dims = dims;
    pe->w = vs_xmalloc((size_t)pe->n * sizeof *pe->w);
    pe->log_w = vs_xmalloc((size_t)pe->n * sizeof *pe->log_w);
    if (weights) memcpy(pe->w, weights, (size_t)n_obs * sizeof *pe->w);
    else vs_parzen_default_weights(n_obs, pe->w);
    /* With no observation the prior is the whole mixture, whatever its weight. */
    pe->w[n_obs] = n_obs ? prior_weight : 1.0;
    double total = 0;
    for (int i = 0; i < pe->n; i++) total += pe->w[i];
    for (int i = 0; i < pe->n; i++) {
        pe->w[i] /= total;
        pe->log_w[i] = log(pe->w[i]);
    }
    pe->k = vs_xcalloc((size_t)(n_dims ? n_dims : 1), sizeof *pe->k);
    for (int j = 0; j < n_dims; j++)
        build_kernels(&pe->k[j], &dims[j], obs, n_obs, n_dims, j, prior_weight, min_bandwidth);
}

void vs_parzen_free(vs_parzen *pe) {
    for (int j = 0; pe->k && j < pe->n_dims; j++) {
        vs_parzen_kernels *k = &pe->k[j];
        free(k->mu);
        free(k->sigma);
        free(k->log_sigma);
        free(k->log_mass);
        free(k->cat);
    }
    free(pe->k);
    free(pe->w);
    free(pe->log_w);
    memset(pe, 0, sizeof *pe);
}

/* ---------------------------------------------------------------- sampling and density */

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

void vs_parzen_sample(const vs_parzen *pe, vs_pcg32 *g, double *x) {
    int i = pick_by_weight(pe->w, pe->n, vs_pcg32_unit_double(g));
    for (int j = 0; j < pe->n_dims; j++) {
        const vs_parzen_kernels *k = &pe->k[j];
        const vs_parzen_dim *d = &pe->dims[j];
        double u = vs_pcg32_unit_double(g);
        if (k->cat) {
            x[j] = (double)pick_by_weight(k->cat + (size_t)i * k->n_choices, k->n_choices, u);
            continue;
        }
        double mu = k->mu[i], sigma = k->sigma[i];
        double z = truncnorm_standard((d->lo - mu) / sigma, (d->hi - mu) / sigma, u);
        x[j] = dim_value(d, clamp(mu + sigma * z, d->lo, d->hi));
    }
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

/* log of kernel i of one parameter at internal value v. */
static double kernel_log_pdf(const vs_parzen_kernels *k, const vs_parzen_dim *d, int i, double v) {
    if (k->cat) return log(k->cat[(size_t)i * k->n_choices + (int)v]);
    if (d->discrete) {
        double half = d->p->step / 2, left = v - half, right = v + half;
        if (d->log) left = log(left), right = log(right);
        return log_gauss_mass((left - k->mu[i]) / k->sigma[i], (right - k->mu[i]) / k->sigma[i]) - k->log_mass[i];
    }
    double t = d->log ? log(v) : v;
    double z = (t - k->mu[i]) / k->sigma[i];
    return -0.5 * z * z - LOG_SQRT_2PI - k->log_sigma[i] - k->log_mass[i];
}

double vs_parzen_log_pdf(const vs_parzen *pe, const double *x, double *scratch) {
    for (int i = 0; i < pe->n; i++) {
        double lp = 0;
        for (int j = 0; j < pe->n_dims; j++) lp += kernel_log_pdf(&pe->k[j], &pe->dims[j], i, x[j]);
        scratch[i] = pe->log_w[i] + lp;
    }
    return log_sum_exp(scratch, pe->n);
}
