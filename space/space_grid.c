/* space_grid: the points of a grid (docs/search-algorithms.md, "Grid"). Each parameter
 * with finitely many values (categorical, constant, int, stepped uniform) has c_p of
 * them, numbered 0..c_p-1. Without conditions the points are every combination, in
 * mixed radix with the last parameter varying fastest. With conditions they are the
 * combinations the conditions allow, each once: the parameters that conditions name
 * (the "switches", whatever their names) are enumerated first, in mixed radix, skipping
 * a combination in which an absent one has another value than its first; each
 * allowed combination owns a block of points, the mixed-radix combinations of the other
 * parameters present there (an absent parameter has no value). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "space_internal.h"

/* The most combinations of the parameters that conditions name: each is visited for a
 * proposal, so the grid's conditions must stay small. */
#define MAX_SWITCH_COMBINATIONS 100000

int64_t space_grid_points(const vs_param *p) {
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

double space_grid_value(const vs_param *p, int64_t k) {
    switch (p->kind) {
    case VS_PARAM_CATEGORICAL: return (double)k;
    case VS_PARAM_CONSTANT: return 0.0;
    default: {
        double v = p->low + p->step * (double)k;
        return v < p->low ? p->low : v > p->high ? p->high : v;
    }
    }
}

/* The walk over the grid: the parameters' counts, which ones conditions name, and the
 * allowed combinations of those. */
typedef struct grid {
    const vs_space *s;
    int64_t *count;     /* per parameter */
    int *named;         /* per parameter: 1 when a condition names it */
    int64_t n_combos;   /* combinations of the named parameters (all, allowed or not) */
} grid;

static int grid_open(const vs_space *s, grid *g, vs_error *err) {
    g->s = s;
    g->count = vs_xcalloc((size_t)(s->n_params ? s->n_params : 1), sizeof *g->count);
    g->named = vs_xcalloc((size_t)(s->n_params ? s->n_params : 1), sizeof *g->named);
    g->n_combos = 1;
    for (int p = 0; p < s->n_params; p++)
        for (int i = 0; i < s->params[p].n_when; i++) g->named[s->params[p].when[i].parent] = 1;
    for (int p = 0; p < s->n_params; p++) {
        const vs_param *par = &s->params[p];
        g->count[p] = space_grid_points(par);
        if (g->count[p] == 0)
            return vs_errorf(err, "parameters.%s: a grid needs a categorical, int, constant, or uniform with a step",
                             par->name);
        if (g->count[p] < 0) return vs_errorf(err, "parameters.%s: the grid would have more than 2^63 points", par->name);
        if (!g->named[p]) continue;
        if (g->n_combos > MAX_SWITCH_COMBINATIONS / g->count[p])
            return vs_errorf(err, "parameters.%s: the parameters that conditions name have more than %d combinations, "
                                  "too many for a grid",
                             par->name, MAX_SWITCH_COMBINATIONS);
        g->n_combos *= g->count[p];
    }
    return 0;
}

static void grid_close(grid *g) {
    free(g->count);
    free(g->named);
}

/* Combination `combo` of the named parameters into values (the others NaN); the number
 * of points it owns (0 when not allowed) into *points, -1 on overflow. */
static int64_t grid_combo(const grid *g, int64_t combo, double *values, int *present) {
    const vs_space *s = g->s;
    int64_t *digit = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * sizeof *digit);
    for (int p = s->n_params - 1; p >= 0; p--) {
        values[p] = NAN;
        if (!g->named[p]) continue;
        digit[p] = combo % g->count[p];
        combo /= g->count[p];
        values[p] = space_grid_value(&s->params[p], digit[p]);
    }
    vs_space_presence(s, values, present);
    int64_t points = 1;
    for (int p = 0; p < s->n_params && points > 0; p++) {
        if (g->named[p] && !present[p] && digit[p] != 0) points = 0;   /* an absent switch: its first value only */
        if (g->named[p] || !present[p]) continue;
        if (points > INT64_MAX / g->count[p]) points = -1;
        else points *= g->count[p];
    }
    free(digit);
    return points;
}

int64_t vs_space_grid_size(const vs_space *s, vs_error *err) {
    grid g;
    if (grid_open(s, &g, err)) {
        grid_close(&g);
        return 0;
    }
    double *values = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * sizeof *values);
    int *present = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * sizeof *present);
    int64_t total = 0;
    for (int64_t c = 0; c < g.n_combos && total >= 0; c++) {
        int64_t points = grid_combo(&g, c, values, present);
        if (points < 0 || total > INT64_MAX - points) total = -1;
        else total += points;
    }
    free(values);
    free(present);
    grid_close(&g);
    if (total < 0) vs_errorf(err, "parameters: the grid would have more than 2^63 points");
    return total < 0 ? 0 : total;
}

int vs_space_grid_point(const vs_space *s, int64_t point, double *values, vs_error *err) {
    grid g;
    if (grid_open(s, &g, err)) {
        grid_close(&g);
        return -1;
    }
    int *present = vs_xmalloc((size_t)(s->n_params ? s->n_params : 1) * sizeof *present);
    int rc = -1;
    int64_t asked = point;
    for (int64_t c = 0; c < g.n_combos; c++) {
        int64_t points = grid_combo(&g, c, values, present);
        if (point >= points) {
            point -= points;
            continue;
        }
        /* Within the block: mixed radix over the other present parameters, the last fastest. */
        for (int p = s->n_params - 1; p >= 0; p--) {
            if (g.named[p] || !present[p]) continue;
            values[p] = space_grid_value(&s->params[p], point % g.count[p]);
            point /= g.count[p];
        }
        for (int p = 0; p < s->n_params; p++)
            if (!present[p]) values[p] = NAN;
        rc = 0;
        break;
    }
    if (rc) vs_errorf(err, "grid: no point %lld (the grid has fewer)", (long long)asked);
    free(present);
    grid_close(&g);
    return rc;
}
