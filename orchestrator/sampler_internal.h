/* sampler_internal: what the samplers share beyond trial_obs.h, and nothing outside
 * orchestrator/ may use: each sampler's proposal, which sampler.c's vs_sampler_propose
 * dispatches to, and the random draws the grid shares. The files depend one way:
 * sampler.c (checks, dispatch) on the samplers; sampler_grid.c on the random draws;
 * sampler_tpe.c on the random proposal (its start-up trials); none on sampler.c. All assume the space has been
 * checked by vs_sampler_propose. */
#ifndef VS_SAMPLER_INTERNAL_H
#define VS_SAMPLER_INTERNAL_H

#include <stdint.h>

#include "trial_obs.h"
#include "common/pcg.h"
#include "common/vs_error.h"
#include "space/space.h"

/* ---- sampler_grid.c ---- */

/* Trial number's point of the grid (number below vs_space_grid_size). */
int vs_sampler_grid(const vs_space *s, int number, double *values, vs_error *err);

/* ---- sampler_random.c ---- */

int vs_sampler_random(const vs_space *s, int number, double *values, vs_error *err);
/* Uniform in {0, ..., count - 1}. */
int64_t vs_sampler_uniform_index(vs_pcg32 *g, int64_t count);
/* The number of values p takes on a grid; 0 when it has no finite set. */
int64_t vs_sampler_grid_count(const vs_param *p);

static inline double vs_sampler_clamp(double x, double low, double high) { return x < low ? low : x > high ? high : x; }

/* ---- sampler_tpe.c ---- */

int vs_sampler_tpe(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                   vs_error *err);

#endif
