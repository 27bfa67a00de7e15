/* space_conditions: conditional parameters (docs/search-space.md, "Conditional
 * parameters"). A parameter's "when" names other parameters and their values, all of
 * which must hold for it to be present in a trial: {"n_layers": [2, 3]}. Absent, it has
 * no value (NaN inside, no trial_params row, as Optuna's define-by-run trials), and the
 * trainer gets its "else" value or, without one, its own default. A parameter named by
 * a condition needs finitely many values (categorical, int, stepped uniform); a name
 * that is no trainer key is a switch, allowed only when a condition names it. Checked
 * here, each with its JSON path: unknown parents, values a parent cannot take, cycles,
 * and the elements of a list key ("hidden_dims[0]", "hidden_dims[1]", ...), which must be
 * numbered from 0 and each present only where the one before it is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "space_internal.h"
#include "common/strbuf.h"

static int param_index(const vs_space *s, const char *name) {
    for (int i = 0; i < s->n_params; i++)
        if (!strcmp(s->params[i].name, name)) return i;
    return -1;
}

static int compare_doubles(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* One member of "when": the parent's name and a list of its values. */
static int parse_cond(parse_ctx *c, const vs_space *s, int self, const cJSON *m, const char *path, vs_cond *out) {
    char sub[600], item[640];
    space_join_path(sub, sizeof sub, path, m->string);
    int parent = param_index(s, m->string);
    if (parent < 0) return space_fail(c, sub, "no parameter '%s' in \"parameters\" to depend on", m->string);
    if (parent == self) return space_fail(c, sub, "a parameter cannot depend on itself");
    const vs_param *pp = &s->params[parent];
    if (pp->kind == VS_PARAM_CONSTANT || space_grid_points(pp) <= 0)
        return space_fail(c, sub, "'%s' is %s: a condition needs a categorical, int or uniform with a step", m->string,
                          pp->kind == VS_PARAM_CONSTANT ? "a constant" : "continuous");
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0)
        return space_fail(c, sub, "expected a non-empty list of values of '%s'", m->string);
    out->parent = parent;
    out->n_values = 0;
    out->values = vs_xmalloc((size_t)cJSON_GetArraySize(m) * sizeof *out->values);
    int i = 0;
    for (const cJSON *v = m->child; v; v = v->next, i++) {
        snprintf(item, sizeof item, "%s[%d]", sub, i);
        double internal;
        if (vs_param_internal_value(pp, v, &internal)) return space_fail(c, item, "not a value '%s' takes", m->string);
        for (int j = 0; j < out->n_values; j++)
            if (out->values[j] == internal) return space_fail(c, item, "the same value as %s[%d]", sub, j);
        out->values[out->n_values++] = internal;
    }
    qsort(out->values, (size_t)out->n_values, sizeof *out->values, compare_doubles);
    return 0;
}

static int compare_conds(const void *pa, const void *pb) {
    const vs_cond *a = pa, *b = pb;
    return (a->parent > b->parent) - (a->parent < b->parent);
}

