/* space_params: the "parameters" section of a search space: each trainer config key
 * searched (or an element of a list key, or a switch), with its kind (uniform,
 * log_uniform, int, categorical, constant, and their other spellings) and its members,
 * checked as Optuna's distributions are (a step divides the range exactly), and every
 * value it can take checked against the trainer. Kept in name order, so that the file's
 * order changes neither the space nor its trials; the conditions ("when", "else") are
 * read once every parameter is known (space_conditions.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space_internal.h"

#define MAX_CHOICES 10000

/* The accepted spellings of each kind ("type"), the canonical name first. */
static int parse_kind(const char *s, vs_param_kind *out) {
    static const struct {
        const char *name;
        vs_param_kind kind;
    } aliases[] = {
        {"uniform", VS_PARAM_UNIFORM},         {"float", VS_PARAM_UNIFORM},
        {"log_uniform", VS_PARAM_LOG_UNIFORM}, {"loguniform", VS_PARAM_LOG_UNIFORM},
        {"log-uniform", VS_PARAM_LOG_UNIFORM}, {"int", VS_PARAM_INT},
        {"integer", VS_PARAM_INT},             {"categorical", VS_PARAM_CATEGORICAL},
        {"choice", VS_PARAM_CATEGORICAL},      {"constant", VS_PARAM_CONSTANT},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(s, aliases[i].name)) {
            *out = aliases[i].kind;
            return 0;
        }
    return -1;
}

/* low and high: present, finite numbers, low < high (a single value is a constant). */
static int parse_bounds(parse_ctx *c, const cJSON *def, const char *path, vs_param *p) {
    const char *keys[2] = {"low", "high"};
    double *dst[2] = {&p->low, &p->high};
    char sub[512];
    for (int i = 0; i < 2; i++) {
        space_join_path(sub, sizeof sub, path, keys[i]);
        const cJSON *m = space_member(def, keys[i]);
        if (!m) return space_fail(c, sub, "missing");
        if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble)) return space_fail(c, sub, "expected a number");
        if (p->kind == VS_PARAM_INT && (m->valuedouble != floor(m->valuedouble) || fabs(m->valuedouble) > MAX_EXACT_INT))
            return space_fail(c, sub, "expected an integer");
        *dst[i] = m->valuedouble;
    }
    space_join_path(sub, sizeof sub, path, "low");
    if (!(p->low < p->high)) return space_fail(c, sub, "must be < high (for a single value use a constant)");
    return 0;
}

static int parse_float_param(parse_ctx *c, const cJSON *def, const char *path, vs_param *p) {
    static const char *const uniform_keys[] = {"type", "low", "high", "step", "log", "when", "else", NULL};
    static const char *const log_keys[] = {"type", "low", "high", "when", "else", NULL};
    int declared_log = p->kind == VS_PARAM_LOG_UNIFORM;
    if (space_check_members(c, def, path, declared_log ? log_keys : uniform_keys,
                            declared_log ? "a log_uniform parameter" : "a uniform parameter"))
        return -1;
    if (space_get_bool(c, def, path, "log", &p->log)) return -1;
    if (p->log) p->kind = VS_PARAM_LOG_UNIFORM;   /* {"type": "uniform", "log": true} as Optuna's suggest_float */
    p->log = 0;
    if (parse_bounds(c, def, path, p)) return -1;
    char sub[512];
    if (p->kind == VS_PARAM_LOG_UNIFORM) {
        space_join_path(sub, sizeof sub, path, "step");
        if (space_member(def, "step")) return space_fail(c, sub, "not allowed with a log scale (as in Optuna)");
        space_join_path(sub, sizeof sub, path, "low");
        if (!(p->low > 0)) return space_fail(c, sub, "must be > 0 for a log-uniform");
        return 0;
    }
    if (!space_member(def, "step")) return 0;
    if (space_get_number(c, def, path, "step", 0, 1, 0, &p->step)) return -1;
    int64_t points;
    double fixed_high = 0;
    int rc = space_stepped_range(p->low, p->high, p->step, &points, &fixed_high);
    space_join_path(sub, sizeof sub, path, rc < 0 ? "step" : "high");
    if (rc < 0) return space_fail(c, sub, "too small for the range to be divided exactly");
    if (rc > 0) {
        char step[40], high[40];
        space_format_exact(p->step, step);
        space_format_exact(fixed_high, high);
        return space_fail(c, sub, "high - low must be a multiple of step %s (Optuna would lower high to %s)", step,
                          high);
    }
    return 0;
}

