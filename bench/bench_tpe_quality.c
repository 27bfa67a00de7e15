/* bench_tpe_quality: how well a sampler optimises a known function (tpe_functions.h), the
 * way `vaesearch run` would with one trial at a time and the stand-in trainer
 * bench_trainer, but calling the sampler directly: trial k is proposed from every
 * earlier trial, COMPLETE with the function's value. bench_tpe.py runs it for each
 * sampler variant and seed beside Optuna and writes the table of docs/performance.md.
 *
 *   bench_tpe_quality FUNCTION SPACE.json SEEDS TRIALS [VARIANT [FIRST_SEED]]
 *       one line a seed (seeds FIRST_SEED.., default 1): "seed best_at_half best config"
 *       (the best value after TRIALS/2 and TRIALS trials, the best trial's config)
 *   bench_tpe_quality FUNCTION SPACE.json --check RESULTS.db
 *       runs the space's own sampler and seed for as many trials as the sweep of
 *       RESULTS.db has, and checks each proposal and value equals the sweep's: the two
 *       paths, this one and `vaesearch run` with bench_trainer, are the same
 *
 * VARIANT: mv (vaesearch's multivariate TPE, the default), mv-optuna (Optuna's
 * multivariate TPE), uv (univariate TPE), random. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tpe_functions.h"
#include "common/json_exact.h"
#include "common/vs_error.h"
#include "orchestrator/sampler.h"
#include "results/results_db.h"
#include "space/space.h"

static int set_variant(vs_space *s, const char *variant) {
    s->sampler = VS_SAMPLER_TPE;
    s->tpe_multivariate = VS_TPE_MULTIVARIATE;
    if (!strcmp(variant, "mv")) return 0;
    if (!strcmp(variant, "mv-optuna")) return s->tpe_multivariate = VS_TPE_OPTUNA, 0;
    if (!strcmp(variant, "uv")) return s->tpe_multivariate = VS_TPE_UNIVARIATE, 0;
    if (!strcmp(variant, "random")) return s->sampler = VS_SAMPLER_RANDOM, 0;
    fprintf(stderr, "bench_tpe_quality: unknown variant '%s' (mv, mv-optuna, uv, random)\n", variant);
    return -1;
}

/* The function's value at a trial's internal values. */
static int evaluate(const char *function, const vs_space *s, const double *values, double *out) {
    cJSON *config = vs_space_trial_config(s, values);
    char why[256] = "";
    int rc = config ? tpe_function_value(function, config, out, why, sizeof why) : -1;
    if (rc) fprintf(stderr, "bench_tpe_quality: %s\n", config ? why : "a proposal outside the space");
    cJSON_Delete(config);
    return rc;
}

/* One run of `trials` sequential trials; values (trials x n_params) and results filled. */
static int run(const char *function, const vs_space *s, int trials, double *values, double *results) {
    vs_trial_obs *obs = calloc((size_t)trials + 1, sizeof *obs);
    vs_error err;
    int rc = 0;
    for (int t = 0; t < trials && !rc; t++) {
        double *v = values + (size_t)t * s->n_params;
        if (vs_sampler_propose(s, t, obs, t, v, &err)) {
            fprintf(stderr, "bench_tpe_quality: trial %d: %s\n", t, err.msg);
            rc = -1;
        } else {
            rc = evaluate(function, s, v, &results[t]);
            obs[t] = (vs_trial_obs){t, v, VS_OBS_COMPLETE, results[t]};
        }
    }
    free(obs);
    return rc;
}

static int check_db(const char *function, vs_space *s, const char *db_path) {
    vs_error err = {0};
    vs_db *db = NULL;
    vs_db_trial *t = NULL;
    int study_id, n = 0;
    if (vs_db_open_existing(db_path, &db, &err) || vs_db_find_sweep(db, s->name, &study_id, &err) ||
        vs_db_load_trials(db, study_id, s, &t, &n, &err)) {
        fprintf(stderr, "bench_tpe_quality: %s\n", err.msg);
        return 2;
    }
    double *values = calloc((size_t)(n + 1) * (size_t)s->n_params, sizeof *values), *results = calloc((size_t)n + 1, sizeof *results);
    int bad = run(function, s, n, values, results) ? 1 : 0;
    for (int k = 0; k < n && !bad; k++) {
        const double *v = values + (size_t)k * s->n_params;
        for (int p = 0; p < s->n_params && !bad; p++)
            if (!(v[p] == t[k].values[p] || (isnan(v[p]) && isnan(t[k].values[p])))) {
                fprintf(stderr, "trial %d: %s is %.17g here, %.17g in the sweep\n", k, s->params[p].name, v[p],
                        t[k].values[p]);
                bad = 1;
            }
        if (!bad && (strcmp(t[k].state, "COMPLETE") || !t[k].has_value || t[k].value != results[k])) {
            fprintf(stderr, "trial %d: value %.17g here, the sweep's is %s %.17g\n", k, results[k], t[k].state, t[k].value);
            bad = 1;
        }
    }
    if (!bad) printf("%d trials: the same proposals and values as the sweep in %s\n", n, db_path);
    free(values);
    free(results);
    vs_db_free_trials(t, n);
    vs_db_close(db);
    return bad;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_tpe_quality FUNCTION SPACE.json SEEDS TRIALS [mv|mv-optuna|uv|random [FIRST_SEED]]\n"
                        "       bench_tpe_quality FUNCTION SPACE.json --check RESULTS.db\n");
        return 2;
    }
    const char *function = argv[1];
    vs_space s;
    vs_error err;
    if (vs_space_load(argv[2], &s, &err)) {
        fprintf(stderr, "bench_tpe_quality: %s\n", err.msg);
        return 2;
    }
    if (!strcmp(argv[3], "--check")) {
        int rc = check_db(function, &s, argv[4]);
        vs_space_free(&s);
        return rc;
    }
    int seeds = atoi(argv[3]), trials = atoi(argv[4]), first = argc > 6 ? atoi(argv[6]) : 1;
    if (seeds < 1 || trials < 2 || set_variant(&s, argc > 5 ? argv[5] : "mv")) return 2;
    double *values = calloc((size_t)trials * (size_t)s.n_params, sizeof *values), *results = calloc((size_t)trials, sizeof *results);
    int rc = 0;
    for (int seed = first; seed < first + seeds && !rc; seed++) {
        s.seed = (uint64_t)seed;
        if ((rc = run(function, &s, trials, values, results))) break;
        int best = 0;
        double half = -INFINITY;
        for (int t = 0; t < trials; t++) {
            if (results[t] > results[best]) best = t;
            if (t < trials / 2 && results[t] > half) half = results[t];
        }
        cJSON *config = vs_space_trial_config(&s, values + (size_t)best * s.n_params);
        char *text = vs_json_print_exact(config);
        printf("%d %.17g %.17g %s\n", seed, half, results[best], text);
        fflush(stdout);
        free(text);
        cJSON_Delete(config);
    }
    free(values);
    free(results);
    vs_space_free(&s);
    return rc ? 1 : 0;
}
