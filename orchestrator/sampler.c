/* sampler.c: vs_sampler_propose's checks and dispatch, and the grid sampler (random is
 * in sampler_random.c, TPE in sampler_tpe.c). The exact algorithms are in
 * docs/search-algorithms.md, "Samplers and pruners"; in short:
 *   grid    the points, numbered in mixed radix (the last parameter varies fastest),
 *           are visited in the order of a seeded Fisher-Yates permutation, which is
 *           computed lazily: point perm[n] needs only the first n + 1 swaps.
 * Nothing here keeps state between calls: a proposal is a pure function of its
 * arguments, which is what makes a resumed sweep propose what an uninterrupted one
 * would have. */
#include "sampler.h"
#include "sampler_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pcg.h"

/* The largest grid we enumerate: its permutation's state must stay small. */
#define GRID_MAX_POINTS 10000000LL
/* Stream key a of the grid's permutation: "grid" in ASCII (b = 0). */
#define GRID_STREAM_A 0x67726964ULL

/* ---------------------------------------------------------------- checks */

static int check_param(const vs_param *p, vs_error *err) {
    const char *name = p->name ? p->name : "?";
    switch (p->kind) {
    case VS_PARAM_CONSTANT: return 0;
    case VS_PARAM_CATEGORICAL:
        if (p->n_choices < 1) return vs_errorf(err, "parameters.%s: no choices", name);
        return 0;
    case VS_PARAM_UNIFORM:
    case VS_PARAM_LOG_UNIFORM:
    case VS_PARAM_INT: break;
    default: return vs_errorf(err, "parameters.%s: unknown kind %d", name, (int)p->kind);
    }
    if (!isfinite(p->low) || !isfinite(p->high) || p->low > p->high)
        return vs_errorf(err, "parameters.%s: needs finite low <= high (got %g, %g)", name, p->low, p->high);
    if (p->kind == VS_PARAM_LOG_UNIFORM && !(p->low > 0))
        return vs_errorf(err, "parameters.%s.low: must be > 0 for a log-uniform (got %g)", name, p->low);
    if (p->kind == VS_PARAM_UNIFORM && (!isfinite(p->step) || p->step < 0))
        return vs_errorf(err, "parameters.%s.step: must be >= 0 (got %g)", name, p->step);
    if (p->kind == VS_PARAM_INT) {
        if (!(p->step >= 1) || !isfinite(p->step) || p->step != floor(p->step))
            return vs_errorf(err, "parameters.%s.step: must be an integer >= 1 (got %g)", name, p->step);
        if (p->low != floor(p->low) || p->high != floor(p->high))
            return vs_errorf(err, "parameters.%s: low and high must be integers (got %g, %g)", name, p->low, p->high);
        /* Log-scale draws start from log(low - step/2) (Optuna's IntDistribution). */
        if (p->log && !(p->low - p->step / 2 > 0))
            return vs_errorf(err, "parameters.%s.low: must be > step / 2 on a log scale (got %g, step %g)", name,
                             p->low, p->step);
    }
    return 0;
}

/* Validates what the samplers rely on; space.c checks more, but a proposal never
 * trusts that it did. */
static int check_space(const vs_space *s, vs_error *err) {
    if (s->n_params < 0 || (s->n_params > 0 && !s->params))
        return vs_errorf(err, "space: bad parameter list (%d parameters)", s->n_params);
    for (int i = 0; i < s->n_params; i++)
        if (check_param(&s->params[i], err)) return -1;
    return 0;
}

/* ---------------------------------------------------------------- grid */

/* A small open-addressing map from position to the value a Fisher-Yates swap left
 * there; positions never touched hold their own index. */
typedef struct swap_map {
    int64_t *keys, *vals;   /* keys[i] == -1: empty */
    size_t mask;
} swap_map;

static void swap_map_init(swap_map *m, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    m->keys = vs_xmalloc(cap * sizeof *m->keys);
    m->vals = vs_xmalloc(cap * sizeof *m->vals);
    memset(m->keys, 0xff, cap * sizeof *m->keys);
    m->mask = cap - 1;
}

static size_t swap_map_slot(const swap_map *m, int64_t key) {
    size_t i = (size_t)(vs_mix64((uint64_t)key) & m->mask);
    while (m->keys[i] != -1 && m->keys[i] != key) i = (i + 1) & m->mask;
    return i;
}