static int parse_int_param(parse_ctx *c, const cJSON *def, const char *path, vs_param *p) {
    static const char *const keys[] = {"type", "low", "high", "step", "log", "when", "else", NULL};
    if (space_check_members(c, def, path, keys, "an int parameter")) return -1;
    if (space_get_bool(c, def, path, "log", &p->log)) return -1;
    if (parse_bounds(c, def, path, p)) return -1;
    int64_t step;
    if (space_get_int(c, def, path, "step", 1, (int64_t)MAX_EXACT_INT, 1, &step)) return -1;
    p->step = (double)step;
    char sub[512];
    if (p->log) {
        space_join_path(sub, sizeof sub, path, "step");
        if (step != 1) return space_fail(c, sub, "must be 1 with a log scale (as in Optuna)");
        space_join_path(sub, sizeof sub, path, "low");
        if (p->low < 1) return space_fail(c, sub, "must be >= 1 for a log scale");
    }
    int64_t span = (int64_t)p->high - (int64_t)p->low;
    if (span % step != 0) {
        space_join_path(sub, sizeof sub, path, "high");
        return space_fail(c, sub, "high - low must be a multiple of step %lld (Optuna would lower high to %lld)",
                          (long long)step, (long long)((int64_t)p->low + span / step * step));
    }
    return 0;
}

static int parse_categorical_param(parse_ctx *c, const cJSON *def, const char *path, vs_param *p) {
    static const char *const keys[] = {"type", "choices", "when", "else", NULL};
    if (space_check_members(c, def, path, keys, "a categorical parameter")) return -1;
    char sub[512], item[560];
    space_join_path(sub, sizeof sub, path, "choices");
    const cJSON *choices = space_member(def, "choices");
    if (!choices) return space_fail(c, sub, "missing");
    if (!cJSON_IsArray(choices)) return space_fail(c, sub, "expected a list of values");
    int n = cJSON_GetArraySize(choices);
    if (n == 0) return space_fail(c, sub, "must not be empty");
    if (n > MAX_CHOICES) return space_fail(c, sub, "at most %d choices", MAX_CHOICES);
    p->choices = vs_xcalloc((size_t)n, sizeof *p->choices);
    int i = 0;
    for (const cJSON *ch = choices->child; ch; ch = ch->next, i++) {
        snprintf(item, sizeof item, "%s[%d]", sub, i);
        for (int j = 0; j < i; j++)
            if (cJSON_Compare(p->choices[j], ch, 1)) return space_fail(c, item, "the same as choices[%d]", j);
        p->choices[i] = cJSON_Duplicate(ch, 1);
        p->n_choices = i + 1;
    }
    return 0;
}

static int parse_constant_param(parse_ctx *c, const cJSON *def, const char *path, vs_param *p) {
    static const char *const keys[] = {"type", "value", "when", "else", NULL};
    if (space_check_members(c, def, path, keys, "a constant parameter")) return -1;
    char sub[512];
    space_join_path(sub, sizeof sub, path, "value");
    const cJSON *value = space_member(def, "value");
    if (!value) return space_fail(c, sub, "missing");
    p->value = cJSON_Duplicate(value, 1);
    return 0;
}

/* Every value the parameter can take must be one the trainer accepts for its key (for an
 * element of a list key, as that element). A switch is given to no trainer. */
static int check_param_for_trainer(parse_ctx *c, const char *path, const vs_param *p) {
    char sub[560];
    if (p->is_switch) return 0;
    switch (p->kind) {
    case VS_PARAM_UNIFORM:
    case VS_PARAM_LOG_UNIFORM:
    case VS_PARAM_INT:
        space_join_path(sub, sizeof sub, path, "low");
        if (space_trainer_accepts_number(c, p->name, p->low, sub)) return -1;
        space_join_path(sub, sizeof sub, path, "high");
        if (space_trainer_accepts_number(c, p->name, p->high, sub)) return -1;
        if (p->kind == VS_PARAM_INT) return 0;   /* integers between two accepted ones are accepted */
        /* A point strictly inside: the next step, or an irrational fraction of the way. */
        double inside = p->kind == VS_PARAM_LOG_UNIFORM ? p->low * pow(p->high / p->low, 0.41421356237309515)
                        : p->step > 0                   ? p->low + p->step
                                                        : p->low + (p->high - p->low) * 0.41421356237309515;
        return inside < p->high ? space_trainer_accepts_inside(c, p, inside, path) : 0;
    case VS_PARAM_CATEGORICAL:
        for (int i = 0; i < p->n_choices; i++) {
            snprintf(sub, sizeof sub, "%s.choices[%d]", path, i);
            if (space_trainer_accepts(c, p->name, p->choices[i], sub)) return -1;
        }
        return 0;
    case VS_PARAM_CONSTANT:
        space_join_path(sub, sizeof sub, path, "value");
        return space_trainer_accepts(c, p->name, p->value, sub);
    }
    return 0;
}

