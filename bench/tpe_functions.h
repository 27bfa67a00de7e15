/* tpe_functions: the known functions of the TPE benchmark, on a trial's trainer config
 * (their search spaces are in bench/tpe/; bench_tpe_quality.c and bench_trainer.c
 * evaluate them, bench_tpe.py mirrors them for Optuna). Each is to be maximised:
 *   branin     -Branin(x1, x2), x1 = anneal_cap - 5 in [-5, 10], x2 = lambda in [0, 15];
 *              optimum -0.397887 (three global minima of Branin);
 *   hartmann6  Hartmann-6 on [0, 1]^6, the coordinates anneal_cap, 2 (keep_prob - 0.5),
 *              lambda, loss_scale - 1, loss_scale_growth - 1, lr - 1; optimum 3.32237;
 *   mixed      Hartmann-3 of anneal_cap, 2 (keep_prob - 0.5), lambda, less
 *              0.25 (log10 latent_dim - 2)^2 (a log-scale int in 1..1000, best 100) and
 *              0, 1 or 2 for precision fp32, tf32 or fp16 (a categorical); optimum
 *              3.86278.
 * The parameters are trainer config keys only because a search space must name them;
 * the mapping is affine, which TPE's estimators do not see (docs/performance.md). */
#ifndef VS_BENCH_TPE_FUNCTIONS_H
#define VS_BENCH_TPE_FUNCTIONS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static const double tpe_alpha[4] = {1.0, 1.2, 3.0, 3.2};

static double tpe_hartmann(const double *x, int d) {
    static const double a3[4][3] = {{3, 10, 30}, {0.1, 10, 35}, {3, 10, 30}, {0.1, 10, 35}};
    static const double p3[4][3] = {{3689, 1170, 2673}, {4699, 4387, 7470}, {1091, 8732, 5547}, {381, 5743, 8828}};
    static const double a6[4][6] = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8},
                                    {17, 8, 0.05, 10, 0.1, 14}};
    static const double p6[4][6] = {{1312, 1696, 5569, 124, 8283, 5886}, {2329, 4135, 8307, 3736, 1004, 9991},
                                    {2348, 1451, 3522, 2883, 3047, 6650}, {4047, 8828, 8732, 5743, 1091, 381}};
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        double inner = 0;
        for (int j = 0; j < d; j++) {
            double a = d == 3 ? a3[i][j] : a6[i][j], p = 1e-4 * (d == 3 ? p3[i][j] : p6[i][j]);
            inner += a * (x[j] - p) * (x[j] - p);
        }
        sum += tpe_alpha[i] * exp(-inner);
    }
    return sum;
}

/* A number from the config, or NAN (the caller says which key was missing). */
static double tpe_key(const cJSON *config, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(config, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The value of function `name` for a trial's config; -1 with why[] set when the name
 * or a key is not there. */
static int tpe_function_value(const char *name, const cJSON *config, double *value, char *why, size_t n) {
    if (!strcmp(name, "branin")) {
        const double pi = 3.14159265358979323846;
        double x1 = tpe_key(config, "anneal_cap") - 5, x2 = tpe_key(config, "lambda");
        double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
        double y = x2 - b * x1 * x1 + c * x1 - 6;
        *value = -(y * y + 10 * (1 - t) * cos(x1) + 10);
    } else if (!strcmp(name, "hartmann6")) {
        double x[6] = {tpe_key(config, "anneal_cap"),      2 * (tpe_key(config, "keep_prob") - 0.5),
                       tpe_key(config, "lambda"),          tpe_key(config, "loss_scale") - 1,
                       tpe_key(config, "loss_scale_growth") - 1, tpe_key(config, "lr") - 1};
        *value = tpe_hartmann(x, 6);
    } else if (!strcmp(name, "mixed")) {
        double x[3] = {tpe_key(config, "anneal_cap"), 2 * (tpe_key(config, "keep_prob") - 0.5), tpe_key(config, "lambda")};
        double k = tpe_key(config, "latent_dim");
        const char *precision = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "precision"));
        static const char *const choices[3] = {"fp32", "tf32", "fp16"};
        int c = -1;
        for (int i = 0; i < 3 && precision; i++)
            if (!strcmp(precision, choices[i])) c = i;
        if (c < 0) return snprintf(why, n, "mixed: precision is not fp32, tf32 or fp16"), -1;
        double l = log10(k) - 2;
        *value = tpe_hartmann(x, 3) - 0.25 * l * l - c;
    } else {
        return snprintf(why, n, "unknown function '%s' (branin, hartmann6 or mixed)", name), -1;
    }
    if (isnan(*value)) return snprintf(why, n, "%s: a key of the function is missing from the config", name), -1;
    return 0;
}

#endif
