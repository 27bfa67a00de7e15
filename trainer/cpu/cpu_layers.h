/* cpu_layers: the CPU reference of every Mult-VAE layer, as forward/backward pairs,
 * and the whole training step built from them. The code is written once
 * (cpu_layers_impl.h) and compiled for float (_f32, what the CPU backend trains with)
 * and for double (_f64, what the gradient checks use), so the tests verify the very
 * code that trains. Matrices are row-major; B = rows in the batch.
 * Threads: OpenMP for the loops here, OpenBLAS's own threads for the products; every
 * reduction has a fixed order, so results do not depend on the thread count. */
#ifndef VS_CPU_LAYERS_H
#define VS_CPU_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "trainer/batch_by_item.h"
#include "trainer/model.h"

/* A batch of training rows as the model sees it. */
#define VS_DECLARE_BATCH(R, SUF)                                                     \
    typedef struct vs_batch_##SUF {                                                  \
        int rows;                                                                    \
        int64_t *in_ptr;   /* rows+1: the input after normalisation and dropout */   \
        int32_t *in_idx;                                                             \
        R *in_val;                                                                   \
        int64_t *x_ptr;    /* rows+1: the full interaction rows (the loss's x) */   \
        int32_t *x_idx;                                                              \
        R *eps;            /* rows x latent standard normals, NULL at evaluation */  \
    } vs_batch_##SUF;

/* Activations and gradients for one step: act[l] is layer l's output (after tanh when
 * it has one); the last decoder output is the logits, overwritten by their gradient. */
#define VS_DECLARE_WORKSPACE(R, SUF)                                                 \
    typedef struct vs_ws_##SUF {                                                     \
        int cap_rows;                                                                \
        int64_t cap_nnz;                                                             \
        vs_batch_##SUF batch;                                                        \
        R *act[2 * VS_MAX_LAYERS];                                                   \
        R *z;                                                                        \
        R *grad_a, *grad_b;   /* rows x max_width scratch for backprop */            \
        double *row_loss;                                                            \
        vs_batch_by_item by_item;  /* the batch's input grouped by item, for dW1 */  \
    } vs_ws_##SUF;