/* What a parameter's name is: a trainer config key; "key[i]", element i of a list key
 * (hidden_dims); or else a switch, which space_conditions.c accepts only when another
 * parameter's "when" names it. */
static int parse_name(parse_ctx *c, const cJSON *def, const cJSON *fixed, const char *path, vs_param *p) {
    p->name = vs_xstrdup(def->string);
    p->list_index = -1;
    char key[256];
    int index = space_element_name(c, def->string, key, sizeof key);
    if (index >= 0) {
        p->list_key = vs_xstrdup(key);
        p->list_index = index;
        if (fixed && space_member(fixed, key))
            return space_fail(c, path, "an element of \"%s\", which is in \"fixed\": a key is either fixed or searched",
                              key);
        return 0;
    }
    if (!space_trainer_key(c, def->string)) {
        p->is_switch = 1;
        return 0;
    }
    if (fixed && space_member(fixed, def->string))
        return space_fail(c, path, "also in \"fixed\": a key is either fixed or searched");
    return 0;
}

static int parse_param(parse_ctx *c, const cJSON *def, const cJSON *fixed, vs_param *p) {
    char path[512], sub[560];
    space_join_path(path, sizeof path, "parameters", def->string);
    if (parse_name(c, def, fixed, path, p)) return -1;
    if (!cJSON_IsObject(def)) return space_fail(c, path, "expected an object with a \"type\"");
    space_join_path(sub, sizeof sub, path, "type");
    const cJSON *type = space_member(def, "type");
    if (!type) return space_fail(c, sub, "missing (uniform, log_uniform, int, categorical or constant)");
    if (!cJSON_IsString(type) || parse_kind(type->valuestring, &p->kind))
        return space_fail(c, sub, "expected uniform, log_uniform, int, categorical or constant");
    int rc;
    switch (p->kind) {
    case VS_PARAM_UNIFORM:
    case VS_PARAM_LOG_UNIFORM: rc = parse_float_param(c, def, path, p); break;
    case VS_PARAM_INT: rc = parse_int_param(c, def, path, p); break;
    case VS_PARAM_CATEGORICAL: rc = parse_categorical_param(c, def, path, p); break;
    default: rc = parse_constant_param(c, def, path, p); break;
    }
    return rc ? rc : check_param_for_trainer(c, path, p);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const vs_param *)a)->name, ((const vs_param *)b)->name);
}

int space_parse_parameters(parse_ctx *c, const cJSON *root, vs_space *s) {
    const cJSON *params = space_member(root, "parameters");
    if (!params) return space_fail(c, "parameters", "missing (an object: trainer config key -> distribution)");
    if (!cJSON_IsObject(params)) return space_fail(c, "parameters", "expected a JSON object");
    int n = cJSON_GetArraySize(params);
    if (n == 0) return space_fail(c, "parameters", "expected at least one parameter");
    char sub[512];
    for (const cJSON *a = params->child; a; a = a->next)
        for (const cJSON *b = params->child; b != a; b = b->next)
            if (!strcmp(a->string, b->string)) {
                space_join_path(sub, sizeof sub, "parameters", a->string);
                return space_fail(c, sub, "appears twice");
            }
    s->params = vs_xcalloc((size_t)n, sizeof *s->params);
    for (const cJSON *def = params->child; def; def = def->next) {
        if (parse_param(c, def, s->fixed, &s->params[s->n_params++])) return -1;
    }
    /* Name order: the file's order does not change the space, nor its trials. */
    qsort(s->params, (size_t)s->n_params, sizeof *s->params, by_name);
    return space_parse_conditions(c, params, s);
}
