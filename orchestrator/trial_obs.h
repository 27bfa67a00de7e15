/* trial_obs: what a sampler knows of an earlier trial, its history: the trial's
 * parameters and how it stands. The scheduler builds the history (propose.c); each
 * sampler reads it (sampler.h, sampler_internal.h). A header of its own, so that a
 * sampler depends on this type and not on the dispatch that names every sampler. */
#ifndef VS_TRIAL_OBS_H
#define VS_TRIAL_OBS_H

typedef enum vs_obs_state {
    VS_OBS_COMPLETE,   /* value is the objective */
    VS_OBS_PRUNED,     /* value is the last reported (intermediate) objective */
    VS_OBS_PENDING,    /* proposed or running: no value; TPE's constant liar counts it as bad */
} vs_obs_state;

typedef struct vs_trial_obs {
    int number;
    const double *values;   /* space->n_params internal values (space.h), NaN where absent */
    vs_obs_state state;
    double value;
} vs_trial_obs;

#endif
