/* test_sampler: the grid, random and TPE samplers (sampler.h). Random: determinism,
 * every kind inside its domain and on its step grid, and its distributions checked by
 * Kolmogorov-Smirnov and chi-square statistics against the laws docs/search-algorithms.md
 * states (Optuna's, for a log-scale int). Grid: every point exactly once, in the order
 * of an independently computed Fisher-Yates permutation. TPE: it beats random search on
 * a cheap function, its constant liar spreads trials in flight, it ranks PRUNED below
 * COMPLETE, and its proposals do not depend on the history's order or direction's sign.
 * Conditions: absent parameters, and values given by the caller (an enqueued trial).
 * The spaces are built by hand, so the test does not depend on space/'s parser. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "common/pcg.h"
#include "orchestrator/sampler.h"

/* ---------------------------------------------------------------- spaces by hand */

static vs_param param(const char *name, vs_param_kind kind, double low, double high, double step, int log_scale) {
    vs_param p;
    memset(&p, 0, sizeof p);
    p.name = (char *)name;
    p.kind = kind;
    p.low = low;
    p.high = high;
    p.step = step;
    p.log = log_scale;
    return p;
}

static vs_param categorical(const char *name, int n_choices) {
    vs_param p = param(name, VS_PARAM_CATEGORICAL, 0, 0, 0, 0);
    p.n_choices = n_choices;
    return p;
}

static vs_space space_of(vs_param *params, int n, vs_sampler_kind kind, uint64_t seed) {
    vs_space s;
    memset(&s, 0, sizeof s);
    s.name = "test";
    s.sampler = kind;
    s.seed = seed;
    s.tpe_startup_trials = 10;
    s.tpe_candidates = 24;
    s.n_params = n;
    s.params = params;
    return s;
}

static int on_step_grid(double v, double low, double step) {
    double k = (v - low) / step;
    return fabs(k - round(k)) < 1e-9;
}

/* ---------------------------------------------------------------- statistics */

