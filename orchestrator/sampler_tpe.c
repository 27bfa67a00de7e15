/* sampler_tpe.c: the tree-structured Parzen estimator (Bergstra et al. 2011) with
 * Optuna 5's TPESampler's rules and its constant liar, univariate, multivariate as
 * Optuna has it, or vaesearch's multivariate variant (the default). docs/search-
 * algorithms.md, "TPE", states every step; in short, for trial `number`:
 *   1. fewer than tpe_startup_trials finished (COMPLETE or PRUNED) trials: random;
 *   2. the finished trials are ranked (COMPLETE by value, then PRUNED by value) and the
 *      best gamma(n) form the "below" group; the rest and every PENDING trial (the
 *      constant liar) form the "above" group; both are put in trial-number order;
 *   3. the parameters are split into groups: univariate, one a group; multivariate, the
 *      parameters present in the same finished trials (Optuna's group decomposition of
 *      a conditional space; without conditions, one group), each categorical alone in
 *      vaesearch's variant;
 *   4. per group, the Parzen estimators (parzen.c) l of the below and g of the above
 *      trials that have every parameter of the group; tpe_candidates draws from l; the
 *      first with the best score is proposed. The score is log l(x) - log g(x); in
 *      vaesearch's variant, for a group of several parameters, plus each parameter's own
 *      (univariate) log l_j(x_j) - log g_j(x_j), and the joint estimators' bandwidths
 *      are at least TPE_JOINT_MIN_BANDWIDTH of each range instead of the magic clip's.
 * Group G draws from vs_stream(seed, VS_RNG_SAMPLER, number, 1000 + its first parameter),
 * so a proposal is a pure function of (space, number, history), whatever order the
 * history comes in, and a group of one parameter proposes what univariate TPE does.
 *
 * Why vaesearch's variant differs from Optuna's multivariate TPE, which stalls
 * (docs/performance.md, "TPE against Optuna"): in d dimensions the above estimator's
 * kernels, each as narrow as the gaps between neighbours along one axis, rarely
 * overlap, so near the below trials g is the prior's, the same for every point, and the
 * score is l's alone: candidates near the best trials always win, and a search that
 * found a poor bump first keeps to it. A categorical is worse off: a below trial's
 * kernel puts almost all its mass on its own choice while g is flat across choices
 * there, so another choice scores lower by about log(own mass / leaked mass) and, once
 * the best trials share a choice, no other is proposed again. Each parameter's own ratio
 * (whose g fills up where the search dwells, as univariate TPE's does) added to the
 * joint one lets the search leave; a categorical alone is univariate TPE's; and the
 * fixed least bandwidth, narrower than the magic clip for the few below trials and wider
 * for the many above ones, keeps both convergence and g's coverage. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parzen.h"
#include "sampler_internal.h"
#include "common/pcg.h"

#define TPE_PRIOR_WEIGHT 1.0
#define TPE_GAMMA_CAP 25       /* default_gamma: at most 25 "below" trials */
#define TPE_STREAM_BASE 1000   /* stream key b of a group: 1000 + its first parameter */
/* vaesearch's multivariate TPE: the least bandwidth of a joint estimator, as a fraction
 * of each parameter's range (Watanabe 2023's minimum bandwidth factor) */
#define TPE_JOINT_MIN_BANDWIDTH 0.03

/* ---------------------------------------------------------------- the history */

/* Finished trials in rank order: COMPLETE before PRUNED (Optuna ranks a pruned trial
 * below every complete one), a NaN value last within its state, then by value in the
 * study's direction, then by trial number. */
typedef struct ranked_obs {
    const vs_trial_obs *o;
    int maximize;
} ranked_obs;

static int rank_class(const vs_trial_obs *o) { return (o->state == VS_OBS_PRUNED) * 2 + (isnan(o->value) ? 1 : 0); }

static int compare_rank(const void *pa, const void *pb) {
    const ranked_obs *a = pa, *b = pb;
    int ca = rank_class(a->o), cb = rank_class(b->o);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (!(ca & 1) && a->o->value != b->o->value) {
        int a_better = a->maximize ? a->o->value > b->o->value : a->o->value < b->o->value;
        return a_better ? -1 : 1;
    }
    return (a->o->number > b->o->number) - (a->o->number < b->o->number);
}

