/* propose: the sweep's next trial, proposed from its reference set (the trials numbered
 * < n - window, all ended, every later one PENDING to the sampler) and recorded WAITING;
 * a trial Optuna's enqueue_trial left WAITING with parameters missing, completed the same
 * way (the values it fixes kept; the space's conditions, on the fixed and proposed values
 * together, decide which of the missing ones it has); and pruning, judged against the COMPLETE trials of the same reference set, also for a
 * trial that comes back with epochs recorded before the sweep stopped. Both reference
 * sets are the same in every run, so a resumed sweep decides as the uninterrupted one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pruner.h"
#include "sampler.h"
#include "scheduler_internal.h"
#include "common/json_exact.h"
#include "common/strbuf.h"
#include "results/results_db.h"

/* A trial that ended without vaesearch running it: a warm-start seed, or one Optuna's
 * add_trial wrote. History for the sampler, not a proposal. */
int sched_is_history(const vs_db_trial *t) { return t->attempts == 0 && sched_is_ended(t->state); }

/* Whether t is one of the sweep's proposals, as the budget counts them. */
static int is_proposal(const vs_db_trial *t) { return t->retry_of < 0 && !sched_is_history(t); }

int64_t sched_base_trials(const sweep *w) {
    int64_t n = 0;
    for (int i = 0; i < w->n_trials; i++) n += is_proposal(&w->trials[i]);
    return n;
}

static int next_number(const sweep *w) {
    int n = 0;
    for (int i = 0; i < w->n_trials; i++)
        if (w->trials[i].number + 1 > n) n = w->trials[i].number + 1;
    return n;
}

/* The sampler's view for trial number n: the trials numbered < n - window (which must all
 * have ended: else NULL, not yet) with their outcomes, every later one PENDING; a trial
 * without all its values (one Optuna enqueued or added) is left out. */
static vs_trial_obs *reference_history(const sweep *w, int n, int *count) {
    int cut = n - w->window, h = 0;
    vs_trial_obs *hist = vs_xcalloc((size_t)(w->n_trials ? w->n_trials : 1), sizeof *hist);
    for (int i = 0; i < w->n_trials; i++) {
        const vs_db_trial *t = &w->trials[i];
        if (t->number == n) continue;
        if (t->number < cut) {
            if (!sched_is_ended(t->state)) {   /* the reference set has not ended yet: wait */
                free(hist);
                return NULL;
            }
            if (!strcmp(t->state, "FAIL") || !t->has_value || t->missing) continue;
            hist[h++] = (vs_trial_obs){t->number, t->values, !strcmp(t->state, "COMPLETE") ? VS_OBS_COMPLETE : VS_OBS_PRUNED,
                                       t->value};
        } else if (!t->missing) {
            hist[h++] = (vs_trial_obs){t->number, t->values, VS_OBS_PENDING, 0.0};
        }
    }
    *count = h;
    return hist;
}

/* Proposes and records the next trial, if the budget allows and its reference set has
 * ended. Returns 1 when a trial was created, 0 when none can be now, -1 on error. */