static int compare_doubles(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The Kolmogorov-Smirnov distance of samples (sorted in place) from U(0, 1). */
static double ks_uniform(double *u, int n) {
    qsort(u, (size_t)n, sizeof *u, compare_doubles);
    double d = 0;
    for (int i = 0; i < n; i++) {
        double above = (i + 1.0) / n - u[i], below = u[i] - (double)i / n;
        if (above > d) d = above;
        if (below > d) d = below;
    }
    return d;
}

/* KS's critical distance at alpha = 0.001 for large n: 1.9495 / sqrt(n). */
static double ks_critical(int n) { return 1.9495 / sqrt((double)n); }

static double chi_square(const int *counts, const double *expected_p, int k, int n) {
    double chi2 = 0;
    for (int i = 0; i < k; i++) {
        double e = expected_p[i] * n;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    return chi2;
}

/* The chi-square distribution's 99.9% quantile (Wilson-Hilferty; within 1% for the
 * degrees of freedom used here). */
static double chi_square_critical(int dof) {
    double z = 3.0902, h = 2.0 / (9.0 * dof);
    double c = 1.0 - h + z * sqrt(h);
    return dof * c * c * c;
}

/* ---------------------------------------------------------------- random */

enum { N_DRAWS = 5000 };

static void test_random_determinism(void) {
    vs_param ps[] = {param("lr", VS_PARAM_LOG_UNIFORM, 1e-5, 1e-1, 0, 0), param("x", VS_PARAM_UNIFORM, -1, 1, 0, 0),
                     param("k", VS_PARAM_INT, 1, 1000, 1, 0), categorical("c", 7)};
    vs_space a = space_of(ps, 4, VS_SAMPLER_RANDOM, 42), b = space_of(ps, 4, VS_SAMPLER_RANDOM, 43);
    vs_error err;
    int same_as_other_seed = 0, same_as_other_number = 0;
    for (int n = 0; n < 50; n++) {
        double v1[4], v2[4], w[4], next[4];
        CHECK_OK(vs_sampler_propose(&a, n, NULL, 0, v1, &err), &err);
        CHECK_OK(vs_sampler_propose(&a, n, NULL, 0, v2, &err), &err);
        CHECK(memcmp(v1, v2, sizeof v1) == 0);
        CHECK_OK(vs_sampler_propose(&b, n, NULL, 0, w, &err), &err);
        CHECK_OK(vs_sampler_propose(&a, n + 1, NULL, 0, next, &err), &err);
        same_as_other_seed += v1[0] == w[0] || v1[1] == w[1];
        same_as_other_number += v1[0] == next[0] || v1[1] == next[1];
    }
    CHECK_MSG(same_as_other_seed == 0, "%d proposals repeat under another seed", same_as_other_seed);
    CHECK_MSG(same_as_other_number == 0, "%d proposals repeat for the next number", same_as_other_number);

    /* Parameter p of trial n is the first draw of its own stream (a = n, b = p). */
    vs_pcg32 g = vs_stream(42, VS_RNG_SAMPLER, 7, 1);
    double v[4];
    CHECK_OK(vs_sampler_propose(&a, 7, NULL, 0, v, &err), &err);
    CHECK(v[1] == -1 + vs_pcg32_unit_double(&g) * 2);
}

static void test_random_domains_and_laws(void) {
    vs_param ps[] = {
        param("lr", VS_PARAM_LOG_UNIFORM, 1e-5, 1e-1, 0, 0),  /* 0 */
        param("x", VS_PARAM_UNIFORM, -2, 3, 0, 0),            /* 1 */
        param("drop", VS_PARAM_UNIFORM, 0, 1, 0.25, 0),       /* 2: 5 values */
        param("k", VS_PARAM_INT, 2, 20, 3, 0),                /* 3: 2, 5, ..., 20: 7 values */
        param("dim", VS_PARAM_INT, 1, 8, 1, 1),               /* 4: log scale */
        categorical("c", 5),                                  /* 5 */
        param("const", VS_PARAM_CONSTANT, 0, 0, 0, 0),        /* 6 */
    };
    vs_space s = space_of(ps, 7, VS_SAMPLER_RANDOM, 2024);
    static double u_lr[N_DRAWS], u_x[N_DRAWS];
    int c_drop[5] = {0}, c_k[7] = {0}, c_dim[8] = {0}, c_cat[5] = {0}, c_x[20] = {0};
    int bad = 0;
    vs_error err;
    for (int n = 0; n < N_DRAWS; n++) {
        double v[7];
        if (vs_sampler_propose(&s, n, NULL, 0, v, &err)) {
            CHECK_MSG(0, "propose %d: %s", n, err.msg);
            return;
        }
        bad += !(v[0] >= 1e-5 && v[0] <= 1e-1);
        bad += !(v[1] >= -2 && v[1] < 3);
        bad += !(v[2] >= 0 && v[2] <= 1 && on_step_grid(v[2], 0, 0.25));
        bad += !(v[3] >= 2 && v[3] <= 20 && v[3] == floor(v[3]) && on_step_grid(v[3], 2, 3));
        bad += !(v[4] >= 1 && v[4] <= 8 && v[4] == floor(v[4]));
        bad += !(v[5] >= 0 && v[5] <= 4 && v[5] == floor(v[5]));
        bad += v[6] != 0;
        if (bad) break;
        u_lr[n] = (log(v[0]) - log(1e-5)) / (log(1e-1) - log(1e-5));
        u_x[n] = (v[1] + 2) / 5;
        c_x[(int)(u_x[n] * 20)]++;
        c_drop[(int)round(v[2] / 0.25)]++;
        c_k[(int)round((v[3] - 2) / 3)]++;
        c_dim[(int)v[4] - 1]++;
        c_cat[(int)v[5]]++;
    }
    CHECK_MSG(bad == 0, "a value outside its domain or step grid");

    double d_lr = ks_uniform(u_lr, N_DRAWS), d_x = ks_uniform(u_x, N_DRAWS);
    CHECK_MSG(d_lr < ks_critical(N_DRAWS), "log-uniform: KS %g >= %g", d_lr, ks_critical(N_DRAWS));
    CHECK_MSG(d_x < ks_critical(N_DRAWS), "uniform: KS %g >= %g", d_x, ks_critical(N_DRAWS));

    double p20[20], p5[5], p7[7], p_dim[8];
    for (int i = 0; i < 20; i++) p20[i] = 1.0 / 20;
    for (int i = 0; i < 5; i++) p5[i] = 1.0 / 5;
    for (int i = 0; i < 7; i++) p7[i] = 1.0 / 7;
    /* Log-scale int (Optuna's law): uniform in log over [0.5, 8.5], then rounded, so k
     * has probability log((k + 0.5) / (k - 0.5)) / log(8.5 / 0.5). */
    for (int k = 1; k <= 8; k++) p_dim[k - 1] = log((k + 0.5) / (k - 0.5)) / log(8.5 / 0.5);
    double chi;
    chi = chi_square(c_x, p20, 20, N_DRAWS);
    CHECK_MSG(chi < chi_square_critical(19), "uniform bins: chi2 %g", chi);
    chi = chi_square(c_drop, p5, 5, N_DRAWS);
    CHECK_MSG(chi < chi_square_critical(4), "uniform with step: chi2 %g", chi);
    chi = chi_square(c_k, p7, 7, N_DRAWS);
    CHECK_MSG(chi < chi_square_critical(6), "int with step: chi2 %g", chi);
    chi = chi_square(c_cat, p5, 5, N_DRAWS);
    CHECK_MSG(chi < chi_square_critical(4), "categorical: chi2 %g", chi);
    chi = chi_square(c_dim, p_dim, 8, N_DRAWS);
    CHECK_MSG(chi < chi_square_critical(7), "log int: chi2 %g", chi);
    /* ... and not merely uniform over 1..8, which a log law is far from. */
    double flat[8];
    for (int i = 0; i < 8; i++) flat[i] = 1.0 / 8;
    chi = chi_square(c_dim, flat, 8, N_DRAWS);
    CHECK_MSG(chi > chi_square_critical(7), "log int looks uniform: chi2 %g", chi);
}

static void test_bad_input(void) {
    vs_error err;
    double v[2];
    vs_param bad_log[] = {param("lr", VS_PARAM_LOG_UNIFORM, 0, 1, 0, 0)};
    vs_space s = space_of(bad_log, 1, VS_SAMPLER_RANDOM, 1);
    CHECK(vs_sampler_propose(&s, 0, NULL, 0, v, &err) == -1 && strstr(err.msg, "lr"));
    vs_param bad_range[] = {param("x", VS_PARAM_UNIFORM, 2, 1, 0, 0)};
    s = space_of(bad_range, 1, VS_SAMPLER_RANDOM, 1);
    CHECK(vs_sampler_propose(&s, 0, NULL, 0, v, &err) == -1 && strstr(err.msg, "parameters.x"));
    vs_param no_choices[] = {categorical("c", 0)};
    s = space_of(no_choices, 1, VS_SAMPLER_RANDOM, 1);
    CHECK(vs_sampler_propose(&s, 0, NULL, 0, v, &err) == -1 && strstr(err.msg, "parameters.c"));
    vs_param ok[] = {param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0)};
    s = space_of(ok, 1, VS_SAMPLER_RANDOM, 1);
    CHECK(vs_sampler_propose(&s, -1, NULL, 0, v, &err) == -1);
}

/* ---------------------------------------------------------------- grid */

/* The permutation as docs/search-algorithms.md defines it, computed in full. */
static int64_t *full_permutation(uint64_t seed, int64_t size) {
    int64_t *perm = malloc((size_t)size * sizeof *perm);
    for (int64_t i = 0; i < size; i++) perm[i] = i;
    vs_pcg32 g = vs_stream(seed, VS_RNG_SAMPLER, 0x67726964, 0);
    for (int64_t i = 0; i < size - 1; i++) {
        int64_t j = i + vs_pcg32_bounded(&g, (uint32_t)(size - i));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return perm;
}

static void test_grid(void) {
    vs_param ps[] = {
        categorical("c", 3),                            /* 3 */
        param("k", VS_PARAM_INT, 0, 6, 2, 0),           /* 0, 2, 4, 6 */
        param("const", VS_PARAM_CONSTANT, 0, 0, 0, 0),  /* 1 */
        param("x", VS_PARAM_UNIFORM, 0.1, 0.5, 0.2, 0), /* 0.1, 0.3, 0.5 */
    };
    enum { SIZE = 36 };
    vs_space s = space_of(ps, 4, VS_SAMPLER_GRID, 99);
    vs_error err;
    int64_t *perm = full_permutation(99, SIZE);
    int seen[SIZE] = {0}, in_order = 0;
    for (int n = 0; n < SIZE; n++) {
        double v[4];
        if (vs_sampler_propose(&s, n, NULL, 0, v, &err)) {
            CHECK_MSG(0, "grid %d: %s", n, err.msg);
            break;
        }
        int ci = (int)v[0], ki = (int)round(v[1] / 2), xi = (int)round((v[3] - 0.1) / 0.2);
        CHECK(v[0] == ci && ci >= 0 && ci < 3 && v[1] == 2.0 * ki && ki >= 0 && ki < 4 && v[2] == 0);
        CHECK(xi >= 0 && xi < 3 && fabs(v[3] - (0.1 + 0.2 * xi)) < 1e-12 && v[3] <= 0.5);
        int point = ((ci * 4 + ki) * 1 + 0) * 3 + xi;   /* mixed radix, the last parameter fastest */
        seen[point]++;
        CHECK_MSG(point == perm[n], "trial %d: point %d, the permutation says %lld", n, point, (long long)perm[n]);
        in_order += point == n;
    }
    for (int i = 0; i < SIZE; i++) CHECK_MSG(seen[i] == 1, "point %d visited %d times", i, seen[i]);
    CHECK(in_order < SIZE / 2);   /* shuffled, not enumerated */
    free(perm);

    double v[4];
    CHECK(vs_sampler_propose(&s, SIZE, NULL, 0, v, &err) == -1 && strstr(err.msg, "36"));

    /* Another seed, another order; the same seed, the same one. */
    vs_space other = space_of(ps, 4, VS_SAMPLER_GRID, 100);
    int differ = 0;
    for (int n = 0; n < SIZE; n++) {
        double a[4], b[4];
        CHECK_OK(vs_sampler_propose(&s, n, NULL, 0, a, &err), &err);
        CHECK_OK(vs_sampler_propose(&other, n, NULL, 0, b, &err), &err);
        differ += memcmp(a, b, sizeof a) != 0;
    }
    CHECK(differ > SIZE / 2);

    /* A bigger grid: the lazy permutation agrees with the full one far into it. */
    vs_param big[] = {param("a", VS_PARAM_INT, 0, 999, 1, 0), param("b", VS_PARAM_INT, 0, 99, 1, 0)};
    vs_space sb = space_of(big, 2, VS_SAMPLER_GRID, 5);
    int64_t *bperm = full_permutation(5, 100000);
    int mismatches = 0;
    for (int n = 0; n < 3000; n += 97) {
        double w[2];
        CHECK_OK(vs_sampler_propose(&sb, n, NULL, 0, w, &err), &err);
        mismatches += (int64_t)(w[0] * 100 + w[1]) != bperm[n];
    }
    CHECK(mismatches == 0);
    free(bperm);

    /* Not a grid: a continuous parameter; more than 10 million points. */
    vs_param cont[] = {param("lr", VS_PARAM_LOG_UNIFORM, 1e-4, 1e-1, 0, 0)};
    vs_space sc = space_of(cont, 1, VS_SAMPLER_GRID, 1);
    CHECK(vs_sampler_propose(&sc, 0, NULL, 0, v, &err) == -1 && strstr(err.msg, "lr"));
    vs_param huge[] = {param("a", VS_PARAM_INT, 0, 9999, 1, 0), param("b", VS_PARAM_INT, 0, 9999, 1, 0)};
    vs_space sh = space_of(huge, 2, VS_SAMPLER_GRID, 1);
    CHECK(vs_sampler_propose(&sh, 0, NULL, 0, v, &err) == -1 && strstr(err.msg, "points"));
}

/* ---------------------------------------------------------------- TPE */

/* The test function: a quadratic bowl in log10(lr) around 3e-3, one in x around 0.3,
 * and a penalty per choice of c (best: choice 1). */
static double objective(const double *v) {
    static const double penalty[4] = {0.5, 0.0, 0.8, 0.3};
    double a = log10(v[0]) - log10(3e-3), b = v[1] - 0.3;
    return a * a + 4.0 * b * b + penalty[(int)v[2]];
}

/* 100 trials (10 random, then 90 by TPE): over seeds 1..100, TPE finds the better best
 * in 97 (in 90 with 60 trials, which leaves 8-of-10 too close to chance). */
enum { N_TRIALS = 100, N_PARAMS = 3 };

static vs_param tpe_params[N_PARAMS];

static void init_tpe_params(void) {
    tpe_params[0] = param("lr", VS_PARAM_LOG_UNIFORM, 1e-5, 1e-1, 0, 0);
    tpe_params[1] = param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0);
    tpe_params[2] = categorical("c", 4);
}

/* Runs n sequential trials (the history is every earlier trial); returns the best value.
 * values[n][N_PARAMS] and obs[n] stay filled for later use. */
static double run_sequential(vs_space *s, int n, double (*values)[N_PARAMS], double *results, vs_trial_obs *obs) {
    double best = INFINITY;
    vs_error err;
    for (int t = 0; t < n; t++) {
        if (vs_sampler_propose(s, t, obs, t, values[t], &err)) {
            CHECK_MSG(0, "trial %d: %s", t, err.msg);
            return NAN;
        }
        results[t] = objective(values[t]);
        obs[t] = (vs_trial_obs){t, values[t], VS_OBS_COMPLETE, s->maximize ? -results[t] : results[t]};
        if (results[t] < best) best = results[t];
    }
    return best;
}

static void test_tpe_beats_random(void) {
    static double values[N_TRIALS][N_PARAMS], results[N_TRIALS];
    static vs_trial_obs obs[N_TRIALS];
    int tpe_wins = 0;
    double tpe_sum = 0, random_sum = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        vs_space tpe = space_of(tpe_params, N_PARAMS, VS_SAMPLER_TPE, seed);
        vs_space rnd = space_of(tpe_params, N_PARAMS, VS_SAMPLER_RANDOM, seed);
        double best_tpe = run_sequential(&tpe, N_TRIALS, values, results, obs);
        double best_random = run_sequential(&rnd, N_TRIALS, values, results, obs);
        tpe_wins += best_tpe < best_random;
        tpe_sum += best_tpe;
        random_sum += best_random;
    }
    printf("TPE vs random, 10 seeds x %d trials: TPE better %d times; mean best %.4f vs %.4f\n", N_TRIALS, tpe_wins,
           tpe_sum / 10, random_sum / 10);
    CHECK_MSG(tpe_wins >= 8, "TPE beat random in only %d of 10 seeds", tpe_wins);
    CHECK(tpe_sum < random_sum);
}

