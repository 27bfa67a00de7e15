/* batch_plan: the per-entry rules by which the GPU turns a training batch into the first
 * layer's two views (by_item.cuh), written once for the device kernels and for a host
 * replay of the same steps (tests/test_batch_by_item.c checks that the replay gives
 * trainer/batch_by_item.c's groups, entry for entry):
 *   1. every entry k of the batch (its rows' full item lists, dropped entries with value
 *      0) gets a kept flag, a sort key (its item, or n_items when dropped, so dropped
 *      entries sort after every item) and a sort value packing its row and input value;
 *   2. an exclusive prefix sum of the kept flags gives each kept entry its place in the
 *      compacted input (the forward pass's rows, dropped entries gone; in order, so each
 *      row's items stay ascending);
 *   3. a stable sort by key (CUB's radix sort, stable by its documentation) leaves each
 *      item's entries together in row order; item i's group starts at the first key >= i;
 *   4. dW1 row i = its start value plus, in that order, val * dy[row] of its group's
 *      entries: batch_by_item's order of terms, so one block a row, no atomics.
 * Plain C with inline functions, compiled by nvcc as __host__ __device__. */
#ifndef VS_CUDA_BATCH_PLAN_H
#define VS_CUDA_BATCH_PLAN_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define VS_PLAN_FN __host__ __device__ static inline
#else
#define VS_PLAN_FN static inline
#endif

/* A batch entry is kept when its input value is not 0 (dropout writes 0 for a drop;
 * a kept value is 1/sqrt(n)/keep_prob, never 0). */
VS_PLAN_FN int32_t vs_plan_kept(float val) { return val != 0.0f; }

VS_PLAN_FN uint32_t vs_plan_key(float val, int32_t item, int32_t n_items) {
    return vs_plan_kept(val) ? (uint32_t)item : (uint32_t)n_items;
}

/* The bits the sort must look at: enough for n_items itself (the dropped entries' key). */
VS_PLAN_FN int vs_plan_key_bits(int32_t n_items) {
    int bits = 1;
    while (bits < 32 && ((uint32_t)n_items >> bits) != 0) bits++;
    return bits;
}

/* The sort's value: the entry's row (high half) and its input value's bits (low half). */
VS_PLAN_FN uint64_t vs_plan_pack(int32_t row, float val) {
    uint32_t bits;
    memcpy(&bits, &val, sizeof bits);
    return (uint64_t)(uint32_t)row << 32 | bits;
}

VS_PLAN_FN int32_t vs_plan_row(uint64_t packed) { return (int32_t)(uint32_t)(packed >> 32); }

VS_PLAN_FN float vs_plan_val(uint64_t packed) {
    uint32_t bits = (uint32_t)packed;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* The first of n sorted keys that is >= item (n when none): where item's group starts;
 * item n_items gives the count of kept entries. */
VS_PLAN_FN int32_t vs_plan_group_start(const uint32_t *keys, int32_t n, uint32_t item) {
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

#endif
