/* sampler_grid: the grid sampler. The points, numbered by space_grid.c (mixed radix,
 * the last parameter varying fastest; with conditions, only the combinations they
 * allow), are visited in the order of a seeded Fisher-Yates permutation, which is
 * computed lazily: point perm[n] needs only the first n + 1 swaps
 * (docs/search-algorithms.md, "Samplers and pruners"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"
#include "common/pcg.h"

/* The largest grid we enumerate: its permutation's state must stay small. */
#define GRID_MAX_POINTS 10000000LL
/* Stream key a of the grid's permutation: "grid" in ASCII (b = 0). */
#define GRID_STREAM_A 0x67726964ULL

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

int vs_sampler_grid(const vs_space *s, int number, double *values, vs_error *err) {
    int64_t size = vs_space_grid_size(s, err);
    if (size <= 0) return vs_error_prefix(err, "grid sampler");
    if (size > GRID_MAX_POINTS)
        return vs_errorf(err, "grid sampler: the grid has %lld points; at most %lld are supported", (long long)size,
                         (long long)GRID_MAX_POINTS);
    if (number < 0 || number >= size)
        return vs_errorf(err, "grid sampler: trial %d is beyond the grid's %lld points", number, (long long)size);
    /* The point's values: space_grid.c (mixed radix, the last parameter fastest; with
     * conditions, only the combinations they allow). */
    if (vs_space_grid_point(s, grid_permuted(s->seed, size, number), values, err))
        return vs_error_prefix(err, "grid sampler");
    return 0;
}
