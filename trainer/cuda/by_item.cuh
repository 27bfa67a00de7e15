/* by_item.cuh: a training batch's two views for the sparse first layer, built on the GPU
 * each step by the rules of batch_plan.h, and the layer's weight gradient from them.
 *   compacted input  the kept entries only, row by row (in_ptr, in_idx, in_val): what the
 *                    forward pass walks, so dropped entries cost it nothing;
 *   groups by item   the kept entries sorted by item, stably (rows ascending in a
 *                    group), with each item's group start: dW1 row i is written by one
 *                    block, its terms added in row order with fused multiply-adds; no
 *                    atomics, so the gradient is the same to the bit from run to run
 *                    (batch_by_item.h's order, the CPU backend's).
 * The flags' prefix sum and the sort are CUB's (DeviceScan, DeviceRadixSort: stable,
 * and deterministic on integers). Rows of dW1 whose item is not in the batch are not
 * touched: they hold their start value (the L2 penalty's gradient, or zeros, which the
 * Adam step restores after using them: adam.cuh). */
#ifndef VS_CUDA_BY_ITEM_CUH
#define VS_CUDA_BY_ITEM_CUH

#include <limits.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "batch_plan.h"
#include "common.cuh"

typedef struct vs_by_item {
    int64_t cap_nnz;      /* entries every per-entry buffer holds */
    int cap_rows;
    int32_t n_items;
    int32_t *pos;         /* cap_nnz + 1: kept flags, then their exclusive prefix sum */
    uint32_t *keys[2];    /* sort keys and CUB's alternate buffer */
    uint64_t *vals[2];    /* sort values (row, value) and the alternate */
    int64_t *in_ptr;      /* cap_rows + 1: the compacted input, */
    int32_t *in_idx;      /* its items, */
    float *in_val;        /* its values */
    int32_t *starts;      /* n_items + 1: item i's group is sorted[starts[i] .. starts[i+1]) */
    void *temp;           /* CUB's scratch */
    size_t temp_bytes;
    const uint32_t *sorted_keys;   /* after vs_by_item_build_gpu: which buffer holds the result */
    const uint64_t *sorted_vals;
} vs_by_item;