/* The first tpe_startup_trials proposals are the random sampler's, and PENDING trials
 * do not count towards the start-up. */
static void test_tpe_startup(void) {
    static double values[12][N_PARAMS], results[12];
    static vs_trial_obs obs[12];
    vs_space tpe = space_of(tpe_params, N_PARAMS, VS_SAMPLER_TPE, 3);
    vs_space rnd = space_of(tpe_params, N_PARAMS, VS_SAMPLER_RANDOM, 3);
    run_sequential(&tpe, 10, values, results, obs);
    vs_error err;
    int same = 1;
    for (int t = 0; t < 10; t++) {
        double r[N_PARAMS];
        CHECK_OK(vs_sampler_propose(&rnd, t, NULL, 0, r, &err), &err);
        same &= memcmp(r, values[t], sizeof r) == 0;
    }
    CHECK(same);
    double a[N_PARAMS], r[N_PARAMS];
    obs[9].state = VS_OBS_PENDING;   /* 9 finished + 1 pending: still random */
    CHECK_OK(vs_sampler_propose(&tpe, 10, obs, 10, a, &err), &err);
    CHECK_OK(vs_sampler_propose(&rnd, 10, NULL, 0, r, &err), &err);
    CHECK(memcmp(a, r, sizeof a) == 0);
    obs[9].state = VS_OBS_COMPLETE;   /* 10 finished: TPE */
    CHECK_OK(vs_sampler_propose(&tpe, 10, obs, 10, a, &err), &err);
    CHECK(memcmp(a, r, sizeof a) != 0);
}