/* "when" and "else" of parameter p, defined by def. */
static int parse_when(parse_ctx *c, vs_space *s, int p, const cJSON *def) {
    vs_param *par = &s->params[p];
    char path[512], sub[560];
    space_join_path(path, sizeof path, "parameters", par->name);
    const cJSON *when = space_member(def, "when"), *otherwise = space_member(def, "else");
    space_join_path(sub, sizeof sub, path, "when");
    if (when) {
        if (!cJSON_IsObject(when) || !when->child)
            return space_fail(c, sub, "expected an object: parameter -> its values, e.g. {\"n_layers\": [2, 3]}");
        int n = cJSON_GetArraySize(when);
        par->when = vs_xcalloc((size_t)n, sizeof *par->when);
        for (const cJSON *m = when->child; m; m = m->next) {
            for (const cJSON *e = when->child; e != m; e = e->next)
                if (!strcmp(e->string, m->string)) {
                    char twice[600];
                    space_join_path(twice, sizeof twice, sub, m->string);
                    return space_fail(c, twice, "appears twice");
                }
            /* counted before it is read, so that vs_space_free frees a half-read one */
            if (parse_cond(c, s, p, m, sub, &par->when[par->n_when++])) return -1;
        }
        qsort(par->when, (size_t)par->n_when, sizeof *par->when, compare_conds);
        s->has_conditions = 1;
    }
    if (otherwise) {
        space_join_path(sub, sizeof sub, path, "else");
        if (!when) return space_fail(c, sub, "only with \"when\" (the trainer's value while the parameter is absent)");
        if (par->is_switch || par->list_key)
            return space_fail(c, sub, "'%s' is %s: nothing of it goes to the trainer while it is absent", par->name,
                              par->is_switch ? "a switch" : "an element of a list");
        if (space_trainer_accepts(c, par->name, otherwise, sub)) return -1;
        par->otherwise = cJSON_Duplicate(otherwise, 1);
    }
    return 0;
}

/* A cycle through p's conditions: depth-first, state 1 on the path, 2 done. */
static int find_cycle(parse_ctx *c, const vs_space *s, int p, int *state, int *path, int depth) {
    state[p] = 1;
    path[depth] = p;
    const vs_param *par = &s->params[p];
    for (int i = 0; i < par->n_when; i++) {
        int q = par->when[i].parent;
        if (state[q] == 2) continue;
        if (state[q] == 1) {
            vs_strbuf b = {0};
            int from = depth;
            while (path[from] != q) from--;
            for (int j = from; j <= depth; j++) vs_sb_printf(&b, "%s -> ", s->params[path[j]].name);
            vs_sb_puts(&b, s->params[q].name);
            char sub[600], at[512];
            space_join_path(at, sizeof at, "parameters", par->name);
            space_join_path(sub, sizeof sub, at, "when");
            char where[700];
            space_join_path(where, sizeof where, sub, s->params[q].name);
            space_fail(c, where, "a cycle of conditions: %s", b.s);
            vs_sb_free(&b);
            return -1;
        }
        if (find_cycle(c, s, q, state, path, depth + 1)) return -1;
    }
    state[p] = 2;
    return 0;
}

/* Whether condition set a implies condition set b: every condition of b is one of a's
 * on the same parent with no more values. Enough for "element i present => element i - 1
 * present" (a parent present with one of a's values holds b's conditions). */
static int conditions_imply(const vs_param *a, const vs_param *b) {
    for (int i = 0; i < b->n_when; i++) {
        const vs_cond *wb = &b->when[i];
        int implied = 0;
        for (int j = 0; j < a->n_when && !implied; j++) {
            const vs_cond *wa = &a->when[j];
            if (wa->parent != wb->parent) continue;
            implied = 1;
            for (int x = 0; x < wa->n_values && implied; x++) {
                int found = 0;
                for (int y = 0; y < wb->n_values && !found; y++) found = wa->values[x] == wb->values[y];
                implied = found;
            }
        }
        if (!implied) return 0;
    }
    return 1;
}

/* The elements of each list key: numbered 0, 1, ... without a gap, the key itself not a
 * parameter too, and element i present only where element i - 1 is. */
static int check_elements(parse_ctx *c, const vs_space *s) {
    char path[512];
    for (int p = 0; p < s->n_params; p++) {
        const vs_param *e = &s->params[p];
        if (!e->list_key) continue;
        space_join_path(path, sizeof path, "parameters", e->name);
        if (param_index(s, e->list_key) >= 0)
            return space_fail(c, path, "'%s' is a parameter too: search the list whole or by its elements", e->list_key);
        if (e->list_index == 0) continue;
        char before[300];
        snprintf(before, sizeof before, "%s[%d]", e->list_key, e->list_index - 1);
        int q = param_index(s, before);
        if (q < 0) return space_fail(c, path, "no parameter '%s': a list's elements are numbered from 0", before);
        if (!conditions_imply(e, &s->params[q]))
            return space_fail(c, path,
                              "present where '%s' may be absent: give it the conditions of '%s' or narrower ones, so "
                              "that the list has no gap",
                              before, before);
    }
    return 0;
}

