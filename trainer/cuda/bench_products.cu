/* bench_products: the benchmark's floor (bench/bench_gpu.c): the dense products of one
 * training step, timed on the backend's own cuBLAS calls (matmul.cuh) with random
 * operands, apart from the backend so that its file keeps to one concern. */
#include <stdint.h>
#include <stdio.h>

#include <curand.h>

#include "backend_cuda.h"

#include "common.cuh"
#include "elementwise.cuh"
#include "matmul.cuh"

/* n normal(0, stddev) values into dst, in precision p's product input type; scratch
 * holds n floats (rounded up to even, as cuRAND's normal generator asks). */
static int random_operand(void *dst, float *scratch, size_t n, float stddev, vs_precision p, uint64_t seed,
                          vs_error *err) {
    curandGenerator_t g = NULL;
    if (curandCreateGenerator(&g, CURAND_RNG_PSEUDO_DEFAULT) != CURAND_STATUS_SUCCESS)
        return vs_errorf(err, "%s:%d: curandCreateGenerator failed", __FILE__, __LINE__);
    curandStatus_t st = curandSetPseudoRandomGeneratorSeed(g, seed);
    if (st == CURAND_STATUS_SUCCESS) st = curandGenerateNormal(g, scratch, n + (n & 1), 0.0f, stddev);
    curandDestroyGenerator(g);
    if (st != CURAND_STATUS_SUCCESS)
        return vs_errorf(err, "%s:%d: curandGenerateNormal of %zu values: cuRAND status %d", __FILE__, __LINE__, n,
                         (int)st);
    if (vs_half_kind_of(p) != VS_HALF_NONE) return vs_cast_half_gpu(n, scratch, dst, vs_half_kind_of(p), err);
    CUDA_TRY(err, cudaMemcpy(dst, scratch, n * sizeof(float), cudaMemcpyDeviceToDevice));
    return 0;
}

/* The step's dense products, timed with events around reps repetitions. */
static int time_products(cublasHandle_t h, const vs_model_shape *s, vs_precision p, int rows, int reps, void *x,
                         void *W, float *y, float *dW, float *dx, double *seconds, vs_error *err) {
    cudaEvent_t start = NULL, stop = NULL;
    CUDA_TRY(err, cudaEventCreate(&start));
    if (cudaEventCreate(&stop) != cudaSuccess) {
        cudaEventDestroy(start);
        return vs_errorf(err, "%s:%d: cudaEventCreate failed", __FILE__, __LINE__);
    }
    int rc = -1;
    float ms = 0;
    for (int rep = -1; rep < reps; rep++) {   /* rep -1 is the warm-up */
        if (rep == 0 && cudaEventRecord(start) != cudaSuccess) {
            vs_errorf(err, "%s:%d: cudaEventRecord: %s", __FILE__, __LINE__, cudaGetErrorString(cudaGetLastError()));
            goto done;
        }
        for (int l = 1; l < vs_model_n_layers(s); l++) {
            const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
            vs_dmat xm = {(float *)x, x}, wm = {(float *)W, W}, dym = {(float *)x, x};
            if (vs_linear_forward_gpu(h, p, rows, L->in, L->out, xm, wm, y, err) ||
                vs_linear_weight_grad_gpu(h, p, rows, L->in, L->out, xm, dym, dW, 0, err) ||
                vs_linear_input_grad_gpu(h, p, rows, L->in, L->out, dym, wm, dx, err))
                goto done;
        }
    }
    if (cudaEventRecord(stop) != cudaSuccess || cudaEventSynchronize(stop) != cudaSuccess ||
        cudaEventElapsedTime(&ms, start, stop) != cudaSuccess) {
        vs_errorf(err, "%s:%d: timing the products: %s", __FILE__, __LINE__, cudaGetErrorString(cudaGetLastError()));
        goto done;
    }
    *seconds = ms * 1e-3 / (reps > 0 ? reps : 1);
    rc = 0;
done:
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return rc;
}

extern "C" int vs_cuda_time_dense_products(const vs_model_shape *s, vs_precision p, int rows, int reps,
                                           double *seconds_per_step, double *flops_per_step, vs_error *err) {
    /* reps >= 1: the start event is recorded by the first timed repetition */
    if (rows < 1 || reps < 1)
        return vs_errorf(err, "vs_cuda_time_dense_products: %d rows, %d repetitions (expected >= 1 each)", rows, reps);
    size_t max_in = 1, max_out = 1, max_w = 1;
    double flops = 0;
    for (int l = 1; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        if ((size_t)L->in > max_in) max_in = (size_t)L->in;
        if ((size_t)L->out > max_out) max_out = (size_t)L->out;
        if ((size_t)L->in * L->out > max_w) max_w = (size_t)L->in * L->out;
        flops += 3.0 * 2.0 * rows * (double)L->in * L->out;
    }
    size_t eb = vs_gemm_input_bytes(p), big = max_in > max_out ? max_in : max_out;
    scratch_set sc = {{0}, 0};
    cublasHandle_t h = NULL;
    void *x = NULL, *W = NULL;
    float *y = NULL, *dW = NULL, *dx = NULL;
    int rc = -1;
    /* x also serves as dy: one buffer of rows x the widest side, in the input type; y and
     * dW (+1: cuRAND draws normals in pairs) first hold x's and W's float draws */
    if (scratch_alloc(&sc, &x, (size_t)rows * big * eb, "benchmark input", err) ||
        scratch_alloc(&sc, &W, max_w * eb, "benchmark weights", err) ||
        scratch_alloc(&sc, (void **)&y, ((size_t)rows * big + 1) * sizeof(float), "benchmark output", err) ||
        scratch_alloc(&sc, (void **)&dW, (max_w + 1) * sizeof(float), "benchmark weight gradient", err) ||
        scratch_alloc(&sc, (void **)&dx, (size_t)rows * max_in * sizeof(float), "benchmark input gradient", err))
        goto done;
    /* Random operands: products of zeros run faster than products of real data (less
     * switching, less power), so a floor measured on zeros would sit too low. y and dW,
     * overwritten by the products, hold the float draws first. */
    if (random_operand(x, y, (size_t)rows * big, 0.5f, p, 1, err) || random_operand(W, dW, max_w, 0.05f, p, 2, err))
        goto done;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        h = NULL;
        vs_errorf(err, "%s:%d: cublasCreate failed", __FILE__, __LINE__);
        goto done;
    }
    if (time_products(h, s, p, rows, reps, x, W, y, dW, dx, seconds_per_step, err)) goto done;
    *flops_per_step = flops;
    rc = 0;
done:
    if (h) cublasDestroy(h);
    scratch_free(&sc);
    return rc;
}