/* Distance between two proposals: log10(lr) scaled to [0, 1], x, and 1 for another choice. */
static double proposal_distance(const double *a, const double *b) {
    double dl = (log10(a[0]) - log10(b[0])) / 4.0, dx = a[1] - b[1], dc = a[2] != b[2];
    return sqrt(dl * dl + dx * dx + dc * dc);
}

/* Trials in flight: with the constant liar, each proposal sees the earlier ones as
 * PENDING (bad), so they spread; without it they crowd the same region. */
static void test_tpe_constant_liar(void) {
    enum { DONE = 30, FLIGHT = 8 };
    static double values[DONE + FLIGHT][N_PARAMS], results[DONE + FLIGHT], alone[FLIGHT][N_PARAMS];
    static vs_trial_obs obs[DONE + FLIGHT];
    double spread_liar = 0, spread_alone = 0;
    int duplicates = 0, wider = 0;
    vs_error err;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        vs_space s = space_of(tpe_params, N_PARAMS, VS_SAMPLER_TPE, seed);
        run_sequential(&s, DONE, values, results, obs);
        for (int i = 0; i < FLIGHT; i++) {
            int n = DONE + i;
            CHECK_OK(vs_sampler_propose(&s, n, obs, n, values[n], &err), &err);
            obs[n] = (vs_trial_obs){n, values[n], VS_OBS_PENDING, 0.0};
            CHECK_OK(vs_sampler_propose(&s, n, obs, DONE, alone[i], &err), &err);
        }
        double sl = 0, sa = 0;
        for (int i = 0; i < FLIGHT; i++)
            for (int j = i + 1; j < FLIGHT; j++) {
                double d = proposal_distance(values[DONE + i], values[DONE + j]);
                duplicates += d < 1e-9;
                sl += d;
                sa += proposal_distance(alone[i], alone[j]);
            }
        wider += sl > sa;
        spread_liar += sl;
        spread_alone += sa;
    }
    printf("trials in flight: mean pairwise distance %.4f with the liar, %.4f without; wider in %d of 10 seeds\n",
           spread_liar / (10 * FLIGHT * (FLIGHT - 1) / 2), spread_alone / (10 * FLIGHT * (FLIGHT - 1) / 2), wider);
    CHECK(duplicates == 0);
    CHECK(spread_liar > 1.2 * spread_alone);
    CHECK(wider >= 7);
}