static inline void vs_by_item_free(vs_by_item *g) {
    void *bufs[] = {g->pos, g->keys[0], g->keys[1], g->vals[0], g->vals[1], g->in_ptr, g->in_idx, g->in_val,
                    g->starts, g->temp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    memset(g, 0, sizeof *g);
}

/* Device bytes for nnz entries, rows rows and n_items items, CUB's scratch aside (the
 * memory plan counts it with cuBLAS's workspace). */
static inline double vs_by_item_bytes(int64_t nnz, int rows, int32_t n_items) {
    return (double)(nnz + 1) * 4 + (double)nnz * (2 * 4 + 2 * 8 + 4 + 4) + (double)(rows + 1) * 8 +
           (double)(n_items + 1) * 4;
}

/* Room for batches of up to nnz entries and rows rows over n_items items; keeps what
 * fits. An error names the part that could not be allocated. */
static inline int vs_by_item_reserve(vs_by_item *g, int64_t nnz, int rows, int32_t n_items, vs_error *err) {
    if (nnz > INT32_MAX - 1)
        return vs_errorf(err, "cuda backend: a batch of %lld entries: the first layer's grouping takes at most %d",
                         (long long)nnz, INT32_MAX - 1);
    if (nnz <= g->cap_nnz && rows <= g->cap_rows && n_items == g->n_items) return 0;
    vs_by_item_free(g);
    if (nnz < 1) nnz = 1;
    size_t n = (size_t)nnz, scan_bytes = 0, sort_bytes = 0;
    cub::DoubleBuffer<uint32_t> keys(NULL, NULL);
    cub::DoubleBuffer<uint64_t> vals(NULL, NULL);
    CUDA_TRY(err, cub::DeviceScan::ExclusiveSum(NULL, scan_bytes, (int32_t *)NULL, (int32_t *)NULL, (int)nnz + 1));
    CUDA_TRY(err, cub::DeviceRadixSort::SortPairs(NULL, sort_bytes, keys, vals, (int)nnz, 0,
                                                  vs_plan_key_bits(n_items)));
    size_t temp = scan_bytes > sort_bytes ? scan_bytes : sort_bytes;
#define VS_BY_ITEM_ALLOC(ptr, bytes, what)                                                                    \
    do {                                                                                                      \
        cudaError_t st_ = cudaMalloc((void **)&(ptr), (bytes));                                               \
        if (st_ != cudaSuccess) {                                                                             \
            (ptr) = NULL;                                                                                     \
            vs_by_item_free(g);                                                                               \
            return vs_errorf(err, "cudaMalloc of %zu bytes for %s: %s", (size_t)(bytes), (what),              \
                             cudaGetErrorString(st_));                                                        \
        }                                                                                                     \
    } while (0)
    VS_BY_ITEM_ALLOC(g->pos, (n + 1) * sizeof(int32_t), "the batch's kept entries");
    VS_BY_ITEM_ALLOC(g->keys[0], n * sizeof(uint32_t), "the batch's sort keys");
    VS_BY_ITEM_ALLOC(g->keys[1], n * sizeof(uint32_t), "the batch's sort keys");
    VS_BY_ITEM_ALLOC(g->vals[0], n * sizeof(uint64_t), "the batch's sort values");
    VS_BY_ITEM_ALLOC(g->vals[1], n * sizeof(uint64_t), "the batch's sort values");
    VS_BY_ITEM_ALLOC(g->in_ptr, ((size_t)rows + 1) * sizeof(int64_t), "the compacted batch");
    VS_BY_ITEM_ALLOC(g->in_idx, n * sizeof(int32_t), "the compacted batch");
    VS_BY_ITEM_ALLOC(g->in_val, n * sizeof(float), "the compacted batch");
    VS_BY_ITEM_ALLOC(g->starts, ((size_t)n_items + 1) * sizeof(int32_t), "the item groups");
    VS_BY_ITEM_ALLOC(g->temp, temp ? temp : 16, "the grouping's scratch");
#undef VS_BY_ITEM_ALLOC
    g->temp_bytes = temp;
    g->cap_nnz = nnz;
    g->cap_rows = rows;
    g->n_items = n_items;
    return 0;
}

/* Step 1, one block per batch row: each entry's flag, key and value (batch_plan.h). */
__global__ static void plan_entries_kernel(const int64_t *b_ptr, const int32_t *b_idx, const float *b_val,
                                           int32_t n_items, int32_t *kept, uint32_t *keys, uint64_t *vals) {
    int r = blockIdx.x;
    for (int64_t k = b_ptr[r] + threadIdx.x; k < b_ptr[r + 1]; k += blockDim.x) {
        float v = b_val[k];
        kept[k] = vs_plan_kept(v);
        keys[k] = vs_plan_key(v, b_idx[k], n_items);
        vals[k] = vs_plan_pack(r, v);
    }
}

/* Step 2, one block per batch row: the kept entries to their places in the compacted
 * input (pos: the flags' exclusive prefix sum, pos[nnz] the kept count). */
__global__ static void compact_kernel(int rows, const int64_t *b_ptr, const int32_t *b_idx, const float *b_val,
                                      const int32_t *pos, int64_t *in_ptr, int32_t *in_idx, float *in_val) {
    int r = blockIdx.x;
    int64_t k0 = b_ptr[r], k1 = b_ptr[r + 1];
    if (threadIdx.x == 0) {
        in_ptr[r] = pos[k0];
        if (r == rows - 1) in_ptr[rows] = pos[k1];
    }
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
        float v = b_val[k];
        if (!vs_plan_kept(v)) continue;
        int32_t j = pos[k];
        in_idx[j] = b_idx[k];
        in_val[j] = v;
    }
}

/* Step 3's group starts, one thread per item (and n_items: the kept count). */
__global__ static void group_starts_kernel(const uint32_t *sorted_keys, int32_t nnz, int32_t n_items,
                                           int32_t *starts) {
    VS_GRID_STRIDE(i, (size_t)n_items + 1) starts[i] = vs_plan_group_start(sorted_keys, nnz, (uint32_t)i);
}