int sched_propose(sweep *w, vs_error *err) {
    int64_t k = sched_base_trials(w);
    if (k >= w->budget) return 0;
    int h;
    vs_trial_obs *hist = reference_history(w, next_number(w), &h);
    if (!hist) return 0;
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

/* A value fixed_params gives for p, as its internal value: 0, or -1 when p cannot take it.
 * A list choice may come as the list or as the text Optuna stores it as ("[600,200]"). */
static int fixed_value(const vs_param *p, const cJSON *v, double *out) {
    if (vs_param_internal_value(p, v, out) == 0) return 0;
    if (!cJSON_IsString(v) || (v->valuestring[0] != '[' && v->valuestring[0] != '{')) return -1;
    cJSON *parsed = cJSON_Parse(v->valuestring);
    int rc = parsed ? vs_param_internal_value(p, parsed, out) : -1;
    cJSON_Delete(parsed);
    return rc;
}

/* The values a trial enqueued with some missing keeps, into given (NaN: to propose):
 * those recorded already, and those its fixed_params (enqueue_trial's values) give for
 * missing ones. Why they do not fit the space, in why; "" when they do. */
static void given_values(const sweep *w, const cJSON *fixed, const vs_db_trial *t, double *given, char *why, size_t n) {
    why[0] = 0;
    for (int p = 0; p < w->space.n_params; p++) given[p] = t->missing[p] ? NAN : t->values[p];
    if (t->fixed_params && !cJSON_IsObject(fixed)) {
        snprintf(why, n, "its fixed_params are not a JSON object");
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, fixed) {
        int p = 0;
        while (p < w->space.n_params && strcmp(w->space.params[p].name, m->string)) p++;
        char *text = vs_json_print_exact(m);
        if (p == w->space.n_params)
            snprintf(why, n, "it was enqueued with %s=%s, and '%s' is no parameter of this space", m->string, text,
                     m->string);
        else if (t->missing[p] && fixed_value(&w->space.params[p], m, &given[p]))
            snprintf(why, n, "it was enqueued with %s=%s, a value this space's parameter cannot take", m->string, text);
        free(text);
        if (why[0]) return;
    }
}

/* "a=1, b=2": the values of the parameters behind p's conditions, as they stand in values
 * (absent ones named so), into why. */
static void put_parents(const vs_space *s, int p, const double *values, vs_strbuf *b) {
    const vs_param *par = &s->params[p];
    for (int i = 0; i < par->n_when; i++) {
        const vs_param *q = &s->params[par->when[i].parent];
        if (isnan(values[par->when[i].parent])) {
            vs_sb_printf(b, "%s%s absent", i ? ", " : "", q->name);
            continue;
        }
        cJSON *v = vs_param_json_value(q, values[par->when[i].parent]);
        char *text = v ? vs_json_print_exact(v) : vs_xstrdup("?");
        vs_sb_printf(b, "%s%s=%s", i ? ", " : "", q->name, text);
        free(text);
        cJSON_Delete(v);
    }
}

/* Why the completed values do not make a trial, in why ("" when they do): a value given
 * (fixed or recorded) for a parameter that its conditions leave out, given those values,
 * or, on a grid, a parameter they switch on that the grid's point has no value for. */
static void check_presence(const sweep *w, const vs_db_trial *t, const double *given, const double *values, char *why,
                           size_t n) {
    why[0] = 0;
    const vs_space *s = &w->space;
    int *present = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * sizeof *present);
    vs_space_presence(s, values, present);
    for (int p = 0; p < s->n_params && !why[0]; p++) {
        if (present[p] ? !isnan(values[p]) : isnan(given[p])) continue;
        vs_strbuf b = {0};
        put_parents(s, p, values, &b);
        if (!present[p]) {
            cJSON *v = vs_param_json_value(&s->params[p], given[p]);
            char *text = v ? vs_json_print_exact(v) : vs_xstrdup("?");
            snprintf(why, n, "it %s %s=%s, and its conditions (\"when\") leave '%s' out (%s)",
                     t->missing[p] ? "was enqueued with" : "has", s->params[p].name, text, s->params[p].name,
                     b.s ? b.s : "");
            free(text);
            cJSON_Delete(v);
        } else {
            snprintf(why, n, "its values switch '%s' on (%s), and the grid's point for it has no value for '%s': "
                             "enqueue it with %s too", s->params[p].name, b.s ? b.s : "", s->params[p].name,
                     s->params[p].name);
        }
        vs_sb_free(&b);
    }
    free(present);
}

int sched_complete_trial(sweep *w, vs_db_trial *t, vs_error *err) {
    int h, number = t->number, trial_id = t->trial_id;
    vs_trial_obs *hist = reference_history(w, number, &h);
    if (!hist) return 1;
    int64_t k = 0;   /* the proposal it takes the place of: the proposals numbered before it */
    for (int i = 0; i < w->n_trials; i++) k += w->trials[i].number < number && is_proposal(&w->trials[i]);
    size_t n = (size_t)(w->space.n_params ? w->space.n_params : 1);
    double *values = vs_xcalloc(n, sizeof(double)), *given = vs_xcalloc(n, sizeof(double));
    char why[1200] = "", *names_given = NULL;
    cJSON *fixed = t->fixed_params ? cJSON_Parse(t->fixed_params) : NULL;
    given_values(w, fixed, t, given, why, sizeof why);
    /* The proposal completes what is given; the conditions, on both, say which of the
     * missing parameters the trial has (parents first) and which it leaves absent. */
    int rc = why[0] ? 0 : vs_sampler_propose_given(&w->space, (int)k, hist, h, given, values, err);
    free(hist);
    if (rc == 0 && !why[0]) check_presence(w, t, given, values, why, sizeof why);
    if (rc == 0) {
        vs_strbuf names = {0};
        const cJSON *m;
        cJSON_ArrayForEach(m, fixed) vs_sb_printf(&names, "%s%s", names.len ? ", " : "", m->string);
        names_given = names.s ? vs_sb_take(&names) : vs_xstrdup("none");
    }
    cJSON_Delete(fixed);
    free(given);
    if (rc == 0 && why[0]) {
        free(values);
        free(names_given);
        return sched_fail_unstarted(w, trial_id, number, why, err) ? -1 : 2;
    }
    if (rc == 0) rc = vs_db_fill_trial_params(w->db, trial_id, &w->space, values, err);
    free(values);
    if (rc == 0) rc = sched_refresh_trial(w, trial_id, err);
    if (rc == 0) sched_say(w, "trial %d: enqueued with %s fixed; the other parameters proposed", number, names_given);
    free(names_given);
    return rc ? -1 : 0;
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
