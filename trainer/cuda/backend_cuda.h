/* backend_cuda: the CUDA training backend (docs/cuda.md), and C entry points into its
 * kernels for the tests and the benchmark. Defined in the CUDA module; in the programs
 * these names are trainer/cuda_loader.c's, which load the module and forward. */
#ifndef VS_BACKEND_CUDA_H
#define VS_BACKEND_CUDA_H

#include <stdint.h>

/* backend.h and the headers it includes are C without linkage guards: included from
 * CUDA C++ they must be inside extern "C". */
#ifdef __cplusplus
extern "C" {
#endif

#include "trainer/backend.h"

/* The backend on the current CUDA device (the first visible one unless the process
 * chose another). Refuses, naming the sizes, when the GPU's free memory cannot hold
 * the model, its optimiser state, the training data and the activations. */
vs_backend *vs_backend_cuda_create(const vs_config *cfg, const vs_csr *train, int64_t n_items, vs_error *err);

/* Makes visible device `index` the calling thread's (a data-parallel rank's GPU). */
int vs_cuda_use_device(int index, vs_error *err);

/* The evaluation's ranking and metrics on the GPU for given scores (rows x n_items,
 * host memory): fold-in rows 0..rows-1 excluded, metrics against targets rows
 * 0..rows-1 added into *out (in row order, as the CPU merges them). topk_out, when not
 * NULL, receives rows x VS_METRICS_TOPK item indices, best first, -1 past the end. */
int vs_cuda_metrics_from_scores(const float *scores_host, int rows, int n_items, const vs_csr *fold_in,
                                const vs_csr *targets, vs_metric_sums *out, int32_t *topk_out, vs_error *err);

/* For the tests, the backend's own code paths with their results copied out:
 * the training batch of `users` at `step` as train_step builds it (ptr_out: rows + 1
 * offsets; idx_out, val_out: the rows' entries, dropped ones kept with value 0), */
int vs_cuda_backend_build_batch(vs_backend *b, const int32_t *users, int rows, int64_t step, int64_t *ptr_out,
                                int32_t *idx_out, float *val_out, vs_error *err);
/* the reparameterisation of a training step on the encoder output mulv (rows x
 * 2 latent, host memory): its noise and z (rows x latent each), */
int vs_cuda_backend_reparam(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *mulv,
                            float *eps_out, float *z_out, vs_error *err);
/* evaluate (ops->evaluate) with every row's top-k (rows x VS_METRICS_TOPK), */
int vs_cuda_backend_evaluate_topk(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                                  int32_t *topk_out, vs_error *err);
/* the first layer's weight gradient as train_step computes it (by_item.cuh), from zeros,
 * for the training batch of `users` at `step` and a given dy (rows x the layer's width):
 * dW_out (n_items x width) and the compacted input it was grouped from (in_ptr_out:
 * rows + 1 offsets; in_idx_out, in_val_out: the kept entries, as the forward pass reads
 * them), */
int vs_cuda_backend_first_layer_grad(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *dy,
                                     int64_t *in_ptr_out, int32_t *in_idx_out, float *in_val_out, float *dW_out,
                                     vs_error *err);
/* the scores (logits with the output bias, rows x n_items) of fold-in rows 0..rows-1, as
 * evaluate computes them before ranking (rows at most max(batch_size, eval_batch_size)), */
int vs_cuda_backend_scores(vs_backend *b, const vs_csr *fold_in, int rows, float *scores_out, vs_error *err);
/* and the product y = x W of dense layer `layer` (1 .. n_layers - 1; x rows x in, W
 * in x out, y rows x out, host floats) through the forward pass's own path: the
 * backend's cuBLAS handle, its precision's compute type, the 16-bit copies made by its
 * own cast kernel: which precision really ran shows in y's bits (test_gpu_backend). */
int vs_cuda_backend_dense_product(vs_backend *b, int layer, int rows, const float *x, const float *W, float *y,
                                  vs_error *err);

/* For the benchmark: times the dense products of one training step (every layer but the
 * sparse first one: forward, weight gradient and input gradient) at `rows` rows in
 * precision p with the backend's own cuBLAS calls on random operands, averaged over reps
 * steps after one warm-up. Gives the seconds per step and the FLOPs they perform. */
int vs_cuda_time_dense_products(const vs_model_shape *s, vs_precision p, int rows, int reps,
                                double *seconds_per_step, double *flops_per_step, vs_error *err);

#ifdef __cplusplus
}
#endif

#endif