/* The proposal does not depend on the order of the history, and maximizing -f is
 * minimizing f. */
static void test_tpe_invariance(void) {
    enum { N = 40 };
    static double values[N][N_PARAMS], results[N];
    static vs_trial_obs obs[N], shuffled[N], negated[N];
    vs_space s = space_of(tpe_params, N_PARAMS, VS_SAMPLER_TPE, 11);
    run_sequential(&s, N, values, results, obs);
    for (int i = 30; i < 34; i++) obs[i].state = VS_OBS_PRUNED;
    for (int i = 34; i < N; i++) obs[i].state = VS_OBS_PENDING;
    memcpy(shuffled, obs, sizeof obs);
    vs_pcg32 g = vs_stream(1, 99, 0, 0);
    for (int i = N - 1; i > 0; i--) {
        int j = (int)vs_pcg32_bounded(&g, (uint32_t)i + 1);
        vs_trial_obs t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    for (int i = 0; i < N; i++) negated[i] = obs[i], negated[i].value = -obs[i].value;
    vs_space smax = s;
    smax.maximize = 1;
    vs_error err;
    int order_same = 1, direction_same = 1;
    for (int n = N; n < N + 10; n++) {
        double a[N_PARAMS], b[N_PARAMS], c[N_PARAMS];
        CHECK_OK(vs_sampler_propose(&s, n, obs, N, a, &err), &err);
        CHECK_OK(vs_sampler_propose(&s, n, shuffled, N, b, &err), &err);
        CHECK_OK(vs_sampler_propose(&smax, n, negated, N, c, &err), &err);
        order_same &= memcmp(a, b, sizeof a) == 0;
        direction_same &= memcmp(a, c, sizeof a) == 0;
    }
    CHECK(order_same);
    CHECK(direction_same);
}

/* Optuna ranks a PRUNED trial below every COMPLETE one whatever its value: the "below"
 * group of 10 finished trials (gamma = 1) is the best COMPLETE one, at x = 0.05, not
 * the far better PRUNED one at x = 0.95 (the others sit in 0.35..0.7). */
static void test_tpe_pruned_rank(void) {
    vs_param ps[] = {param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0)};
    vs_space s = space_of(ps, 1, VS_SAMPLER_TPE, 8);
    double xs[10];
    vs_trial_obs obs[10];
    for (int i = 0; i < 10; i++) {
        xs[i] = i == 0 ? 0.05 : i < 9 ? 0.3 + 0.05 * i : 0.95;
        obs[i] = (vs_trial_obs){i, &xs[i], i < 9 ? VS_OBS_COMPLETE : VS_OBS_PRUNED, i < 9 ? 1.0 + i : -100.0};
    }
    vs_error err;
    int near_best = 0, near_pruned = 0;
    for (int n = 10; n < 30; n++) {
        double v;
        CHECK_OK(vs_sampler_propose(&s, n, obs, 10, &v, &err), &err);
        near_best += v < 0.2;
        near_pruned += v > 0.8;
    }
    CHECK_MSG(near_best >= 15 && near_pruned <= 2, "near the best complete %d, near the pruned %d of 20", near_best,
              near_pruned);
    /* ... while as COMPLETE, it would have been the best. */
    obs[9].state = VS_OBS_COMPLETE;
    near_pruned = 0;
    for (int n = 10; n < 30; n++) {
        double v;
        CHECK_OK(vs_sampler_propose(&s, n, obs, 10, &v, &err), &err);
        near_pruned += v > 0.8;
    }
    CHECK_MSG(near_pruned >= 15, "near the best %d of 20", near_pruned);
}

