/* eval.cuh: ranking and metrics of held-out users on the GPU, equal to metrics.c's.
 *
 * The CPU ranks by a 64-bit key: the score mapped to an order-preserving uint32 in the
 * high half, the complement of the item index in the low half, so higher key = higher
 * score, then lower index. Here:
 *   score_keys_kernel    turns each score into that uint32, in place (the logits are not
 *                        needed afterwards); NaN maps to 1 (below -inf, as on the CPU)
 *                        so that 0 is free to mean "excluded"
 *   exclude_kernel       writes 0 at each row's fold-in items
 *   topk_kernel          one block per row: counts the non-excluded items (k' = min(k,
 *                        that)), finds the k'-th largest uint32 by a 4-pass radix select
 *                        (8 bits a pass, a 256-bin shared histogram filled with one
 *                        atomic per group of equal bins in a warp), takes every item
 *                        above it and the lowest-indexed items equal to it (a block scan
 *                        in index order), and ranks the k' chosen 64-bit keys by counting
 *                        (keys are distinct), best first; -1 fills the rest as on the CPU
 *   user_metrics_kernel  one thread per row: DCG@100 over the ranks in order, hits@20,
 *                        @50, with the host's discount table, so the values are the CPU's
 *   metric_sums_kernel   one thread adds the rows in order into running sums (held in
 *                        registers, stored once): the same sequence of additions as the
 *                        CPU's merges, so equal sums. */
#ifndef VS_CUDA_EVAL_CUH
#define VS_CUDA_EVAL_CUH

#include "common.cuh"
#include "trainer/metrics.h"

#define VS_TOPK_BLOCK 512
#define VS_TOPK_MAX 128   /* shared space for the chosen keys; k = VS_METRICS_TOPK = 100 */

/* metrics.c's score_key, with NaN at 1 instead of 0. */
__device__ __forceinline__ uint32_t vs_score_key(float score) {
    if (isnan(score)) return 1u;
    if (score == 0.0f) score = 0.0f;   /* folds -0.0 into +0.0: they tie */
    uint32_t bits = __float_as_uint(score);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__global__ static void score_keys_kernel(size_t n, float *scores) {
    uint32_t *keys = (uint32_t *)scores;
    VS_GRID_STRIDE(i, n) keys[i] = vs_score_key(scores[i]);
}

/* Row r of the batch is row row0 + r of the fold-in CSR. */
__global__ static void exclude_kernel(int64_t row0, const int64_t *ptr, const int32_t *idx, int n_items,
                                      uint32_t *keys) {
    int r = blockIdx.x;
    int64_t k0 = ptr[row0 + r], k1 = ptr[row0 + r + 1];
    for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) {
        int32_t item = idx[k];
        if (item >= 0 && item < n_items) keys[(size_t)r * n_items + item] = 0u;
    }
}