/* Trial-number order, ties (which a sane history has not) broken by everything else so
 * the order never depends on the order given. */
static int compare_number(const void *pa, const void *pb) {
    const vs_trial_obs *a = *(const vs_trial_obs *const *)pa, *b = *(const vs_trial_obs *const *)pb;
    if (a->number != b->number) return a->number < b->number ? -1 : 1;
    if (a->state != b->state) return a->state < b->state ? -1 : 1;
    return memcmp(&a->value, &b->value, sizeof a->value);
}

/* Every observation must carry usable internal values: the estimators take logs of
 * them and index choices by them. NaN is an absent parameter (a condition left it out). */
static int check_history(const vs_space *s, const vs_trial_obs *h, int n, vs_error *err) {
    for (int i = 0; i < n; i++) {
        const vs_trial_obs *o = &h[i];
        if (o->state != VS_OBS_COMPLETE && o->state != VS_OBS_PRUNED && o->state != VS_OBS_PENDING)
            return vs_errorf(err, "TPE: trial %d: unknown state %d", o->number, (int)o->state);
        if (s->n_params > 0 && !o->values) return vs_errorf(err, "TPE: trial %d: no parameter values", o->number);
        for (int p = 0; p < s->n_params; p++) {
            const vs_param *par = &s->params[p];
            double v = o->values[p];
            if (par->kind == VS_PARAM_CONSTANT || isnan(v)) continue;
            if (!isfinite(v)) return vs_errorf(err, "TPE: trial %d: parameters.%s is %g", o->number, par->name, v);
            if (par->kind == VS_PARAM_CATEGORICAL && (v < 0 || v >= par->n_choices || v != floor(v)))
                return vs_errorf(err, "TPE: trial %d: parameters.%s: choice index %g is not in 0..%d", o->number,
                                 par->name, v, par->n_choices - 1);
            if ((par->kind == VS_PARAM_LOG_UNIFORM || (par->kind == VS_PARAM_INT && par->log)) && !(v > 0))
                return vs_errorf(err, "TPE: trial %d: parameters.%s: %g is not > 0 on a log scale", o->number,
                                 par->name, v);
        }
    }
    return 0;
}

/* The below and above groups, each in trial-number order, and the finished trials in
 * trial-number order (the groups of parameters are made from them). */
typedef struct split {
    const vs_trial_obs **below, **above, **finished;
    int n_below, n_above, n_finished;
} split;

static void split_history(const vs_space *s, const vs_trial_obs *h, int n, int n_finished, split *out) {
    ranked_obs *ranked = vs_xmalloc((size_t)(n_finished ? n_finished : 1) * sizeof *ranked);
    int r = 0;
    for (int i = 0; i < n; i++)
        if (h[i].state != VS_OBS_PENDING) ranked[r++] = (ranked_obs){&h[i], s->maximize};
    qsort(ranked, (size_t)r, sizeof *ranked, compare_rank);

    /* Optuna's default_gamma, in floating point as it is there: ceil(0.1 * 30) is 4. It
     * counts every finished trial, also those a parameter is absent from. */
    int gamma = (int)ceil(0.1 * n_finished);
    if (gamma > TPE_GAMMA_CAP) gamma = TPE_GAMMA_CAP;
    if (gamma > n_finished) gamma = n_finished;

    size_t cap = (size_t)(n ? n : 1);
    out->below = vs_xmalloc(cap * sizeof *out->below);
    out->above = vs_xmalloc(cap * sizeof *out->above);
    out->finished = vs_xmalloc(cap * sizeof *out->finished);
    out->n_below = out->n_above = 0;
    out->n_finished = r;
    for (int i = 0; i < r; i++) {
        out->finished[i] = ranked[i].o;
        if (i < gamma) out->below[out->n_below++] = ranked[i].o;
        else out->above[out->n_above++] = ranked[i].o;
    }
    for (int i = 0; i < n; i++)   /* the constant liar: in flight counts as bad */
        if (h[i].state == VS_OBS_PENDING) out->above[out->n_above++] = &h[i];
    qsort(out->below, (size_t)out->n_below, sizeof *out->below, compare_number);
    qsort(out->above, (size_t)out->n_above, sizeof *out->above, compare_number);
    qsort(out->finished, (size_t)out->n_finished, sizeof *out->finished, compare_number);
    free(ranked);
}

