/* sparse.cuh: the batch and the sparse first layer's forward pass, on the GPU.
 *
 * The training CSR lives on the GPU. A batch is a list of rows (users) of such a CSR
 * plus the offsets of their entries in the batch (b_ptr, a prefix sum the host computes
 * from its copy of indptr, O(rows)); build_batch_kernel copies each row's items and
 * writes its input value: 1/sqrt(|row|) (the L2 normalisation), divided by keep_prob
 * when the dropout draw keeps the item, 0 when it drops it. Dropped entries stay in
 * this list, so its items are also the likelihood's x (the full row); the forward pass
 * reads the compacted input that by_item.cuh builds from it (kept entries only), in
 * evaluation (no dropout) the list itself.
 *
 * The first layer is a product of that sparse input with W1 [n_items, h1]: one block per
 * batch row, threads over the output columns, each summing the row's items' rows of W1
 * (coalesced along the row) in the row's (ascending item) order, the CPU's. Its weight
 * gradient is by_item.cuh's. */
#ifndef VS_CUDA_SPARSE_CUH
#define VS_CUDA_SPARSE_CUH

#include "common.cuh"
#include "common/pcg.h"

/* One block per batch row r (user users[r] of the CSR csr_ptr/csr_idx). The value
 * arithmetic is the CPU's (vs_batch_build_f32), in double then rounded, so the two
 * agree exactly; the dropout draw is vs_stream_at(seed, DROPOUT, step, user, item). */
__global__ static void build_batch_kernel(const int64_t *csr_ptr, const int32_t *csr_idx, const int32_t *users,
                                          const int64_t *b_ptr, uint64_t seed, int64_t step, double keep_prob,
                                          uint32_t threshold, int dropout, int32_t *b_idx, float *b_val) {
    int r = blockIdx.x;
    int32_t u = users[r];
    const int32_t *items = csr_idx + csr_ptr[u];
    int64_t cnt = csr_ptr[u + 1] - csr_ptr[u];
    int64_t out = b_ptr[r];
    float norm = cnt ? (float)(1.0 / sqrt((double)cnt)) : 0.0f;
    float kept_val = (float)((double)norm / keep_prob);
    for (int64_t k = threadIdx.x; k < cnt; k += blockDim.x) {
        int32_t item = items[k];
        float v = norm;
        if (dropout)
            v = vs_stream_at(seed, VS_RNG_DROPOUT, (uint64_t)step, (uint64_t)u, (uint64_t)item) < threshold ? kept_val
                                                                                                          : 0.0f;
        b_idx[out + k] = item;
        b_val[out + k] = v;
    }
}

/* y[r, :] = act(b + sum over the row's entries of val * W[item, :]), over a list of
 * kept entries only; the sum runs in the row's (ascending item) order, the CPU's. y16
 * gets the 16-bit copy. */
__global__ static void sparse_forward_kernel(const int64_t *b_ptr, const int32_t *b_idx, const float *b_val,
                                             const float *W, const float *bias, int out, int apply_tanh, float *y,
                                             void *y16, int half_kind) {
    int r = blockIdx.x;
    int64_t k0 = b_ptr[r], k1 = b_ptr[r + 1];
    for (int c = threadIdx.x; c < out; c += blockDim.x) {
        float acc = bias[c];
        for (int64_t k = k0; k < k1; k++) acc += b_val[k] * W[(size_t)b_idx[k] * out + c];
        if (apply_tanh) acc = tanhf(acc);
        size_t at = (size_t)r * out + c;
        y[at] = acc;
        vs_store_half(y16, at, acc, half_kind);
    }
}

static inline int vs_build_batch_gpu(int rows, const int64_t *csr_ptr, const int32_t *csr_idx, const int32_t *users,
                                     const int64_t *b_ptr, uint64_t seed, int64_t step, double keep_prob, int train,
                                     int32_t *b_idx, float *b_val, vs_error *err) {
    if (rows <= 0) return 0;
    int dropout = train && keep_prob < 1.0;
    build_batch_kernel<<<rows, VS_BLOCK>>>(csr_ptr, csr_idx, users, b_ptr, seed, step, keep_prob,
                                           vs_keep_threshold((float)keep_prob), dropout, b_idx, b_val);
    KERNEL_TRY(err, "build_batch_kernel");
    return 0;
}

static inline int vs_sparse_forward_gpu(int rows, const int64_t *b_ptr, const int32_t *b_idx, const float *b_val,
                                        const float *W, const float *bias, int out, int apply_tanh, float *y,
                                        void *y16, int half_kind, vs_error *err) {
    if (rows <= 0) return 0;
    sparse_forward_kernel<<<rows, VS_BLOCK>>>(b_ptr, b_idx, b_val, W, bias, out, apply_tanh, y, y16, half_kind);
    KERNEL_TRY(err, "sparse_forward_kernel");
    return 0;
}

#endif