static int64_t swap_map_get(const swap_map *m, int64_t key) {
    size_t i = swap_map_slot(m, key);
    return m->keys[i] == -1 ? key : m->vals[i];
}

static void swap_map_set(swap_map *m, int64_t key, int64_t val) {
    size_t i = swap_map_slot(m, key);
    m->keys[i] = key;
    m->vals[i] = val;
}

/* perm[number] of the forward Fisher-Yates shuffle of 0..size-1:
 *   for i = 0 .. size-2: j = i + uniform(size - i); swap(perm[i], perm[j])
 * perm[i] is final after step i, so only steps 0..number are run. Each step writes
 * two positions, hence the map's size. */
static int64_t grid_permuted(uint64_t seed, int64_t size, int64_t number) {
    vs_pcg32 g = vs_stream(seed, VS_RNG_SAMPLER, GRID_STREAM_A, 0);
    swap_map m;
    swap_map_init(&m, 2 * (size_t)number + 2);
    int64_t result = number;
    for (int64_t i = 0; i <= number && i < size - 1; i++) {
        int64_t j = i + vs_sampler_uniform_index(&g, size - i);
        int64_t at_i = swap_map_get(&m, i), at_j = swap_map_get(&m, j);
        swap_map_set(&m, i, at_j);
        swap_map_set(&m, j, at_i);
    }
    result = swap_map_get(&m, number);
    free(m.keys);
    free(m.vals);
    return result;
}

static int grid_propose(const vs_space *s, int number, double *values, vs_error *err) {
    int64_t size = vs_space_grid_size(s, err);
    if (size <= 0) return vs_error_prefix(err, "grid sampler");
    int64_t product = 1;
    for (int i = 0; i < s->n_params; i++) {
        int64_t count = vs_sampler_grid_count(&s->params[i]);
        if (count <= 0) return vs_errorf(err, "grid sampler: parameters.%s cannot be on a grid", s->params[i].name);
        if (product > GRID_MAX_POINTS) break;   /* too big anyway; avoid overflow */
        product *= count;
    }
    if (size > GRID_MAX_POINTS || product > GRID_MAX_POINTS)
        return vs_errorf(err, "grid sampler: the grid has %lld points; at most %lld are supported", (long long)size,
                         (long long)GRID_MAX_POINTS);
    if (product != size)
        return vs_errorf(err, "grid sampler: the grid has %lld points but the space counts %lld", (long long)product,
                         (long long)size);
    if (number < 0 || number >= size)
        return vs_errorf(err, "grid sampler: trial %d is beyond the grid's %lld points", number, (long long)size);

    /* Mixed radix: the last parameter is the least significant digit. */
    int64_t point = grid_permuted(s->seed, size, number);
    for (int i = s->n_params - 1; i >= 0; i--) {
        const vs_param *p = &s->params[i];
        int64_t count = vs_sampler_grid_count(p);
        int64_t digit = point % count;
        point /= count;
        switch (p->kind) {
        case VS_PARAM_CATEGORICAL: values[i] = (double)digit; break;
        case VS_PARAM_CONSTANT: values[i] = 0.0; break;
        default: values[i] = vs_sampler_clamp(p->low + p->step * (double)digit, p->low, p->high); break;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- dispatch */

int vs_sampler_propose(const vs_space *s, int number, const vs_trial_obs *history, int n_history, double *values,
                       vs_error *err) {
    if (number < 0) return vs_errorf(err, "sampler: trial number %d is negative", number);
    if (n_history < 0 || (n_history > 0 && !history))
        return vs_errorf(err, "sampler: bad history (%d trials)", n_history);
    if (check_space(s, err)) return -1;
    int rc;
    switch (s->sampler) {
    case VS_SAMPLER_GRID: rc = grid_propose(s, number, values, err); break;
    case VS_SAMPLER_RANDOM: rc = vs_sampler_random(s, number, values, err); break;
    case VS_SAMPLER_TPE: rc = vs_sampler_tpe(s, number, history, n_history, values, err); break;
    default: return vs_errorf(err, "sampler: unknown kind %d", (int)s->sampler);
    }
    /* low + k x step in binary is often a hair off the decimal the user wrote */
    for (int i = 0; rc == 0 && i < s->n_params; i++) values[i] = vs_param_on_grid(&s->params[i], values[i]);
    return rc;
}