#define VS_DECLARE_CPU_LAYERS(R, SUF)                                                             \
    VS_DECLARE_BATCH(R, SUF)                                                                      \
    VS_DECLARE_WORKSPACE(R, SUF)                                                                  \
    /* y[r,:] = b + sum over the row's entries of val * W[idx,:] */                              \
    void vs_sparse_linear_forward_##SUF(int rows, const int64_t *ptr, const int32_t *idx,          \
                                        const R *val, const R *W, const R *b, int out, R *y);     \
    /* dW[idx,:] += val * dy[r,:]; db = column sums of dy (db may be NULL) */                      \
    void vs_sparse_linear_backward_##SUF(int rows, const int64_t *ptr, const int32_t *idx,         \
                                         const R *val, const R *dy, int out, R *dW, R *db);       \
    /* The same dW by item groups (batch_by_item.h): each row of dW written once, its terms in \
     * row order, so the result equals vs_sparse_linear_backward's to the bit */                 \
    void vs_sparse_linear_backward_by_item_##SUF(const vs_batch_by_item *g, const R *val,          \
                                                 const R *dy, int out, R *dW);                    \
    /* y = x W + b */                                                                             \
    void vs_linear_forward_##SUF(int rows, int in, int out, const R *x, const R *W, const R *b,    \
                                 R *y);                                                           \
    /* dW (+)= x^T dy (accumulate when acc), db = column sums of dy, dx = dy W^T (dx may be NULL) */ \
    void vs_linear_backward_##SUF(int rows, int in, int out, const R *x, const R *W, const R *dy,  \
                                  R *dx, R *dW, R *db, int acc);                                  \
    void vs_tanh_forward_##SUF(size_t n, R *y);                                                   \
    /* dy *= 1 - y^2 (y is the forward output) */                                                 \
    void vs_tanh_backward_##SUF(size_t n, const R *y, R *dy);                                     \
    /* z = mu + eps * exp(logvar / 2), or z = mu when eps is NULL; mulv is rows x 2L */           \
    void vs_reparam_forward_##SUF(int rows, int L, const R *mulv, const R *eps, R *z);            \
    /* sum over rows of KL(N(mu, exp(logvar)) || N(0, I)) */                                      \
    double vs_kl_forward_##SUF(int rows, int L, const R *mulv);                                   \
    /* dmulv = d(z)/d(mu, logvar) . dz + kl_scale * dKL/d(mu, logvar); dz may be NULL */         \
    void vs_reparam_kl_backward_##SUF(int rows, int L, const R *mulv, const R *eps, const R *dz,  \
                                      double kl_scale, R *dmulv);                                 \
    /* The fused classifier: per row, logits += b, then row_loss = -sum_{i in x} log softmax_i  \
     * and logits := grad_scale * (|x| softmax - x), the gradient of the loss. Rows are       \
     * `stride` apart; columns n..stride-1 (the item padding) are masked: left out of the     \
     * softmax and given gradient 0. */                                                        \
    void vs_softmax_xent_##SUF(int rows, int n, int stride, R *logits, const R *b,                \
                               const int64_t *x_ptr, const int32_t *x_idx, double grad_scale,     \
                               double *row_loss);                                                 \
    /* Adam (Kingma & Ba, with bias correction) over n parameters; t is 1-based */              \
    void vs_adam_##SUF(size_t n, R *p, const R *g, R *m, R *v, double lr, double beta1,           \
                       double beta2, double eps, int64_t t);                                      \
    /* Workspace for up to cap_rows rows and cap_nnz input entries */                            \
    void vs_ws_init_##SUF(vs_ws_##SUF *ws, const vs_model_shape *s, int cap_rows, int64_t cap_nnz); \
    void vs_ws_free_##SUF(vs_ws_##SUF *ws);                                                       \
    /* Fills ws->batch for the given training users: L2-normalised rows, dropout drawn from   \
     * (seed, step, user, item), noise from (seed, step, user, j). train = 1 for training. */    \
    void vs_batch_build_##SUF(vs_ws_##SUF *ws, const vs_model_shape *s, const vs_csr *data,       \
                              const int32_t *users, int rows, int64_t step, uint64_t seed,        \
                              double keep_prob, int train);                                       \
    /* Forward pass of ws->batch; leaves the logits (with bias) in the last act buffer when    \
     * with_bias, else without the output bias (training adds it in the fused classifier). */   \
    void vs_model_forward_##SUF(vs_ws_##SUF *ws, const vs_model_shape *s, const R *params,        \
                                int with_bias);                                                   \
    /* Forward and backward of the full loss for ws->batch: grads receives the whole gradient  \
     * (every element is written). Returns the losses. */                                        \
    vs_step_losses vs_model_loss_grad_##SUF(vs_ws_##SUF *ws, const vs_model_shape *s,              \
                                            const R *params, R *grads, double beta, double lambda);   \
    /* The same for ws->batch as `batch_rows`' share of a larger batch (data parallelism):    \
     * gradient and losses scaled by 1 / batch_rows instead of 1 / rows, and the weight      \
     * penalty (its gradient and l2) only when with_penalty, else zero weight gradients      \
     * for the products to add to. rows == batch_rows with the penalty is the call above.    \
     */                                                                                      \
    vs_step_losses vs_model_shard_loss_grad_##SUF(vs_ws_##SUF *ws, const vs_model_shape *s,        \
                                                  const R *params, R *grads, double beta,          \
                                                  double lambda, int batch_rows, int with_penalty);

VS_DECLARE_CPU_LAYERS(float, f32)
VS_DECLARE_CPU_LAYERS(double, f64)

#endif
