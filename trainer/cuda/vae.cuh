/* vae.cuh: the variational layer on the GPU. The encoder's output mulv is rows x 2L:
 * mu in the first L columns, logvar in the last L.
 *   reparam_forward_kernel   z = mu + eps exp(logvar / 2), drawing eps in place from the
 *                            (seed, NOISE, step, user) stream (outputs 2j, 2j+1), the
 *                            CPU's numbers; z = mu at evaluation. Keeps eps for backward
 *                            and writes z's 16-bit copy.
 *   kl_rows_kernel           each row's KL(N(mu, exp(logvar)) || N(0, I)), in double, in
 *                            the CPU's order (one thread per row: L is small)
 *   reparam_kl_backward_kernel  d(mu, logvar) from dz through the reparameterisation plus
 *                            kl_scale times the KL's gradient, in double like the CPU. */
#ifndef VS_CUDA_VAE_CUH
#define VS_CUDA_VAE_CUH

#include "common.cuh"
#include "common/pcg.h"

__global__ static void reparam_forward_kernel(int rows, int L, const float *mulv, int train, uint64_t seed,
                                              int64_t step, const int32_t *users, float *eps, float *z, void *z16,
                                              int half_kind) {
    VS_GRID_STRIDE(t, (size_t)rows * L) {
        int r = (int)(t / (size_t)L), j = (int)(t % (size_t)L);
        const float *mu = mulv + (size_t)r * 2 * L, *lv = mu + L;
        float v = mu[j];
        if (train) {
            vs_pcg32 g = vs_stream(seed, VS_RNG_NOISE, (uint64_t)step, (uint64_t)users[r]);
            vs_pcg32_advance(&g, 2 * (uint64_t)j);
            float e = (float)vs_pcg32_normal(&g);
            eps[t] = e;
            v = mu[j] + e * (float)exp(0.5 * (double)lv[j]);
        }
        z[t] = v;
        vs_store_half(z16, t, v, half_kind);
    }
}

__global__ static void kl_rows_kernel(int rows, int L, const float *mulv, double *row_kl) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float *mu = mulv + (size_t)r * 2 * L, *lv = mu + L;
    double s = 0;
    for (int j = 0; j < L; j++)
        s += 0.5 * (-(double)lv[j] + exp((double)lv[j]) + (double)mu[j] * mu[j] - 1.0);
    row_kl[r] = s;
}

__global__ static void reparam_kl_backward_kernel(int rows, int L, const float *mulv, const float *eps,
                                                  const float *dz, double kl_scale, float *dmulv, void *dmulv16,
                                                  int half_kind) {
    VS_GRID_STRIDE(t, (size_t)rows * L) {
        int r = (int)(t / (size_t)L), j = (int)(t % (size_t)L);
        size_t mu_at = (size_t)r * 2 * L + j, lv_at = mu_at + L;
        double e = exp((double)mulv[lv_at]);
        double d = dz[t];
        double g_mu = kl_scale * mulv[mu_at] + d;
        double g_lv = kl_scale * 0.5 * (e - 1.0) + d * eps[t] * 0.5 * sqrt(e);
        dmulv[mu_at] = (float)g_mu;
        dmulv[lv_at] = (float)g_lv;
        vs_store_half(dmulv16, mu_at, (float)g_mu, half_kind);
        vs_store_half(dmulv16, lv_at, (float)g_lv, half_kind);
    }
}

static inline int vs_reparam_forward_gpu(int rows, int L, const float *mulv, int train, uint64_t seed, int64_t step,
                                         const int32_t *users, float *eps, float *z, void *z16, int half_kind,
                                         vs_error *err) {
    size_t n = (size_t)rows * L;
    if (n == 0) return 0;
    reparam_forward_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(rows, L, mulv, train, seed, step, users, eps, z, z16,
                                                                   half_kind);
    KERNEL_TRY(err, "reparam_forward_kernel");
    return 0;
}

static inline int vs_kl_rows_gpu(int rows, int L, const float *mulv, double *row_kl, vs_error *err) {
    if (rows <= 0) return 0;
    kl_rows_kernel<<<(rows + VS_BLOCK - 1) / VS_BLOCK, VS_BLOCK>>>(rows, L, mulv, row_kl);
    KERNEL_TRY(err, "kl_rows_kernel");
    return 0;
}

static inline int vs_reparam_kl_backward_gpu(int rows, int L, const float *mulv, const float *eps, const float *dz,
                                             double kl_scale, float *dmulv, void *dmulv16, int half_kind,
                                             vs_error *err) {
    size_t n = (size_t)rows * L;
    if (n == 0) return 0;
    reparam_kl_backward_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(rows, L, mulv, eps, dz, kl_scale, dmulv,
                                                                       dmulv16, half_kind);
    KERNEL_TRY(err, "reparam_kl_backward_kernel");
    return 0;
}

#endif
