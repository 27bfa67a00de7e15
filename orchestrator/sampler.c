/* sampler.c: vs_sampler_propose: the checks every sampler relies on, and the dispatch to
 * the sampler the space names: sampler_grid.c, sampler_random.c or sampler_tpe.c (the
 * exact algorithms are in docs/search-algorithms.md, "Samplers and pruners"); a new
 * sampler is a file of its own, its kind in space.h (and its name where spaces are
 * read), and a case below.
 * Nothing here keeps state between calls: a proposal is a pure function of its
 * arguments, which is what makes a resumed sweep propose what an uninterrupted one
 * would have. */
#include "sampler.h"
#include "sampler_internal.h"

#include <math.h>

/* ---------------------------------------------------------------- checks */

static int check_param(const vs_param *p, vs_error *err) {
    const char *name = p->name ? p->name : "?";
    switch (p->kind) {
    case VS_PARAM_CONSTANT: return 0;
    case VS_PARAM_CATEGORICAL:
        if (p->n_choices < 1) return vs_errorf(err, "parameters.%s: no choices", name);
        return 0;
    case VS_PARAM_UNIFORM:
    case VS_PARAM_LOG_UNIFORM:
    case VS_PARAM_INT: break;
    default: return vs_errorf(err, "parameters.%s: unknown kind %d", name, (int)p->kind);
    }
    if (!isfinite(p->low) || !isfinite(p->high) || p->low > p->high)
        return vs_errorf(err, "parameters.%s: needs finite low <= high (got %g, %g)", name, p->low, p->high);
    if (p->kind == VS_PARAM_LOG_UNIFORM && !(p->low > 0))
        return vs_errorf(err, "parameters.%s.low: must be > 0 for a log-uniform (got %g)", name, p->low);
    if (p->kind == VS_PARAM_UNIFORM && (!isfinite(p->step) || p->step < 0))
        return vs_errorf(err, "parameters.%s.step: must be >= 0 (got %g)", name, p->step);
    if (p->kind == VS_PARAM_INT) {
        if (!(p->step >= 1) || !isfinite(p->step) || p->step != floor(p->step))
            return vs_errorf(err, "parameters.%s.step: must be an integer >= 1 (got %g)", name, p->step);
        if (p->low != floor(p->low) || p->high != floor(p->high))
            return vs_errorf(err, "parameters.%s: low and high must be integers (got %g, %g)", name, p->low, p->high);
        /* Log-scale draws start from log(low - step/2) (Optuna's IntDistribution). */
        if (p->log && !(p->low - p->step / 2 > 0))
            return vs_errorf(err, "parameters.%s.low: must be > step / 2 on a log scale (got %g, step %g)", name,
                             p->low, p->step);
    }
    return 0;
}

/* Validates what the samplers rely on; space/ checks more, but a proposal never
 * trusts that it did. */
static int check_space(const vs_space *s, vs_error *err) {
    if (s->n_params < 0 || (s->n_params > 0 && !s->params))
        return vs_errorf(err, "space: bad parameter list (%d parameters)", s->n_params);
    for (int i = 0; i < s->n_params; i++)
        if (check_param(&s->params[i], err)) return -1;
    return 0;
}

/* ---------------------------------------------------------------- dispatch */

/* The dispatch: a value for every parameter (the grid's points have none where their
 * conditions leave one out), on its grid. */
static int propose_all(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                       vs_error *err) {
    if (number < 0) return vs_errorf(err, "sampler: trial number %d is negative", number);
    if (n_history < 0 || (n_history > 0 && !history))
        return vs_errorf(err, "sampler: bad history (%d trials)", n_history);
    if (check_space(s, err)) return -1;
    int rc;
    switch (s->sampler) {
    case VS_SAMPLER_GRID: rc = vs_sampler_grid(s, number, values, err); break;
    case VS_SAMPLER_RANDOM: rc = vs_sampler_random(s, number, values, err); break;
    case VS_SAMPLER_TPE: rc = vs_sampler_tpe(s, number, history, n_history, values, err); break;
    default: return vs_errorf(err, "sampler: unknown kind %d", (int)s->sampler);
    }
    if (rc) return rc;
    /* low + k x step in binary is often a hair off the decimal the user wrote */
    for (int i = 0; i < s->n_params; i++) values[i] = vs_param_on_grid(&s->params[i], values[i]);
    return 0;
}

int vs_sampler_propose(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                       vs_error *err) {
    return vs_sampler_propose_given(s, number, history, n_history, NULL, values, err);
}

int vs_sampler_propose_given(const vs_space *s, int number, const vs_trial_obs *history, int n_history,
                             const double *given, double *values, vs_error *err) {
    if (propose_all(s, number, history, n_history, values, err)) return -1;
    for (int i = 0; given && i < s->n_params; i++)
        if (!isnan(given[i])) values[i] = given[i];
    /* Parameters their conditions leave out are absent (NaN): every sampler proposes a
     * value for each, so that a parameter's draws never depend on another's, and this
     * drops those the proposed (and given) values switch off, parents before children. */
    vs_space_drop_absent(s, values);
    return 0;
}