__global__ static void topk_kernel(const uint32_t *keys, int n, int k, int32_t *topk) {
    __shared__ unsigned hist[256];
    __shared__ unsigned s_valid, s_chosen, s_remaining;
    __shared__ uint32_t s_prefix;
    __shared__ unsigned warp_counts[32];
    __shared__ unsigned long long chosen[VS_TOPK_MAX];
    const uint32_t *row = keys + (size_t)blockIdx.x * n;
    int32_t *dst = topk + (size_t)blockIdx.x * k;
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, n_warps = blockDim.x >> 5;

    if (tid == 0) s_valid = s_chosen = 0;
    __syncthreads();
    unsigned valid = 0;
    for (int i = tid; i < n; i += blockDim.x) valid += row[i] != 0u;
    if (valid) atomicAdd(&s_valid, valid);
    __syncthreads();
    unsigned kk = s_valid < (unsigned)k ? s_valid : (unsigned)k;

    /* Radix select: after the pass at `shift`, prefix holds the top bits of the kk-th
     * largest key and remaining how many keys with that prefix are still to be taken. */
    uint32_t prefix = 0, mask = 0;
    unsigned remaining = kk;
    for (int shift = 24; kk > 0 && shift >= 0; shift -= 8) {
        for (int i = tid; i < 256; i += blockDim.x) hist[i] = 0;
        __syncthreads();
        /* Scores of a row share their top bits, so most keys hit one bin: the lanes of
         * a warp with the same bin add their count once (the whole warp takes part in
         * every __match_any_sync, hence the block-uniform loop). */
        for (int start = 0; start < n; start += blockDim.x) {
            int i = start + tid;
            uint32_t v = i < n ? row[i] : 0u;
            unsigned bin = i < n && (v & mask) == prefix ? (v >> shift) & 255u : 256u;
            unsigned peers = __match_any_sync(0xffffffffu, bin);
            if (bin < 256u && lane == __ffs(peers) - 1) atomicAdd(&hist[bin], (unsigned)__popc(peers));
        }
        __syncthreads();
        if (tid == 0) {
            unsigned above = 0;
            int d = 255;
            while (d > 0 && above + hist[d] < remaining) above += hist[d--];
            s_remaining = remaining - above;
            s_prefix = prefix | ((uint32_t)d << shift);
        }
        __syncthreads();
        remaining = s_remaining;
        prefix = s_prefix;
        mask |= 255u << shift;
        __syncthreads();
    }
    uint32_t threshold = prefix;   /* the kk-th largest key (>= 1: kk <= valid keys) */

    if (kk > 0) {
        /* Every key above the threshold is in: kk - remaining of them. */
        for (int i = tid; i < n; i += blockDim.x) {
            uint32_t v = row[i];
            if (v > threshold) {
                unsigned slot = atomicAdd(&s_chosen, 1u);
                if (slot < VS_TOPK_MAX) chosen[slot] = ((unsigned long long)v << 32) | (0xffffffffu - (uint32_t)i);
            }
        }
        __syncthreads();
        /* Then the `remaining` lowest indices equal to it, scanning in index order. */
        unsigned base = s_chosen, taken = 0;
        for (int start = 0; start < n && taken < remaining; start += blockDim.x) {
            int i = start + tid;
            int match = i < n && row[i] == threshold;
            unsigned ballot = __ballot_sync(0xffffffffu, match);
            if (lane == 0) warp_counts[warp] = __popc(ballot);
            __syncthreads();
            unsigned before = 0, total = 0;
            for (int w = 0; w < n_warps; w++) {
                if (w < warp) before += warp_counts[w];
                total += warp_counts[w];
            }
            unsigned pos = taken + before + __popc(ballot & ((1u << lane) - 1u));
            if (match && pos < remaining && base + pos < VS_TOPK_MAX)
                chosen[base + pos] = ((unsigned long long)threshold << 32) | (0xffffffffu - (uint32_t)i);
            taken += total;
            __syncthreads();   /* warp_counts is rewritten by the next chunk */
        }
        __syncthreads();
    }
    /* Rank by counting: the chosen keys are distinct, so each has its own place. */
    for (unsigned t = tid; t < kk; t += blockDim.x) {
        unsigned long long key = chosen[t];
        unsigned rank = 0;
        for (unsigned j = 0; j < kk; j++) rank += chosen[j] > key;
        dst[rank] = (int32_t)(0xffffffffu - (uint32_t)key);
    }
    for (int t = (int)kk + tid; t < k; t += blockDim.x) dst[t] = -1;
}

/* user_metrics[r] = {ndcg@100, recall@20, recall@50, counted} for row row0 + r of the
 * targets CSR (sorted items); discount[r] = 1/log2(r+2), ideal[m] = sum of discount[0..m). */
