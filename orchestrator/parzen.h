/* parzen: the Parzen estimators of TPE (Bergstra et al. 2011) as Optuna 5 builds them
 * (its _ParzenEstimator with the defaults: prior weight 1, magic clip on, endpoints
 * off), over one parameter or several: a mixture whose component k is the product of
 * one kernel per parameter, all centred on observation k (a truncated Gaussian in model
 * space for a number, weighted choice counts for a categorical), plus a prior
 * component. One parameter is univariate TPE's estimator; several sharing the component
 * index are multivariate TPE's. Sampling picks a component, then a value per parameter
 * from that component's kernels; the density is the mixture's. The observation weights
 * are Optuna's default_weights unless the caller gives its own (multi-objective TPE
 * weighs the "below" trials by their hypervolume contributions), so the estimators serve
 * every TPE variant. docs/search-algorithms.md, "TPE", states each rule. */
#ifndef VS_PARZEN_H
#define VS_PARZEN_H

#include "common/pcg.h"
#include "space/space.h"

/* One parameter's domain as the estimator sees it: the "model" space is the log of the
 * value for log parameters; a stepped parameter's bounds are widened by half a step
 * there, so that each grid value owns an interval of width step (in value space). */
typedef struct vs_parzen_dim {
    const vs_param *p;
    int log, discrete, categorical;
    double lo, hi;   /* numeric: the bounds in model space */
} vs_parzen_dim;

void vs_parzen_dim_of(const vs_param *p, vs_parzen_dim *d);

/* One parameter's kernels, one per component (the prior's last). Numeric: a Gaussian
 * (mu, sigma) truncated to [lo, hi], log_mass the log of its mass there, which the
 * truncation renormalises. Categorical: probabilities cat[k * n_choices + c]. */
typedef struct vs_parzen_kernels {
    double *mu, *sigma, *log_sigma, *log_mass;
    double *cat;
    int n_choices;
} vs_parzen_kernels;

typedef struct vs_parzen {
    int n_dims, n;             /* parameters; components (observations + the prior) */
    const vs_parzen_dim *dims; /* borrowed from the caller */
    double *w, *log_w;         /* the components' normalised weights */
    vs_parzen_kernels *k;      /* n_dims */
} vs_parzen;

/* Optuna's default_weights(n): ones for up to 25 observations; beyond, the older ones
 * ramp linearly (numpy.linspace(1/n, 1, n - 25)) and the newest 25 weigh 1. */
void vs_parzen_default_weights(int n, double *w);

/* Builds the estimator of n_obs observations: obs holds n_obs rows of n_dims internal
 * values (finite; a valid choice index for a categorical), in trial-number order, which
 * default_weights depends on. weights: n_obs non-negative observation weights, or NULL
 * for vs_parzen_default_weights. The prior weighs prior_weight before normalisation
 * (Optuna: 1). min_bandwidth: 0 for Optuna's magic clip (a Gaussian's sigma at least
 * range / min(100, n_obs + 2)), else sigma at least min_bandwidth x range (of the
 * parameter's model space). dims must outlive the estimator. */
void vs_parzen_build(vs_parzen *pe, const vs_parzen_dim *dims, int n_dims, const double *obs, int n_obs,
                     const double *weights, double prior_weight, double min_bandwidth);
void vs_parzen_free(vs_parzen *pe);

/* One draw: a uniform picks the component, then one uniform per parameter gives its
 * value from that component's kernel (x: n_dims internal values, on their grids). */
void vs_parzen_sample(const vs_parzen *pe, vs_pcg32 *g, double *x);

/* log of the mixture's density at x (n_dims internal values): per parameter a density in
 * model space (continuous), the mass of the value's interval of width step (stepped),
 * or the choice's probability (categorical); multiplied across parameters within a
 * component. scratch holds pe->n doubles. */
double vs_parzen_log_pdf(const vs_parzen *pe, const double *x, double *scratch);

#endif
