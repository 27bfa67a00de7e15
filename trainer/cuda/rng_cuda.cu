/* rng_cuda: dropout masks and noise from the counter-based PCG32 streams, on the GPU. */
#include "rng_cuda.h"

#include "cuda_check.h"
#include "common/pcg.h"

/* One thread per batch entry: the item's draw is the item-th output of the
 * (seed, step, user) dropout stream, reached by jump-ahead. */
__global__ static void dropout_kernel(uint64_t seed, int64_t step, const int32_t *users, int rows, const int64_t *ptr,
                                      const int32_t *idx, uint32_t threshold, uint8_t *keep) {
    int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (k >= ptr[rows]) return;
    int lo = 0, hi = rows - 1;   /* the row holding entry k */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (ptr[mid] <= k) lo = mid;
        else hi = mid - 1;
    }
    uint32_t x = vs_stream_at(seed, VS_RNG_DROPOUT, (uint64_t)step, (uint64_t)users[lo], (uint64_t)idx[k]);
    keep[k] = x < threshold;
}

/* One thread per (row, j): outputs 2j and 2j+1 of the (seed, step, user) noise stream. */
__global__ static void noise_kernel(uint64_t seed, int64_t step, const int32_t *users, int rows, int latent,
                                    float *eps) {
    int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (t >= (int64_t)rows * latent) return;
    int r = (int)(t / latent), j = (int)(t % latent);
    vs_pcg32 g = vs_stream(seed, VS_RNG_NOISE, (uint64_t)step, (uint64_t)users[r]);
    vs_pcg32_advance(&g, 2 * (uint64_t)j);
    eps[t] = (float)vs_pcg32_normal(&g);
}

template <typename T> static int to_device(T **dst, const T *src, size_t n, vs_error *err) {
    CUDA_TRY(err, cudaMalloc((void **)dst, n * sizeof(T) + 1));
    if (src && n) CUDA_TRY(err, cudaMemcpy(*dst, src, n * sizeof(T), cudaMemcpyHostToDevice));
    return 0;
}

extern "C" int vs_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" int vs_cuda_draw_dropout(uint64_t seed, int64_t step, const int32_t *users, int rows, const int64_t *ptr,
                                    const int32_t *idx, float keep_prob, uint8_t *keep_out, vs_error *err) {
    int64_t nnz = ptr[rows];
    int32_t *d_users = NULL, *d_idx = NULL;
    int64_t *d_ptr = NULL;
    uint8_t *d_keep = NULL;
    int rc = -1;
    if (to_device(&d_users, users, (size_t)rows, err) || to_device(&d_ptr, ptr, (size_t)rows + 1, err) ||
        to_device(&d_idx, idx, (size_t)nnz, err) || to_device(&d_keep, (const uint8_t *)NULL, (size_t)nnz, err))
        goto out;
    if (nnz > 0) {
        dropout_kernel<<<(unsigned)((nnz + 255) / 256), 256>>>(seed, step, d_users, rows, d_ptr, d_idx,
                                                               vs_keep_threshold(keep_prob), d_keep);
        if (cudaGetLastError() != cudaSuccess || cudaMemcpy(keep_out, d_keep, (size_t)nnz, cudaMemcpyDeviceToHost)) {
            vs_errorf(err, "%s:%d: dropout_kernel: %s", __FILE__, __LINE__, cudaGetErrorString(cudaGetLastError()));
            goto out;
        }
    }
    rc = 0;
out:
    cudaFree(d_users), cudaFree(d_ptr), cudaFree(d_idx), cudaFree(d_keep);
    return rc;
}

extern "C" int vs_cuda_draw_noise(uint64_t seed, int64_t step, const int32_t *users, int rows, int latent,
                                  float *eps_out, vs_error *err) {
    size_t n = (size_t)rows * latent;
    int32_t *d_users = NULL;
    float *d_eps = NULL;
    int rc = -1;
    if (to_device(&d_users, users, (size_t)rows, err) || to_device(&d_eps, (const float *)NULL, n, err)) goto out;
    if (n > 0) {
        noise_kernel<<<(unsigned)((n + 255) / 256), 256>>>(seed, step, d_users, rows, latent, d_eps);
        if (cudaGetLastError() != cudaSuccess || cudaMemcpy(eps_out, d_eps, n * sizeof(float), cudaMemcpyDeviceToHost)) {
            vs_errorf(err, "%s:%d: noise_kernel: %s", __FILE__, __LINE__, cudaGetErrorString(cudaGetLastError()));
            goto out;
        }
    }
    rc = 0;
out:
    cudaFree(d_users), cudaFree(d_eps);
    return rc;
}
