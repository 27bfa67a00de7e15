/* classifier.cuh: the fused output layer (llm.c's fused classifier idea), one block per
 * batch row over all items, and the step's loss totals.
 *   softmax_xent_kernel  logits += b; m = max; picked = sum of the logits at the row's
 *                        items; e = exp(logit - m); s = sum e;
 *                        row_loss = |x| (m + log s) - picked  (= -sum_x log softmax);
 *                        the logits are overwritten by their gradient
 *                        grad_scale (|x| softmax - x), with its 16-bit copy.
 *                        grad_scale is 1/B, times the loss scale in fp16. The sums are
 *                        double, the element-wise work float, as on the CPU.
 *   step_losses_kernel   one block adds the rows' losses and KL and the penalty's chunk
 *                        sums (per thread in index order, then a fixed tree: the totals
 *                        do not vary from run to run), so the host reads one small
 *                        struct per step. */
#ifndef VS_CUDA_CLASSIFIER_CUH
#define VS_CUDA_CLASSIFIER_CUH

#include "common.cuh"

#define VS_CLASSIFIER_BLOCK 512

__global__ static void softmax_xent_kernel(int n, float *logits, const float *bias, const int64_t *x_ptr,
                                           const int32_t *x_idx, double grad_scale, double *row_loss, void *dy16,
                                           int half_kind) {
    __shared__ double scratch_d[32];
    __shared__ float scratch_f[32];
    int r = blockIdx.x;
    float *y = logits + (size_t)r * n;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = y[i];
        if (bias) {
            v += bias[i];
            y[i] = v;
        }
        m = v > m ? v : m;
    }
    m = vs_block_max(m, scratch_f);   /* also orders the writes above before the reads below */

    int64_t x0 = x_ptr[r], x1 = x_ptr[r + 1];
    double picked = 0;
    for (int64_t k = x0 + threadIdx.x; k < x1; k += blockDim.x) picked += y[x_idx[k]];
    picked = vs_block_sum(picked, scratch_d);

    double s = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float e = expf(y[i] - m);
        y[i] = e;
        s += e;
    }
    s = vs_block_sum(s, scratch_d);

    double nx = (double)(x1 - x0);
    if (threadIdx.x == 0) row_loss[r] = nx * ((double)m + log(s)) - picked;
    float scale = (float)(grad_scale * nx / s);
    size_t base = (size_t)r * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float g = y[i] * scale;
        y[i] = g;
        vs_store_half(dy16, base + i, g, half_kind);
    }
    __syncthreads();   /* the x entries below were written by other threads */
    float gs = (float)grad_scale;
    for (int64_t k = x0 + threadIdx.x; k < x1; k += blockDim.x) {
        int32_t i = x_idx[k];
        float g = y[i] - gs;
        y[i] = g;
        vs_store_half(dy16, base + i, g, half_kind);
    }
}

/* The device side of a step's losses, read by the host in one copy. */
typedef struct vs_dev_step_result {
    double neg_ll_sum, kl_sum, l2_sum;   /* sums over rows; l2 before lambda */
    int found_inf;                       /* fp16: a gradient was inf or NaN */
    int pad;
} vs_dev_step_result;

/* One block: thread t adds elements t, t + blockDim.x, ... in that order, then a block
 * reduction (a fixed tree) adds the threads' sums, so the totals do not vary. */
__global__ static void step_losses_kernel(int rows, const double *row_loss, const double *row_kl, int n_l2_chunks,
                                          const double *l2_partial, vs_dev_step_result *out) {
    __shared__ double scratch[32];
    double nll = 0, kl = 0, l2 = 0;
    for (int r = threadIdx.x; r < rows; r += blockDim.x) {
        nll += row_loss[r];
        kl += row_kl[r];
    }
    for (int c = threadIdx.x; c < n_l2_chunks; c += blockDim.x) l2 += l2_partial[c];
    nll = vs_block_sum(nll, scratch);
    kl = vs_block_sum(kl, scratch);
    l2 = vs_block_sum(l2, scratch);
    if (threadIdx.x == 0) {
        out->neg_ll_sum = nll;
        out->kl_sum = kl;
        out->l2_sum = l2;
    }
}

static inline int vs_softmax_xent_gpu(int rows, int n, float *logits, const float *bias, const int64_t *x_ptr,
                                      const int32_t *x_idx, double grad_scale, double *row_loss, void *dy16,
                                      int half_kind, vs_error *err) {
    if (rows <= 0) return 0;
    softmax_xent_kernel<<<rows, VS_CLASSIFIER_BLOCK>>>(n, logits, bias, x_ptr, x_idx, grad_scale, row_loss, dy16,
                                                       half_kind);
    KERNEL_TRY(err, "softmax_xent_kernel");
    return 0;
}

static inline int vs_step_losses_gpu(int rows, const double *row_loss, const double *row_kl, int n_l2_chunks,
                                     const double *l2_partial, vs_dev_step_result *out, vs_error *err) {
    step_losses_kernel<<<1, VS_BLOCK>>>(rows, row_loss, row_kl, n_l2_chunks, l2_partial, out);
    KERNEL_TRY(err, "step_losses_kernel");
    return 0;
}

#endif
