/* propose: the sweep's next trial, proposed from its reference set (the trials numbered
 * < n - window, all ended, every later one PENDING to the sampler) and recorded WAITING;
 * and pruning, judged against the COMPLETE trials of the same reference set, also for a
 * trial that comes back with epochs recorded before the sweep stopped. Both reference
 * sets are the same in every run, so a resumed sweep decides as the uninterrupted one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pruner.h"
#include "sampler.h"
#include "scheduler_internal.h"
#include "results/results_db.h"

int64_t sched_base_trials(const sweep *w) {
    int64_t n = -w->n_seeded;   /* warm-start seeds are history, not proposals */
    for (int i = 0; i < w->n_trials; i++) n += w->trials[i].retry_of < 0;
    return n;
}

static int next_number(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number + 1 > n) n = w->trials[i].number + 1;
    return n;
}

/* Proposes and records the next trial, if the budget allows and its reference set has
 * ended. Returns 1 when a trial was created, 0 when none can be now, -1 on error. */
int sched_propose(sweep *w, vs_error *err) {
    int64_t k = sched_base_trials(w);
    if (k >= w->budget) return 0;
    int n = next_number(w);
    int cut = n - w->window;
    vs_trial_obs *hist = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *hist);
    int h = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number < cut) {
            if (!sched_is_ended(t->state)) {   /* the reference set has not ended yet: wait */
                free(hist);
                return 0;
            }
            if (!strcmp(t->state, "FAIL") || !t->has_value) continue;
            hist[h++] = (vs_trial_obs){t->number, t->values, !strcmp(t->state, "COMPLETE") ? VS_OBS_COMPLETE : VS_OBS_PRUNED,
                                       t->value};
        } else {
            hist[h++] = (vs_trial_obs){t->number, t->values, VS_OBS_PENDING, 0.0};
        }
    }
    double *values = vs_xcalloc((size_t)(w->space.n_params ? w->space.n_params : 1), sizeof(double));
    /* The k-th proposal of the sweep: equal to the trial number unless failures were retried. */
    int rc = vs_sampler_propose(&w->space, (int)k, hist, h, values, err);
    int trial_id, number;
    if (rc == 0) rc = vs_db_create_trial(w->db, w->study_id, &w->space, values, -1, &trial_id, &number, err);
    free(values);
    free(hist);
    if (rc) return -1;
    return sched_refresh_trial(w, trial_id, err) ? -1 : 1;
}

/* Pruning, as Optuna's pruners judge, at a validated epoch (the previous one was
 * previous_epoch): the median pruner the trial's best value so far, ASHA its value at
 * this epoch (NaN for both when this epoch's is), against the curves of the COMPLETE
 * trials of its reference set. */
int sched_prune_verdict(sweep *w, int number, int previous_epoch, int epoch, double value, double best) {
    if (w->space.pruner == VS_PRUNER_NONE || w->stopping) return 0;
    vs_curve *refs = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *refs);
    int n = 0;
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number < number - w->window && !strcmp(t->state, "COMPLETE") && t->n_epochs > 0)
            refs[n++] = (vs_curve){t->n_epochs, t->curve};
    }
    double judged = w->space.pruner == VS_PRUNER_ASHA || isnan(value) ? value : best;
    int prune = vs_pruner_should_prune(&w->space, previous_epoch, epoch, judged, refs, n);
    free(refs);
    return prune;
}

double sched_better_of(const sweep *w, double best, double v) {
    if (isnan(v)) return best;
    if (isnan(best)) return v;
    return w->space.maximize ? (v > best ? v : best) : (v < best ? v : best);
}

/* A trial that comes back (after a kill or a Ctrl-C) with epochs already recorded is
 * judged on them first: the decision a killed run made but could not record is made
 * again, the same way. Returns the epoch to prune at, or 0. */
int sched_replay_pruning(sweep *w, const vs_db_trial *t) {
    double best = NAN;
    int previous = 0;
    for (int e = 1; e <= t->n_epochs; e++) {
        double v = t->curve[e - 1];
        if (isnan(v)) continue;   /* not validated */
        best = sched_better_of(w, best, v);
        if (sched_prune_verdict(w, t->number, previous, e, v, best)) return e;
        previous = e;
    }
    return 0;
}
