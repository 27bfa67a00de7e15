/* sampler_internal: what sampler.c and sampler_tpe.c share beyond sampler.h, the public
 * contract: the random proposal (which TPE falls back on during its start-up trials)
 * and TPE itself. Both assume the space has been checked by vs_sampler_propose. */
#ifndef VS_SAMPLER_INTERNAL_H
#define VS_SAMPLER_INTERNAL_H

#include "sampler.h"

int vs_sampler_random(const vs_space *s, int number, double *values, vs_error *err);
int vs_sampler_tpe(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                   vs_error *err);

#endif