/* Builds both views of the batch (rows rows, nnz entries: b_ptr, b_idx, b_val on the GPU). */
static inline int vs_by_item_build_gpu(vs_by_item *g, int rows, int64_t nnz, const int64_t *b_ptr,
                                       const int32_t *b_idx, const float *b_val, vs_error *err) {
    if (rows < 1 || rows > g->cap_rows || nnz > g->cap_nnz)
        return vs_errorf(err, "cuda backend: grouping a batch of %d rows, %lld entries, in room for %d and %lld", rows,
                         (long long)nnz, g->cap_rows, (long long)g->cap_nnz);
    int n = (int)nnz;
    plan_entries_kernel<<<rows, VS_BLOCK>>>(b_ptr, b_idx, b_val, g->n_items, g->pos, g->keys[0], g->vals[0]);
    KERNEL_TRY(err, "plan_entries_kernel");
    CUDA_TRY(err, cudaMemsetAsync(g->pos + n, 0, sizeof(int32_t)));
    size_t bytes = g->temp_bytes;
    CUDA_TRY(err, cub::DeviceScan::ExclusiveSum(g->temp, bytes, g->pos, g->pos, n + 1));
    compact_kernel<<<rows, VS_BLOCK>>>(rows, b_ptr, b_idx, b_val, g->pos, g->in_ptr, g->in_idx, g->in_val);
    KERNEL_TRY(err, "compact_kernel");
    cub::DoubleBuffer<uint32_t> keys(g->keys[0], g->keys[1]);
    cub::DoubleBuffer<uint64_t> vals(g->vals[0], g->vals[1]);
    bytes = g->temp_bytes;
    if (n > 0)
        CUDA_TRY(err, cub::DeviceRadixSort::SortPairs(g->temp, bytes, keys, vals, n, 0, vs_plan_key_bits(g->n_items)));
    g->sorted_keys = keys.Current();
    g->sorted_vals = vals.Current();
    group_starts_kernel<<<vs_grid_for((size_t)g->n_items + 1, VS_BLOCK), VS_BLOCK>>>(g->sorted_keys, n, g->n_items,
                                                                                     g->starts);
    KERNEL_TRY(err, "group_starts_kernel");
    return 0;
}

#define VS_BY_ITEM_CHUNK 256

/* Step 4: dW[i, :] += sum over item i's group, in row order, of val * dy[row, :]; one
 * block per item (an item outside the batch: nothing to do). The group is staged
 * through shared memory a chunk at a time; each thread owns columns, one pass of the
 * group per blockDim columns. Every thread runs every loop to its end (the
 * __syncthreads need them all), computing only where its column exists. */
__global__ static void weight_grad_by_item_kernel(const int32_t *starts, const uint64_t *sorted_vals, const float *dy,
                                                  int out, float *dW) {
    __shared__ int32_t s_row[VS_BY_ITEM_CHUNK];
    __shared__ float s_val[VS_BY_ITEM_CHUNK];
    int item = blockIdx.x;
    int32_t k0 = starts[item], k1 = starts[item + 1];
    if (k0 == k1) return;   /* uniform across the block */
    float *w = dW + (size_t)item * out;
    for (int c0 = 0; c0 < out; c0 += blockDim.x) {
        int c = c0 + (int)threadIdx.x;
        float acc = c < out ? w[c] : 0.0f;
        for (int32_t base = k0; base < k1; base += VS_BY_ITEM_CHUNK) {
            int32_t n = k1 - base < VS_BY_ITEM_CHUNK ? k1 - base : VS_BY_ITEM_CHUNK;
            __syncthreads();   /* the previous chunk is read by every thread */
            for (int t = (int)threadIdx.x; t < n; t += blockDim.x) {
                uint64_t p = sorted_vals[base + t];
                s_row[t] = vs_plan_row(p);
                s_val[t] = vs_plan_val(p);
            }
            __syncthreads();
            if (c < out)
                for (int32_t t = 0; t < n; t++) acc = __fmaf_rn(s_val[t], dy[(size_t)s_row[t] * out + c], acc);
        }
        if (c < out) w[c] = acc;
    }
}

static inline int vs_weight_grad_by_item_gpu(const vs_by_item *g, const float *dy, int out, float *dW, vs_error *err) {
    int threads = out < 1024 ? (out + 31) / 32 * 32 : 1024;
    weight_grad_by_item_kernel<<<g->n_items, threads>>>(g->starts, g->sorted_vals, dy, out, dW);
    KERNEL_TRY(err, "weight_grad_by_item_kernel");
    return 0;
}

#endif