/* TPE's proposals for stepped, integer and log-integer parameters stay on their grids. */
static void test_tpe_domains(void) {
    vs_param ps[] = {param("drop", VS_PARAM_UNIFORM, 0, 0.9, 0.1, 0), param("k", VS_PARAM_INT, 3, 30, 3, 0),
                     param("dim", VS_PARAM_INT, 16, 1024, 1, 1), categorical("c", 3),
                     param("const", VS_PARAM_CONSTANT, 0, 0, 0, 0)};
    vs_space s = space_of(ps, 5, VS_SAMPLER_TPE, 4);
    static double values[80][5];
    static vs_trial_obs obs[80];
    vs_error err;
    int bad = 0;
    for (int t = 0; t < 80; t++) {
        double *v = values[t];
        if (vs_sampler_propose(&s, t, obs, t, v, &err)) {
            CHECK_MSG(0, "trial %d: %s", t, err.msg);
            return;
        }
        bad += !(v[0] >= 0 && v[0] <= 0.9 && on_step_grid(v[0], 0, 0.1));
        bad += !(v[1] >= 3 && v[1] <= 30 && on_step_grid(v[1], 3, 3));
        bad += !(v[2] >= 16 && v[2] <= 1024 && v[2] == floor(v[2]));
        bad += !(v[3] >= 0 && v[3] <= 2 && v[3] == floor(v[3]));
        bad += v[4] != 0;
        double f = fabs(v[0] - 0.5) + fabs(v[1] - 12) / 30 + fabs(log(v[2] / 200)) + (v[3] != 2);
        obs[t] = (vs_trial_obs){t, v, t % 7 == 3 ? VS_OBS_PRUNED : VS_OBS_COMPLETE, f};
    }
    CHECK_MSG(bad == 0, "%d values off their domains", bad);

    /* Bad history: a choice index out of range; a log parameter <= 0. */
    double broken[5] = {0.5, 3, 16, 7, 0};
    vs_trial_obs b = {0, broken, VS_OBS_COMPLETE, 1.0};
    double v[5];
    CHECK(vs_sampler_propose(&s, 1, &b, 1, v, &err) == -1 && strstr(err.msg, "parameters.c"));
    broken[3] = 0, broken[2] = -1;
    s.tpe_startup_trials = 0;
    CHECK(vs_sampler_propose(&s, 1, &b, 1, v, &err) == -1 && strstr(err.msg, "parameters.dim"));
    s.tpe_candidates = 0;
    CHECK(vs_sampler_propose(&s, 1, NULL, 0, v, &err) == -1);
}

/* ---------------------------------------------------------------- multivariate TPE */

/* Sequential trials of f on a space (history: every earlier trial, COMPLETE); the best. */
static double run_function(vs_space *s, int n, double (*f)(const double *), double *values, vs_trial_obs *obs) {
    double best = INFINITY;
    vs_error err;
    for (int t = 0; t < n; t++) {
        double *v = values + (size_t)t * s->n_params;
        if (vs_sampler_propose(s, t, obs, t, v, &err)) {
            CHECK_MSG(0, "trial %d: %s", t, err.msg);
            return NAN;
        }
        double y = f(v);
        obs[t] = (vs_trial_obs){t, v, VS_OBS_COMPLETE, y};
        if (y < best) best = y;
    }
    return best;
}

/* A narrow valley along the diagonal x = y (its floor at x = y = 0.7): good points
 * share a relation between the parameters, which a joint estimator models and a
 * product of independent ones does not. */
static double diagonal_valley(const double *v) {
    double d = v[0] - v[1], m = v[0] + v[1] - 1.4;
    return 50 * d * d + m * m;
}

