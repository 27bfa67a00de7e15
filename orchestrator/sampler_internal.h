/* sampler_internal: what the samplers share beyond trial_obs.h, and nothing outside
 * orchestrator/ may use: the random proposal (which TPE falls back on during its
 * start-up trials) and TPE itself, which sampler.c's vs_sampler_propose dispatches to.
 * Both assume the space has been checked by vs_sampler_propose. */
#ifndef VS_SAMPLER_INTERNAL_H
#define VS_SAMPLER_INTERNAL_H

#include "trial_obs.h"
#include "common/vs_error.h"
#include "space/space.h"

int vs_sampler_random(const vs_space *s, int number, double *values, vs_error *err);
int vs_sampler_tpe(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                   vs_error *err);

#endif