__global__ static void user_metrics_kernel(int rows, int64_t row0, const int32_t *topk, int k, const int64_t *t_ptr,
                                           const int32_t *t_idx, const double *discount, const double *ideal,
                                           double *user_metrics) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    double *out = user_metrics + (size_t)r * 4;
    const int32_t *targets = t_idx + t_ptr[row0 + r];
    int64_t n_targets = t_ptr[row0 + r + 1] - t_ptr[row0 + r];
    out[0] = out[1] = out[2] = out[3] = 0.0;
    if (n_targets <= 0) return;
    const int32_t *ranked = topk + (size_t)r * k;
    double dcg = 0;
    int64_t hits20 = 0, hits50 = 0;
    for (int rank = 0; rank < VS_METRICS_TOPK && rank < k; rank++) {
        int32_t item = ranked[rank];
        if (item < 0) continue;
        int64_t lo = 0, hi = n_targets;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (targets[mid] < item) lo = mid + 1;
            else hi = mid;
        }
        if (lo >= n_targets || targets[lo] != item) continue;
        dcg += discount[rank];
        if (rank < 20) hits20++;
        if (rank < 50) hits50++;
    }
    int64_t ideal_ranks = n_targets < VS_METRICS_TOPK ? n_targets : VS_METRICS_TOPK;
    out[0] = dcg / ideal[ideal_ranks];
    out[1] = (double)hits20 / (double)(n_targets < 20 ? n_targets : 20);
    out[2] = (double)hits50 / (double)(n_targets < 50 ? n_targets : 50);
    out[3] = 1.0;
}

/* The compiler must assume that sums may alias user_metrics, so adding into *sums
 * would load and store global memory at every addition: the running sums stay in
 * registers and are stored once (the same additions, in the same order). */
__global__ static void metric_sums_kernel(int rows, const double *user_metrics, vs_metric_sums *sums) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    vs_metric_sums s = *sums;
    for (int r = 0; r < rows; r++) {
        const double *u = user_metrics + (size_t)r * 4;
        if (u[3] == 0.0) continue;   /* the CPU adds nothing for a user without targets */
        s.ndcg100 += u[0];
        s.recall20 += u[1];
        s.recall50 += u[2];
        s.users += 1;
    }
    *sums = s;
}

/* Ranks rows x n_items scores (destroyed: they become keys) with the fold-in rows
 * row0.. of (in_ptr, in_idx) excluded, and adds the metrics against the target rows
 * row0.. of (t_ptr, t_idx) into *sums. topk receives rows x VS_METRICS_TOPK items. */
static inline int vs_rank_and_score_gpu(int rows, int n_items, float *scores, int64_t row0, const int64_t *in_ptr,
                                        const int32_t *in_idx, const int64_t *t_ptr, const int32_t *t_idx,
                                        const double *discount, const double *ideal, int32_t *topk,
                                        double *user_metrics, vs_metric_sums *sums, vs_error *err) {
    if (rows <= 0) return 0;
    size_t n = (size_t)rows * n_items;
    score_keys_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, scores);
    KERNEL_TRY(err, "score_keys_kernel");
    uint32_t *keys = (uint32_t *)scores;
    exclude_kernel<<<rows, VS_BLOCK>>>(row0, in_ptr, in_idx, n_items, keys);
    KERNEL_TRY(err, "exclude_kernel");
    topk_kernel<<<rows, VS_TOPK_BLOCK>>>(keys, n_items, VS_METRICS_TOPK, topk);
    KERNEL_TRY(err, "topk_kernel");
    user_metrics_kernel<<<(rows + VS_BLOCK - 1) / VS_BLOCK, VS_BLOCK>>>(rows, row0, topk, VS_METRICS_TOPK, t_ptr, t_idx,
                                                                       discount, ideal, user_metrics);
    KERNEL_TRY(err, "user_metrics_kernel");
    metric_sums_kernel<<<1, 32>>>(rows, user_metrics, sums);
    KERNEL_TRY(err, "metric_sums_kernel");
    return 0;
}

#endif
