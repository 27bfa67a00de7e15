/* space_values: a parameter's values. A trial's parameters are kept as one double each
 * (space.h, "internal" values, as Optuna stores them): here they become the JSON values
 * of a trial's config and back (a value of another sweep's trial), stepped values stay
 * on their grid, a grid's points are counted, and each parameter is written as the
 * Optuna distribution that reads its internal values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "space_internal.h"
#include "common/json_exact.h"
#include "common/strbuf.h"

/* The points of p on a grid; 0 when p is continuous; -1 when too many to count. */
static int64_t grid_points(const vs_param *p) {
    int64_t points = 0;
    switch (p->kind) {
    case VS_PARAM_CATEGORICAL: return p->n_choices;
    case VS_PARAM_CONSTANT: return 1;
    case VS_PARAM_INT: return ((int64_t)p->high - (int64_t)p->low) / (int64_t)p->step + 1;
    case VS_PARAM_UNIFORM:
        if (p->step <= 0) return 0;
        return space_stepped_range(p->low, p->high, p->step, &points, NULL) == 0 ? points : -1;
    case VS_PARAM_LOG_UNIFORM: return 0;
    }
    return 0;
}

int64_t vs_space_grid_size(const vs_space *s, vs_error *err) {
    int64_t total = 1;
    for (int i = 0; i < s->n_params; i++) {
        const vs_param *p = &s->params[i];
        int64_t points = grid_points(p);
        if (points == 0) {
            vs_errorf(err, "parameters.%s: a grid needs a categorical, int, constant, or uniform with a step", p->name);
            return 0;
        }
        if (points < 0 || total > INT64_MAX / points) {
            vs_errorf(err, "parameters.%s: the grid would have more than 2^63 points", p->name);
            return 0;
        }
        total *= points;
    }
    return total;
}

double vs_param_on_grid(const vs_param *p, double v) {
    if (p->kind == VS_PARAM_UNIFORM && p->step > 0) return vs_step_on_grid(p->low, p->step, v);
    if (p->kind == VS_PARAM_INT && isfinite(v)) return round(v);
    return v;
}

cJSON *vs_param_json_value(const vs_param *p, double v) {
    switch (p->kind) {
    case VS_PARAM_UNIFORM: return isfinite(v) ? cJSON_CreateNumber(vs_param_on_grid(p, v)) : NULL;
    case VS_PARAM_LOG_UNIFORM: return isfinite(v) ? cJSON_CreateNumber(v) : NULL;
    case VS_PARAM_INT: return isfinite(v) ? cJSON_CreateNumber(round(v)) : NULL;
    case VS_PARAM_CATEGORICAL:
        /* The internal value is the choice's index, as Optuna stores it. */
        if (!(v >= 0 && v < p->n_choices) || v != floor(v)) return NULL;
        return cJSON_Duplicate(p->choices[(int)v], 1);
    case VS_PARAM_CONSTANT: return cJSON_Duplicate(p->value, 1);
    }
    return NULL;
}

/* A categorical choice as Optuna can hold it (None, bool, int, float, str): numbers
 * as Python writes them; a list or object as the string of its compact JSON text. */
static void print_optuna_choice(vs_strbuf *b, const cJSON *choice) {
    char num[40];
    if (cJSON_IsNumber(choice)) {
        double v = choice->valuedouble;
        if (v == floor(v) && fabs(v) <= MAX_EXACT_INT) space_format_exact(v, num);
        else space_format_python_float(v, num);
        vs_sb_puts(b, num);
    } else if (cJSON_IsArray(choice) || cJSON_IsObject(choice)) {
        char *text = vs_json_print_exact(choice);
        space_print_json_string(b, text);
        free(text);
    } else {
        space_print_json_exact(b, choice);
    }
}

char *vs_param_distribution_json(const vs_param *p) {
    vs_strbuf b = {0};
    char low[40], high[40], step[40];
    switch (p->kind) {
    case VS_PARAM_UNIFORM:
    case VS_PARAM_LOG_UNIFORM:
        space_format_python_float(p->low, low);
        space_format_python_float(p->high, high);
        if (p->step > 0) space_format_python_float(p->step, step);
        else snprintf(step, sizeof step, "null");
        vs_sb_printf(&b,
                  "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": %s, \"low\": %s, \"high\": %s, "
                  "\"log\": %s}}",
                  step, low, high, p->kind == VS_PARAM_LOG_UNIFORM ? "true" : "false");
        break;
    case VS_PARAM_INT:
        vs_sb_printf(&b,
                  "{\"name\": \"IntDistribution\", \"attributes\": {\"log\": %s, \"step\": %lld, \"low\": %lld, "
                  "\"high\": %lld}}",
                  p->log ? "true" : "false", (long long)p->step, (long long)p->low, (long long)p->high);
        break;
    case VS_PARAM_CATEGORICAL:
    case VS_PARAM_CONSTANT:
        /* A constant is a categorical of one choice: its internal value 0 is that choice. */
        vs_sb_puts(&b, "{\"name\": \"CategoricalDistribution\", \"attributes\": {\"choices\": [");
        if (p->kind == VS_PARAM_CONSTANT) {
            print_optuna_choice(&b, p->value);
        } else {
            for (int i = 0; i < p->n_choices; i++) {
                if (i) vs_sb_puts(&b, ", ");
                print_optuna_choice(&b, p->choices[i]);
            }
        }
        vs_sb_puts(&b, "]}}");
        break;
    }
    return vs_sb_take(&b);
}

cJSON *vs_space_trial_config(const vs_space *s, const double *values) {
    cJSON *config = cJSON_Duplicate(s->fixed, 1);
    for (int i = 0; i < s->n_params; i++) {
        cJSON *v = vs_param_json_value(&s->params[i], values[i]);
        if (!v) {
            cJSON_Delete(config);
            return NULL;
        }
        cJSON_AddItemToObject(config, s->params[i].name, v);
    }
    return config;
}

int vs_param_internal_value(const vs_param *p, const cJSON *value, double *out) {
    if (p->kind == VS_PARAM_CATEGORICAL) {
        for (int i = 0; i < p->n_choices; i++)
            if (cJSON_Compare(p->choices[i], value, 1)) return *out = i, 0;
        return -1;
    }
    if (p->kind == VS_PARAM_CONSTANT) return cJSON_Compare(p->value, value, 1) ? (*out = 0, 0) : -1;
    if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) return -1;
    double v = value->valuedouble;
    /* a value printed from the grid may differ from low + k step in its last digits */
    double slack = 1e-9 * (fabs(p->low) + fabs(p->high) + 1);
    if (v < p->low - slack || v > p->high + slack) return -1;
    double step = p->kind == VS_PARAM_INT ? p->step : p->kind == VS_PARAM_UNIFORM ? p->step : 0;
    if (step > 0) {
        double k = (v - p->low) / step;
        if (fabs(k - round(k)) > 1e-6) return -1;
        v = vs_param_on_grid(p, p->low + round(k) * step);   /* 0.35, as the grid's own values are stored */
    }
    if (p->kind == VS_PARAM_INT && v != floor(v)) return -1;
    *out = v < p->low ? p->low : v > p->high ? p->high : v;
    return 0;
}
