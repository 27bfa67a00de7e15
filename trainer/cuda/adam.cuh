/* adam.cuh: the optimiser over the whole parameter buffer, and the fp16 overflow check.
 *   adam_kernel       Adam with bias correction on the fp32 master weights, the CPU's
 *                     float arithmetic (vs_adam_f32) element for element; the gradient is
 *                     first multiplied by inv_scale (1/loss scale in fp16, else 1), and
 *                     the 16-bit copy of each updated parameter is written in the same
 *                     pass (bf16, fp16), so the products of the next step read fresh
 *                     weights without a separate cast. In [clear_lo, clear_hi) it also
 *                     sets the gradients it read back to zero where they are not: the
 *                     first layer's rows that the batch touched (by_item.cuh writes only
 *                     those), so the next step finds zeros there without a memset of the
 *                     whole 48 MB (ML-20M) matrix; untouched rows cost no write.
 *   nonfinite_kernel  sets *flag when any gradient is inf or NaN (fp16: the scaled
 *                     backward overflowed); the host reads the flag once per step.
 *   nonfinite_half_kernel  the same over an fp16 array: which of the forward pass's
 *                     16-bit inputs overflowed, asked only after a non-finite loss. */
#ifndef VS_CUDA_ADAM_CUH
#define VS_CUDA_ADAM_CUH

#include <math.h>

#include "common.cuh"

typedef struct vs_adam_consts {
    float b1, b2, c1, c2;     /* beta1, beta2, 1 - beta1, 1 - beta2 */
    float step_size;          /* lr / (1 - beta1^t) */
    float inv_bc2;            /* 1 / (1 - beta2^t) */
    float eps;
    float inv_scale;          /* the gradients' unscaling */
} vs_adam_consts;

/* The constants of step t (1-based), rounded to float as the CPU rounds them. */
static inline vs_adam_consts vs_adam_consts_at(double lr, double beta1, double beta2, double eps, int64_t t,
                                               double loss_scale) {
    vs_adam_consts k;
    k.b1 = (float)beta1;
    k.b2 = (float)beta2;
    k.c1 = (float)(1 - beta1);
    k.c2 = (float)(1 - beta2);
    k.step_size = (float)(lr / (1.0 - pow(beta1, (double)t)));
    k.inv_bc2 = (float)(1.0 / (1.0 - pow(beta2, (double)t)));
    k.eps = (float)eps;
    k.inv_scale = (float)(1.0 / loss_scale);
    return k;
}

__global__ static void adam_kernel(size_t n, float *p, float *g, float *m, float *v, vs_adam_consts k, void *p16,
                                   int half_kind, size_t clear_lo, size_t clear_hi) {
    VS_GRID_STRIDE(i, n) {
        float raw = g[i];
        if (raw != 0.0f && i >= clear_lo && i < clear_hi) g[i] = 0.0f;
        float gi = raw * k.inv_scale;
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] - k.step_size * mi / (sqrtf(vi * k.inv_bc2) + k.eps);
        p[i] = pi;
        vs_store_half(p16, i, pi, half_kind);
    }
}

__global__ static void nonfinite_kernel(size_t n, const float *g, int *flag) {
    VS_GRID_STRIDE(i, n) {
        if (!isfinite(g[i])) *flag = 1;   /* every writer writes 1: no atomics needed */
    }
}

__global__ static void nonfinite_half_kernel(size_t n, const __half *x, int *flag) {
    VS_GRID_STRIDE(i, n) {
        if (__hisinf(x[i]) || __hisnan(x[i])) *flag = 1;
    }
}

/* Adam over n parameters; the gradients in [clear_lo, clear_hi) are left zero. */
static inline int vs_adam_gpu(size_t n, float *p, float *g, float *m, float *v, vs_adam_consts k, void *p16,
                              int half_kind, size_t clear_lo, size_t clear_hi, vs_error *err) {
    if (n == 0) return 0;
    adam_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, p, g, m, v, k, p16, half_kind, clear_lo, clear_hi);
    KERNEL_TRY(err, "adam_kernel");
    return 0;
}

static inline int vs_nonfinite_gpu(size_t n, const float *g, int *flag, vs_error *err) {
    if (n == 0) return 0;
    nonfinite_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, g, flag);
    KERNEL_TRY(err, "nonfinite_kernel");
    return 0;
}

static inline int vs_nonfinite_half_gpu(size_t n, const void *x16, int *flag, vs_error *err) {
    if (n == 0) return 0;
    nonfinite_half_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, (const __half *)x16, flag);
    KERNEL_TRY(err, "nonfinite_half_kernel");
    return 0;
}

#endif
