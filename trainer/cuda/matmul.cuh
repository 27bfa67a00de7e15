/* matmul.cuh: the dense products of the CUDA backend on cuBLAS, by precision.
 * Matrices are row-major like the CPU's (a weight is [in, out], y = x W); cuBLAS is
 * column-major, and a row-major matrix read column-major is its transpose, so a
 * row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T:
 * the operands swap places and keep their transpose flags.
 *   fp32  A, B, C float, CUBLAS_COMPUTE_32F (no tensor-core rounding of the inputs)
 *   tf32  A, B, C float, CUBLAS_COMPUTE_32F_FAST_TF32 (inputs rounded to 10-bit mantissas)
 *   bf16  A, B bfloat16, C float, CUBLAS_COMPUTE_32F (fp32 accumulation)
 *   fp16  A, B half, C float, CUBLAS_COMPUTE_32F
 * In the 16-bit modes the caller passes the 16-bit copies of A and B; C is always
 * float, so the activations, the logits and every gradient stay float. */
#ifndef VS_CUDA_MATMUL_CUH
#define VS_CUDA_MATMUL_CUH

#include "common.cuh"
#include "trainer/config.h"

/* A device matrix with its optional 16-bit copy (h is NULL in fp32 and tf32). */
typedef struct vs_dmat {
    float *f;
    void *h;
} vs_dmat;

static inline cudaDataType_t vs_gemm_input_type(vs_precision p) {
    switch (p) {
    case VS_FP16: return CUDA_R_16F;
    case VS_BF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
    }
}

static inline int vs_half_kind_of(vs_precision p) {
    return p == VS_FP16 ? VS_HALF_FP16 : p == VS_BF16 ? VS_HALF_BF16 : VS_HALF_NONE;
}

static inline size_t vs_gemm_input_bytes(vs_precision p) {
    return vs_half_kind_of(p) == VS_HALF_NONE ? sizeof(float) : 2;
}

/* The operand a product reads in this precision: the float matrix or its 16-bit copy. */
static inline const void *vs_gemm_operand(vs_dmat m, vs_precision p) {
    return vs_half_kind_of(p) == VS_HALF_NONE ? (const void *)m.f : (const void *)m.h;
}

/* Row-major C[M, N] = op(A)[M, K] op(B)[K, N] + beta C, with C float. lda, ldb, ldc are
 * the row lengths of A, B, C as stored. */
static inline int vs_gemm_rm(cublasHandle_t handle, vs_precision p, int trans_a, int trans_b, int M, int N, int K,
                             const void *A, int lda, const void *B, int ldb, float beta, float *C, int ldc,
                             vs_error *err) {
    const float alpha = 1.0f;
    cudaDataType_t in = vs_gemm_input_type(p);
    cublasComputeType_t compute = p == VS_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_TRY(err, cublasGemmEx(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N,
                                 M, K, &alpha, B, in, ldb, A, in, lda, &beta, C, CUDA_R_32F, ldc, compute,
                                 CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* y[rows, out] = x[rows, in] W[in, out] (no bias: bias_act_kernel adds it). */
static inline int vs_linear_forward_gpu(cublasHandle_t h, vs_precision p, int rows, int in, int out, vs_dmat x,
                                        vs_dmat W, float *y, vs_error *err) {
    return vs_gemm_rm(h, p, 0, 0, rows, out, in, vs_gemm_operand(x, p), in, vs_gemm_operand(W, p), out, 0.0f, y, out,
                      err);
}

/* dW[in, out] (+)= x^T dy (accumulates when acc: onto the L2 penalty's gradient). */
static inline int vs_linear_weight_grad_gpu(cublasHandle_t h, vs_precision p, int rows, int in, int out, vs_dmat x,
                                            vs_dmat dy, float *dW, int acc, vs_error *err) {
    return vs_gemm_rm(h, p, 1, 0, in, out, rows, vs_gemm_operand(x, p), in, vs_gemm_operand(dy, p), out,
                      acc ? 1.0f : 0.0f, dW, out, err);
}

/* dx[rows, in] = dy[rows, out] W^T. */
static inline int vs_linear_input_grad_gpu(cublasHandle_t h, vs_precision p, int rows, int in, int out, vs_dmat dy,
                                           vs_dmat W, float *dx, vs_error *err) {
    return vs_gemm_rm(h, p, 0, 1, rows, in, out, vs_gemm_operand(dy, p), out, vs_gemm_operand(W, p), out, 0.0f, dx,
                      in, err);
}

/* db[out] = column sums of dy[rows, out], as a product with a vector of ones: read
 * column-major, dy is dy^T [out, rows], so db = dy^T ones. Always fp32. */
static inline int vs_column_sums_gpu(cublasHandle_t h, int rows, int out, const float *dy, const float *ones, float *db,
                                     vs_error *err) {
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_TRY(err, cublasSgemv(h, CUBLAS_OP_N, out, rows, &alpha, dy, out, ones, 1, &beta, db, 1));
    return 0;
}

#endif