static void test_tpe_multivariate_correlation(void) {
    vs_param ps[] = {param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0), param("y", VS_PARAM_UNIFORM, 0, 1, 0, 0)};
    static double values[60 * 2];
    static vs_trial_obs obs[60];
    int wins[3] = {0};
    double sum[3] = {0};
    const int kinds[3] = {VS_TPE_MULTIVARIATE, VS_TPE_OPTUNA, VS_TPE_UNIVARIATE};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        double best[3];
        for (int k = 0; k < 3; k++) {
            vs_space s = space_of(ps, 2, VS_SAMPLER_TPE, seed);
            s.tpe_multivariate = kinds[k];
            best[k] = run_function(&s, 60, diagonal_valley, values, obs);
            sum[k] += best[k];
        }
        wins[0] += best[0] < best[2];
        wins[1] += best[1] < best[2];
    }
    printf("diagonal valley, 20 seeds x 60 trials: mean best %.4f multivariate, %.4f Optuna's multivariate, %.4f "
           "univariate; better than univariate in %d and %d seeds\n",
           sum[0] / 20, sum[1] / 20, sum[2] / 20, wins[0], wins[1]);
    CHECK_MSG(wins[0] >= 13 && sum[0] < 0.5 * sum[2], "multivariate beat univariate in %d of 20 seeds", wins[0]);
}

/* Optuna's multivariate TPE stalls on a categorical: when the best trials share a
 * choice, its joint score hardly ever proposes another (sampler_tpe.c says why);
 * vaesearch's models the categorical alone and proposes the others now and then. The
 * history: 60 trials on 4 numbers and a choice: 10 early ones with choices 0 and 2
 * anywhere, then 50 with choice 1 around the centre (the search dwelt there), the 6
 * best among them. */
static void test_tpe_categorical_stall(void) {
    enum { N = 60, D = 5 };
    vs_param ps[D] = {categorical("c", 3), param("w", VS_PARAM_UNIFORM, 0, 1, 0, 0), param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0),
                      param("y", VS_PARAM_UNIFORM, 0, 1, 0, 0), param("z", VS_PARAM_UNIFORM, 0, 1, 0, 0)};
    static double values[N][D];
    static vs_trial_obs obs[N];
    vs_pcg32 g = vs_stream(5, 99, 1, 0);
    for (int t = 0; t < N; t++) {
        int far = t < 10, best = t >= 10 && t % 8 == 0;
        values[t][0] = far ? (t % 2 ? 0 : 2) : 1;
        double spread = best ? 0.05 : far ? 0.5 : 0.2;
        for (int j = 1; j < D; j++) values[t][j] = 0.5 + spread * (2 * vs_pcg32_unit_double(&g) - 1);
        obs[t] = (vs_trial_obs){t, values[t], VS_OBS_COMPLETE, best ? 0.01 * t : 1 + t};
    }
    int other[2] = {0};
    const int kinds[2] = {VS_TPE_OPTUNA, VS_TPE_MULTIVARIATE};
    vs_error err;
    for (int k = 0; k < 2; k++) {
        vs_space s = space_of(ps, D, VS_SAMPLER_TPE, 3);
        s.tpe_multivariate = kinds[k];
        for (int n = N; n < N + 200; n++) {
            double v[D];
            CHECK_OK(vs_sampler_propose(&s, n, obs, N, v, &err), &err);
            other[k] += v[0] != 1;
        }
    }
    printf("best trials on one choice: another proposed %d of 200 times by Optuna's multivariate TPE, %d by "
           "vaesearch's\n",
           other[0], other[1]);
    CHECK_MSG(other[0] <= 6, "Optuna's multivariate TPE proposed another choice %d times", other[0]);
    CHECK_MSG(other[1] >= 30, "vaesearch's multivariate TPE proposed another choice only %d times", other[1]);
}

/* Conditions: every sampler leaves absent parameters NaN and keeps the others' draws;
 * TPE models each parameter from the trials that have it, and with every parameter in
 * a group of its own (a categorical switch, a parameter it conditions, one always
 * present), vaesearch's multivariate TPE proposes what univariate TPE does. */