int space_parse_conditions(parse_ctx *c, const cJSON *parameters, vs_space *s) {
    for (int p = 0; p < s->n_params; p++)
        if (parse_when(c, s, p, space_member(parameters, s->params[p].name))) return -1;
    int *state = vs_xcalloc((size_t)s->n_params, sizeof *state), *path = vs_xcalloc((size_t)s->n_params, sizeof *path);
    int rc = 0;
    for (int p = 0; p < s->n_params && !rc; p++)
        if (!state[p]) rc = find_cycle(c, s, p, state, path, 0);
    free(state);
    free(path);
    if (rc) return -1;
    /* A switch is a name no trainer knows: only a condition's parent may be one. */
    for (int p = 0; p < s->n_params; p++) {
        if (!s->params[p].is_switch) continue;
        int named = 0;
        for (int q = 0; q < s->n_params && !named; q++)
            for (int i = 0; i < s->params[q].n_when && !named; i++) named = s->params[q].when[i].parent == p;
        if (named) continue;
        char sub[512];
        space_join_path(sub, sizeof sub, "parameters", s->params[p].name);
        char *known = space_trainer_key_list(c);
        space_fail(c, sub,
                   "not a trainer config key (known keys: %s), nor an element of a list key (hidden_dims[0]), nor a "
                   "switch that a \"when\" names",
                   known);
        free(known);
        return -1;
    }
    return check_elements(c, s);
}

/* ---------------------------------------------------------------- presence */

/* The presence of p from its parents' (no cycle: checked): 1, 0, or PRESENCE_UNKNOWN
 * where a condition hangs on a parent whose value is unknown (unknown may be NULL);
 * present[p] is PRESENCE_TODO until computed. */
#define PRESENCE_TODO (-2)
#define PRESENCE_UNKNOWN (-1)
static int presence_of(const vs_space *s, const double *values, const char *unknown, int p, int *present) {
    if (present[p] != PRESENCE_TODO) return present[p];
    const vs_param *par = &s->params[p];
    int result = 1;
    for (int i = 0; i < par->n_when; i++) {
        const vs_cond *w = &par->when[i];
        int parent = presence_of(s, values, unknown, w->parent, present);
        if (parent == 0) return present[p] = 0;   /* a parent absent: so is p, whatever else is unknown */
        if (parent == PRESENCE_UNKNOWN || (unknown && unknown[w->parent])) {
            result = PRESENCE_UNKNOWN;
            continue;
        }
        double v = values[w->parent];
        int hit = 0;
        for (int j = 0; j < w->n_values && !hit; j++) hit = v == w->values[j];
        if (!hit) return present[p] = 0;
    }
    return present[p] = result;
}

void vs_space_presence(const vs_space *s, const double *values, int *present) {
    vs_space_presence_partial(s, values, NULL, present);
}

void vs_space_presence_partial(const vs_space *s, const double *values, const char *unknown, int *present) {
    for (int p = 0; p < s->n_params; p++) present[p] = PRESENCE_TODO;
    for (int p = 0; p < s->n_params; p++) presence_of(s, values, unknown, p, present);
}

void vs_space_drop_absent(const vs_space *s, double *values) {
    if (!s->has_conditions) return;
    int *present = vs_xmalloc((size_t)s->n_params * sizeof *present);
    vs_space_presence(s, values, present);
    for (int p = 0; p < s->n_params; p++)
        if (!present[p]) values[p] = NAN;
    free(present);
}

int vs_space_presence_mismatch(const vs_space *s, const double *values) {
    int *present = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * sizeof *present);
    vs_space_presence(s, values, present);
    int bad = -1;
    for (int p = 0; p < s->n_params && bad < 0; p++)
        if (present[p] == isnan(values[p])) bad = p;
    free(present);
    return bad;
}
