/* common.cuh: what the CUDA backend's kernel files share: the error checks (CUDA_TRY,
 * CUBLAS_TRY, KERNEL_TRY, from cuda_check.h), the 16-bit storage kinds of the
 * mixed-precision modes, grid sizing for grid-stride loops, and block-wide reductions.
 * Included only by .cu files. */
#ifndef VS_CUDA_COMMON_CUH
#define VS_CUDA_COMMON_CUH

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda_check.h"


/* The 16-bit copies kept for the tensor-core products: none in fp32/tf32. */
enum vs_half_kind { VS_HALF_NONE = 0, VS_HALF_FP16 = 1, VS_HALF_BF16 = 2 };

/* Writes v, rounded to nearest, as element i of a 16-bit array (nothing for NONE).
 * The kind is uniform across a launch, so the branch costs nothing measurable. */
__device__ __forceinline__ void vs_store_half(void *base, size_t i, float v, int kind) {
    if (kind == VS_HALF_FP16) ((__half *)base)[i] = __float2half_rn(v);
    else if (kind == VS_HALF_BF16) ((__nv_bfloat16 *)base)[i] = __float2bfloat16_rn(v);
}

#define VS_BLOCK 256

/* Device buffers of a test or benchmark entry point, freed together. */
typedef struct scratch_set {
    void *p[8];
    int n;
} scratch_set;

static inline int scratch_alloc(scratch_set *s, void **p, size_t bytes, const char *what, vs_error *err) {
    *p = NULL;
    cudaError_t st = cudaMalloc(p, bytes ? bytes : 16);
    if (st != cudaSuccess) {
        *p = NULL;
        return vs_errorf(err, "cudaMalloc of %zu bytes for %s: %s", bytes, what, cudaGetErrorString(st));
    }
    s->p[s->n++] = *p;
    return 0;
}

static inline void scratch_free(scratch_set *s) {
    for (int i = 0; i < s->n; i++) cudaFree(s->p[i]);
    s->n = 0;
}

/* Blocks for a grid-stride loop over n elements: enough to fill any GPU, never more
 * than the elements need. */
static inline unsigned vs_grid_for(size_t n, int block) {
    size_t blocks = (n + (size_t)block - 1) / (size_t)block;
    if (blocks < 1) blocks = 1;
    if (blocks > 65536) blocks = 65536;
    return (unsigned)blocks;
}

#define VS_GRID_STRIDE(i, n)                                                                          \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)(n);                  \
         i += (size_t)gridDim.x * blockDim.x)

/* Block-wide sum and max; blockDim.x must be a multiple of 32 (every launch here uses
 * 256 or 512). scratch holds 32 values in shared memory; every thread gets the result.
 * The order is a fixed tree, so a result does not vary between runs. */
__device__ __forceinline__ double vs_block_sum(double v, double *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < n_warps ? scratch[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) scratch[0] = v;
    }
    __syncthreads();
    double total = scratch[0];
    __syncthreads();   /* scratch may be reused right after */
    return total;
}

/* Max that ignores NaN, as the CPU's `v > m ? v : m` does. */
__device__ __forceinline__ float vs_block_max(float v, float *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < n_warps ? scratch[lane] : -INFINITY;
        for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
        if (lane == 0) scratch[0] = v;
    }
    __syncthreads();
    float m = scratch[0];
    __syncthreads();
    return m;
}

#endif