static void test_conditions(void) {
    vs_param ps[] = {categorical("a", 2), param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0), param("y", VS_PARAM_INT, 1, 64, 1, 1)};
    double on[1] = {1};
    vs_cond when = {0, 1, on};
    ps[1].n_when = 1, ps[1].when = &when;   /* x only when a is 1 */
    vs_space s = space_of(ps, 3, VS_SAMPLER_RANDOM, 21), plain = s;
    s.has_conditions = 1;
    vs_param unconditional[3];
    memcpy(unconditional, ps, sizeof ps);
    unconditional[1].n_when = 0;
    plain.params = unconditional;
    vs_error err;
    int absent = 0, wrong = 0, same = 1;
    for (int n = 0; n < 200; n++) {
        double v[3], w[3];
        CHECK_OK(vs_sampler_propose(&s, n, NULL, 0, v, &err), &err);
        CHECK_OK(vs_sampler_propose(&plain, n, NULL, 0, w, &err), &err);
        absent += isnan(v[1]);
        wrong += isnan(v[1]) != (v[0] != 1);
        same &= v[0] == w[0] && v[2] == w[2] && (isnan(v[1]) || v[1] == w[1]);
    }
    CHECK_MSG(absent > 60 && absent < 140 && wrong == 0, "x absent %d of 200 times, %d against its condition", absent, wrong);
    CHECK(same);

    static double values[80 * 3], uv[80 * 3];
    static vs_trial_obs obs[80], obs_uv[80];
    s.sampler = VS_SAMPLER_TPE;
    s.tpe_multivariate = VS_TPE_MULTIVARIATE;
    vs_space su = s;
    su.tpe_multivariate = VS_TPE_UNIVARIATE;
    for (int t = 0; t < 80; t++) {
        double *v = values + t * 3, *u = uv + t * 3;
        CHECK_OK(vs_sampler_propose(&s, t, obs, t, v, &err), &err);
        CHECK_OK(vs_sampler_propose(&su, t, obs_uv, t, u, &err), &err);
        wrong += vs_space_presence_mismatch(&s, v) >= 0;
        same &= !memcmp(v, u, 3 * sizeof *v) || (v[0] == u[0] && v[2] == u[2] && isnan(v[1]) && isnan(u[1]));
        double f = fabs(log2(v[2]) - 3) + (v[0] == 1 ? fabs(v[1] - 0.2) : 0.5);
        obs[t] = (vs_trial_obs){t, v, VS_OBS_COMPLETE, f};
        obs_uv[t] = (vs_trial_obs){t, u, VS_OBS_COMPLETE, f};
    }
    CHECK_MSG(wrong == 0, "%d TPE proposals against the conditions", wrong);
    CHECK_MSG(same, "multivariate with every parameter alone differs from univariate");
    /* Optuna's variant models a and y together (always present): another proposal. */
    s.tpe_multivariate = VS_TPE_OPTUNA;
    double o[3], u[3];
    int differ = 0;
    for (int n = 80; n < 90; n++) {
        CHECK_OK(vs_sampler_propose(&s, n, obs, 80, o, &err), &err);
        CHECK_OK(vs_sampler_propose(&su, n, obs, 80, u, &err), &err);
        differ += o[0] != u[0] || o[2] != u[2];
    }
    CHECK(differ > 0);
}

/* Given values (a trial Optuna enqueued with some fixed): kept, the rest proposed, and
 * the conditions decided on both: a given parent switches its child on (the child gets
 * the proposal's value) or off; a given child its conditions leave out comes back NaN
 * (the caller refuses it); the parameters neither given nor switched are the plain
 * proposal's. */
static void test_propose_given(void) {
    vs_param ps[] = {categorical("a", 2), param("x", VS_PARAM_UNIFORM, 0, 1, 0, 0), param("y", VS_PARAM_INT, 1, 64, 1, 1)};
    double on[1] = {1};
    vs_cond when = {0, 1, on};
    ps[1].n_when = 1, ps[1].when = &when;   /* x only when a is 1 */
    vs_space s = space_of(ps, 3, VS_SAMPLER_RANDOM, 5);
    s.has_conditions = 1;
    vs_error err;
    int switched_on = 0, switched_off = 0, bad = 0;
    for (int n = 0; n < 100; n++) {
        double plain[3], v[3], given_on[3] = {1, NAN, NAN}, given_off[3] = {0, NAN, NAN}, given_x[3] = {NAN, 0.25, NAN};
        CHECK_OK(vs_sampler_propose(&s, n, NULL, 0, plain, &err), &err);
        CHECK_OK(vs_sampler_propose_given(&s, n, NULL, 0, given_on, v, &err), &err);
        switched_on += isnan(plain[1]);
        bad += v[0] != 1 || isnan(v[1]) || v[2] != plain[2] || (!isnan(plain[1]) && v[1] != plain[1]);
        CHECK_OK(vs_sampler_propose_given(&s, n, NULL, 0, given_off, v, &err), &err);
        switched_off += !isnan(plain[1]);
        bad += v[0] != 0 || !isnan(v[1]) || v[2] != plain[2];
        CHECK_OK(vs_sampler_propose_given(&s, n, NULL, 0, given_x, v, &err), &err);
        bad += v[0] != plain[0] || (v[0] == 1 ? v[1] != 0.25 : !isnan(v[1]));
    }
    CHECK_MSG(bad == 0 && switched_on > 20 && switched_off > 20, "%d wrong; x switched on %d, off %d times", bad,
              switched_on, switched_off);
}

int main(void) {
    test_random_determinism();
    test_random_domains_and_laws();
    test_bad_input();
    test_grid();
    init_tpe_params();
    test_tpe_beats_random();
    test_tpe_startup();
    test_tpe_constant_liar();
    test_tpe_invariance();
    test_tpe_pruned_rank();
    test_tpe_domains();
    test_tpe_multivariate_correlation();
    test_tpe_categorical_stall();
    test_conditions();
    test_propose_given();
    return test_finish();
}