static void split_free(split *sp) {
    free(sp->below);
    free(sp->above);
    free(sp->finished);
}

/* ---------------------------------------------------------------- groups */

/* A parameter TPE models: not a constant, not a range of one value (Optuna leaves out
 * such "single" distributions). */
static int modelled(const vs_param *p) {
    return p->kind == VS_PARAM_CATEGORICAL ? p->n_choices > 1 : p->kind != VS_PARAM_CONSTANT && p->low < p->high;
}

static int present(const vs_trial_obs *o, int p) { return !isnan(o->values[p]); }

/* Whether p may share a group: multivariate, and for vaesearch's variant not a
 * categorical (each is alone: see the top of this file). */
static int joinable(const vs_space *s, int p) {
    if (s->tpe_multivariate == VS_TPE_UNIVARIATE) return 0;
    return s->tpe_multivariate == VS_TPE_OPTUNA || s->params[p].kind != VS_PARAM_CATEGORICAL;
}

/* group[p]: the group of parameter p (the index of its first parameter), -1 when not
 * modelled. Univariate: each parameter alone. Multivariate: two parameters share a group
 * when every finished trial has both or neither (Optuna's _GroupDecomposedSearchSpace
 * over COMPLETE and PRUNED trials: the coarsest partition that each trial's set of
 * parameters refines; without conditions, one group); a parameter no finished trial has
 * is alone (Optuna samples it independently), and so is one that may not join. */
static void make_groups(const vs_space *s, const split *sp, int *group) {
    int nf = sp->n_finished;
    for (int p = 0; p < s->n_params; p++) {
        group[p] = modelled(&s->params[p]) ? p : -1;
        if (group[p] < 0 || !joinable(s, p)) continue;
        int seen = 0;
        for (int i = 0; i < nf && !seen; i++) seen = present(sp->finished[i], p);
        for (int q = 0; q < p && seen; q++) {
            if (group[q] != q || !joinable(s, q)) continue;
            int same = 1;
            for (int i = 0; i < nf && same; i++) same = present(sp->finished[i], p) == present(sp->finished[i], q);
            if (same) {
                group[p] = q;
                break;
            }
        }
    }
}

/* ---------------------------------------------------------------- proposing */

/* The observations of some parameters among trials: those that have every one of them
 * (Optuna's _get_internal_repr), as rows of internal values. */
static int gather(const vs_trial_obs *const *trials, int n, const int *params, int n_params, double *obs) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        int all = 1;
        for (int j = 0; j < n_params && all; j++) all = present(trials[i], params[j]);
        if (!all) continue;
        for (int j = 0; j < n_params; j++) obs[(size_t)m * n_params + j] = trials[i]->values[params[j]];
        m++;
    }
    return m;
}

/* The below (l) and above (g) estimators of some parameters. */
typedef struct ratio {
    vs_parzen below, above;
} ratio;

static void ratio_build(ratio *r, const split *sp, const vs_parzen_dim *dims, const int *params, int n_params,
                        double min_bandwidth, double *obs) {
    int m = gather(sp->below, sp->n_below, params, n_params, obs);
    vs_parzen_build(&r->below, dims, n_params, obs, m, NULL, TPE_PRIOR_WEIGHT, min_bandwidth);
    m = gather(sp->above, sp->n_above, params, n_params, obs);
    vs_parzen_build(&r->above, dims, n_params, obs, m, NULL, TPE_PRIOR_WEIGHT, min_bandwidth);
}

/* log l(x) - log g(x); scratch holds as many doubles as either has components. */
static double ratio_score(const ratio *r, const double *x, double *scratch) {
    return vs_parzen_log_pdf(&r->below, x, scratch) - vs_parzen_log_pdf(&r->above, x, scratch);
}

