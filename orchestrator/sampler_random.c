/* sampler_random: the random sampler: parameter p of trial n is drawn from its own
 * stream vs_stream(seed, VS_RNG_SAMPLER, n, p), as Optuna's RandomSampler draws it
 * (docs/search-algorithms.md, "Samplers and pruners"); and the draws the grid shares:
 * a uniform index, and the count of a stepped parameter's values. */
#include <math.h>
#include <stdint.h>

#include "sampler_internal.h"
#include "common/pcg.h"

/* The number of grid steps in [low, high]: floor((high - low) / step) + 1. A float
 * range whose length falls within 1e-9 of a step short of a multiple counts that last
 * step (0.1..0.5 step 0.1 has 5 values, not 4); integer ranges are exact. */
static int64_t steps_in_range(double low, double high, double step, int exact) {
    double r = (high - low) / step;
    if (r >= 9007199254740992.0) return INT64_C(9007199254740992);   /* 2^53: no grid is that big */
    double k = floor(r);
    if (!exact && r - k > 1.0 - 1e-9) k += 1.0;
    return (int64_t)k + 1;
}

/* The number of values parameter p takes on a grid; 0 when it has no finite set. */
int64_t vs_sampler_grid_count(const vs_param *p) {
    switch (p->kind) {
    case VS_PARAM_CATEGORICAL: return p->n_choices;
    case VS_PARAM_CONSTANT: return 1;
    case VS_PARAM_INT: return steps_in_range(p->low, p->high, p->step, 1);
    case VS_PARAM_UNIFORM: return p->step > 0 ? steps_in_range(p->low, p->high, p->step, 0) : 0;
    case VS_PARAM_LOG_UNIFORM: return 0;
    }
    return 0;
}

/* Uniform in {0, ..., count - 1}; unbiased for the counts a sweep can have. */
int64_t vs_sampler_uniform_index(vs_pcg32 *g, int64_t count) {
    if (count <= 1) return 0;
    if (count <= (int64_t)UINT32_MAX) return (int64_t)vs_pcg32_bounded(g, (uint32_t)count);
    int64_t k = (int64_t)floor(vs_pcg32_unit_double(g) * (double)count);
    return k < count ? k : count - 1;
}

/* Optuna's IntDistribution(log=True) draw: uniform in log space over
 * [low - step/2, high + step/2], back to a value, rounded to the step grid (half to
 * even, as numpy.round) and clipped into [low, high]. */
static double random_log_int(vs_pcg32 *g, const vs_param *p) {
    double lo = log(p->low - p->step / 2), hi = log(p->high + p->step / 2);
    double x = exp(lo + vs_pcg32_unit_double(g) * (hi - lo));
    return vs_sampler_clamp(p->low + rint((x - p->low) / p->step) * p->step, p->low, p->high);
}

/* One of the values low, low + step, ... of a stepped uniform or an int. */
static double random_step(vs_pcg32 *g, const vs_param *p) {
    double k = (double)vs_sampler_uniform_index(g, vs_sampler_grid_count(p));
    return vs_sampler_clamp(p->low + p->step * k, p->low, p->high);
}

static double random_value(vs_pcg32 *g, const vs_param *p) {
    switch (p->kind) {
    case VS_PARAM_UNIFORM:
        if (p->step > 0) return random_step(g, p);
        return vs_sampler_clamp(p->low + vs_pcg32_unit_double(g) * (p->high - p->low), p->low, p->high);
    case VS_PARAM_LOG_UNIFORM: {
        double lo = log(p->low), hi = log(p->high);
        return vs_sampler_clamp(exp(lo + vs_pcg32_unit_double(g) * (hi - lo)), p->low, p->high);
    }
    case VS_PARAM_INT:
        return p->log ? random_log_int(g, p) : random_step(g, p);
    case VS_PARAM_CATEGORICAL: return (double)vs_sampler_uniform_index(g, p->n_choices);
    case VS_PARAM_CONSTANT: return 0.0;
    }
    return 0.0;
}

int vs_sampler_random(const vs_space *s, int number, double *values, vs_error *err) {
    (void)err;
    for (int i = 0; i < s->n_params; i++) {
        vs_pcg32 g = vs_stream(s->seed, VS_RNG_SAMPLER, (uint64_t)number, (uint64_t)i);
        values[i] = random_value(&g, &s->params[i]);
    }
    return 0;
}
