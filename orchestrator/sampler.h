/* sampler: proposes a trial's parameters: grid, random, or TPE (the tree-structured
 * Parzen estimator of Bergstra et al. 2011: univariate, multivariate as Optuna's
 * TPESampler(multivariate=True, group=True), or vaesearch's multivariate variant).
 * A proposal is a pure function of (space, seed, trial number, history): randomness
 * comes from the streams vs_stream(seed, VS_RNG_SAMPLER, number, ...) (pcg.h), and the history
 * is the trial's reference set, which the scheduler makes the same in every run of the
 * sweep (docs/search-space.md, "Reproducibility"). So the same space and seed give the
 * same trials, and a resumed sweep proposes what the uninterrupted one would have. */
#ifndef VS_SAMPLER_H
#define VS_SAMPLER_H

#include "trial_obs.h"
#include "common/vs_error.h"
#include "space/space.h"

/* Writes space->n_params internal values for trial `number` into values, NaN for a
 * parameter the space's conditions leave out. For a grid, number must be below
 * vs_space_grid_size (each point once, in a seeded order). The history's values may be
 * NaN (absent) too. */
int vs_sampler_propose(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                       vs_error *err);
/* The same, with some values given (given[i] not NaN: kept as they are; given may be
 * NULL): the proposal completes them, and the conditions decide presence from the given
 * and proposed values together, so a given value may switch a parameter on (it gets the
 * proposed value) or off (NaN). A given value its conditions leave out comes back NaN too:
 * the caller checks. On a grid, a parameter that a given value switches on may still be
 * NaN (the point has none for it). */
int vs_sampler_propose_given(const vs_space *s, int number, const vs_trial_obs *history, int n_history,
                             const double *given, double *values, vs_error *err);

#endif
