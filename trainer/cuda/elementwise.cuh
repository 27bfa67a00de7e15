/* elementwise.cuh: the element-wise kernels between the products, each fused with the
 * 16-bit cast its result needs in the mixed-precision modes (so no separate cast pass
 * reads the tensor again):
 *   bias_act_kernel       y = tanh(y + b) after a product (or y + b, no tanh), + 16-bit copy
 *   tanh_backward_kernel  dx *= 1 - y^2 (y the forward output), + 16-bit copy
 *   cast_half_kernel      a 16-bit copy of a float array (the parameters after set_state)
 *   fill_kernel           a constant (the vector of ones the bias gradients use)
 *   l2_penalty_kernel     grads[w] = 2 lambda W (times the loss scale) and the sum of W^2
 * Column sums for the bias gradients are a cuBLAS product with ones (matmul.cuh). */
#ifndef VS_CUDA_ELEMENTWISE_CUH
#define VS_CUDA_ELEMENTWISE_CUH

#include "common.cuh"

__global__ static void bias_act_kernel(size_t n, int out, float *y, const float *bias, int apply_tanh, void *y16,
                                       int half_kind) {
    VS_GRID_STRIDE(i, n) {
        float v = y[i];
        if (bias) v += bias[i % (size_t)out];
        if (apply_tanh) v = tanhf(v);
        y[i] = v;
        vs_store_half(y16, i, v, half_kind);
    }
}

__global__ static void tanh_backward_kernel(size_t n, const float *y, float *dx, void *dx16, int half_kind) {
    VS_GRID_STRIDE(i, n) {
        float v = dx[i] * (1.0f - y[i] * y[i]);
        dx[i] = v;
        vs_store_half(dx16, i, v, half_kind);
    }
}

__global__ static void cast_half_kernel(size_t n, const float *x, void *x16, int half_kind) {
    VS_GRID_STRIDE(i, n) vs_store_half(x16, i, x[i], half_kind);
}

__global__ static void fill_kernel(size_t n, float value, float *x) {
    VS_GRID_STRIDE(i, n) x[i] = value;
}

/* One block per chunk of VS_L2_CHUNK weights (the CPU's chunking): partial[chunk] =
 * sum of W^2 in double; grads[i] = two_lambda * W[i] * grad_scale. */
#define VS_L2_CHUNK 65536
__global__ static void l2_penalty_kernel(size_t n, const float *params, float *grads, float two_lambda,
                                         float grad_scale, double *partial) {
    __shared__ double scratch[32];
    size_t lo = (size_t)blockIdx.x * VS_L2_CHUNK, hi = lo + VS_L2_CHUNK < n ? lo + VS_L2_CHUNK : n;
    double acc = 0;
    for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        float p = params[i];
        acc += (double)p * p;
        grads[i] = two_lambda * p * grad_scale;
    }
    acc = vs_block_sum(acc, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

static inline int vs_bias_act_gpu(int rows, int out, float *y, const float *bias, int apply_tanh, void *y16,
                                  int half_kind, vs_error *err) {
    size_t n = (size_t)rows * out;
    if (n == 0) return 0;
    bias_act_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, out, y, bias, apply_tanh, y16, half_kind);
    KERNEL_TRY(err, "bias_act_kernel");
    return 0;
}

static inline int vs_tanh_backward_gpu(size_t n, const float *y, float *dx, void *dx16, int half_kind, vs_error *err) {
    if (n == 0) return 0;
    tanh_backward_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, y, dx, dx16, half_kind);
    KERNEL_TRY(err, "tanh_backward_kernel");
    return 0;
}

static inline int vs_cast_half_gpu(size_t n, const float *x, void *x16, int half_kind, vs_error *err) {
    if (n == 0 || half_kind == VS_HALF_NONE) return 0;
    cast_half_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, x, x16, half_kind);
    KERNEL_TRY(err, "cast_half_kernel");
    return 0;
}

static inline int vs_fill_gpu(size_t n, float value, float *x, vs_error *err) {
    if (n == 0) return 0;
    fill_kernel<<<vs_grid_for(n, VS_BLOCK), VS_BLOCK>>>(n, value, x);
    KERNEL_TRY(err, "fill_kernel");
    return 0;
}

static inline size_t vs_l2_chunks(size_t n_weights) { return (n_weights + VS_L2_CHUNK - 1) / VS_L2_CHUNK; }

static inline int vs_l2_penalty_gpu(size_t n_weights, const float *params, float *grads, double lambda,
                                    float grad_scale, double *partial, vs_error *err) {
    size_t chunks = vs_l2_chunks(n_weights);
    if (chunks == 0) return 0;
    l2_penalty_kernel<<<(unsigned)chunks, VS_BLOCK>>>(n_weights, params, grads, (float)(2.0 * lambda), grad_scale,
                                                      partial);
    KERNEL_TRY(err, "l2_penalty_kernel");
    return 0;
}

#endif
