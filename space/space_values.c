/* space_values: a parameter's values. A trial's parameters are kept as one double each
 * (space.h, "internal" values, as Optuna stores them): here they become the JSON values
 * of a trial's config and back (a value of another sweep's trial), stepped values stay
 * on their grid, and each parameter is written as the Optuna distribution that reads
 * its internal values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "space_internal.h"
#include "common/json_exact.h"
#include "common/strbuf.h"

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

/* The list of the present elements of list key `key`, in index order (elements are
 * numbered from 0 and present in order: space_conditions.c); NULL when none is. */
static cJSON *element_list(const vs_space *s, const double *values, const char *key) {
    cJSON *list = NULL;
    for (int index = 0;; index++) {
        int found = -1;
        for (int p = 0; p < s->n_params && found < 0; p++)
            if (s->params[p].list_key && !strcmp(s->params[p].list_key, key) && s->params[p].list_index == index) found = p;
        if (found < 0 || isnan(values[found])) return list;
        cJSON *v = vs_param_json_value(&s->params[found], values[found]);
        if (!v) {
            cJSON_Delete(list);
            return NULL;
        }
        if (!list) list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, v);
    }
}

cJSON *vs_space_trial_config(const vs_space *s, const double *values) {
    cJSON *config = cJSON_Duplicate(s->fixed, 1);
    for (int i = 0; i < s->n_params; i++) {
        const vs_param *p = &s->params[i];
        if (p->is_switch) continue;
        if (p->list_key) {   /* the whole list, where its first element comes */
            if (p->list_index != 0 || cJSON_GetObjectItemCaseSensitive(config, p->list_key)) continue;
            cJSON *list = element_list(s, values, p->list_key);
            if (list) cJSON_AddItemToObject(config, p->list_key, list);
            continue;
        }
        cJSON *v = isnan(values[i]) ? (p->otherwise ? cJSON_Duplicate(p->otherwise, 1) : NULL)
                                    : vs_param_json_value(p, values[i]);
        if (!v && isnan(values[i])) continue;   /* absent: the trainer's default */
        if (!v) {
            cJSON_Delete(config);
            return NULL;
        }
        cJSON_AddItemToObject(config, p->name, v);
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