static void ratio_free(ratio *r) {
    vs_parzen_free(&r->below);
    vs_parzen_free(&r->above);
}

/* Proposes the parameters params[0..n_params-1] of one group into values: tpe_candidates
 * draws from the joint l, the first with the best score. Optuna's score is the joint
 * log l(x) - log g(x). vaesearch's, for a group of several, adds each parameter's own
 * (univariate) log ratio, and its joint estimators' bandwidths are at least
 * TPE_JOINT_MIN_BANDWIDTH of each range instead of the magic clip's: see the top of
 * this file. */
static void propose_group(const vs_space *s, int number, const split *sp, const int *params, int n_params,
                          double *values) {
    int pooled = s->tpe_multivariate == VS_TPE_MULTIVARIATE && n_params > 1;
    vs_parzen_dim *dims = vs_xmalloc((size_t)n_params * sizeof *dims);
    for (int j = 0; j < n_params; j++) vs_parzen_dim_of(&s->params[params[j]], &dims[j]);
    int most = (sp->n_below > sp->n_above ? sp->n_below : sp->n_above) + 1;
    double *obs = vs_xmalloc((size_t)most * (size_t)n_params * sizeof *obs);
    ratio joint, *own = pooled ? vs_xcalloc((size_t)n_params, sizeof *own) : NULL;
    ratio_build(&joint, sp, dims, params, n_params, pooled ? TPE_JOINT_MIN_BANDWIDTH : 0.0, obs);
    for (int j = 0; pooled && j < n_params; j++) ratio_build(&own[j], sp, &dims[j], &params[j], 1, 0.0, obs);
    free(obs);

    double *scratch = vs_xmalloc((size_t)most * sizeof *scratch);
    double *x = vs_xmalloc((size_t)n_params * 2 * sizeof *x), *best = x + n_params;
    vs_pcg32 g = vs_stream(s->seed, VS_RNG_SAMPLER, (uint64_t)number, TPE_STREAM_BASE + (uint64_t)params[0]);
    double best_score = -INFINITY;
    for (int c = 0; c < s->tpe_candidates; c++) {
        vs_parzen_sample(&joint.below, &g, x);
        double score = ratio_score(&joint, x, scratch);
        for (int j = 0; pooled && j < n_params; j++) score += ratio_score(&own[j], &x[j], scratch);
        if (isnan(score)) score = -INFINITY;
        if (c == 0 || score > best_score) {
            best_score = score;
            memcpy(best, x, (size_t)n_params * sizeof *x);
        }
    }
    for (int j = 0; j < n_params; j++) values[params[j]] = best[j];
    free(x);
    free(scratch);
    ratio_free(&joint);
    for (int j = 0; pooled && j < n_params; j++) ratio_free(&own[j]);
    free(own);
    free(dims);
}

int vs_sampler_tpe(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                   vs_error *err) {
    if (s->tpe_startup_trials < 0)
        return vs_errorf(err, "TPE: startup trials must be >= 0 (got %d)", s->tpe_startup_trials);
    if (s->tpe_candidates < 1) return vs_errorf(err, "TPE: candidates must be >= 1 (got %d)", s->tpe_candidates);
    if (check_history(s, history, n_history, err)) return -1;
    int n_finished = 0;
    for (int i = 0; i < n_history; i++) n_finished += history[i].state != VS_OBS_PENDING;
    if (n_finished < s->tpe_startup_trials) return vs_sampler_random(s, number, values, err);

    split sp;
    split_history(s, history, n_history, n_finished, &sp);
    int *group = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * 2 * sizeof *group), *members = group + s->n_params;
    make_groups(s, &sp, group);
    for (int p = 0; p < s->n_params; p++) {
        const vs_param *par = &s->params[p];
        if (group[p] < 0) values[p] = par->kind == VS_PARAM_CONSTANT || par->kind == VS_PARAM_CATEGORICAL ? 0.0 : par->low;
        if (group[p] != p) continue;
        int m = 0;
        for (int q = p; q < s->n_params; q++)
            if (group[q] == p) members[m++] = q;
        propose_group(s, number, &sp, members, m, values);
    }
    free(group);
    split_free(&sp);
    return 0;
}
