/* backend: the interface every compute backend implements (CPU, and CUDA in its module).
 * A backend owns the model's parameters and Adam moments, the training data, and
 * the workspace; the training loop (train.c) drives it one step at a time and asks it
 * to evaluate held-out users. Everything random is drawn inside the backend from the
 * counter-based streams (pcg.h), so two backends given the same inputs agree. */
#ifndef VS_BACKEND_H
#define VS_BACKEND_H

#include <stdint.h>

#include "config.h"
#include "loss_scale.h"
#include "metrics.h"
#include "model.h"
#include "common/vs_error.h"
#include "dataset/dataset.h"

typedef struct vs_backend vs_backend;

typedef struct vs_backend_ops {
    const char *name;
    /* One optimisation step on the given training rows (indices into the training
     * CSR); step is the 0-based global step (RNG streams, Adam's t = step + 1). */
    int (*train_step)(vs_backend *b, const int32_t *users, int rows, int64_t step, double beta,
                      vs_step_losses *losses, vs_error *err);
    /* Ranks every item for each row of fold_in (fold-in items excluded) and adds the
     * metrics against targets (same rows) into sums. */
    int (*evaluate)(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                    vs_error *err);
    /* Forward and backward without the update, for tests that compare backends: the
     * losses and the whole gradient (n_params floats, model.h's layout, unscaled). */
    int (*loss_and_grad)(vs_backend *b, const int32_t *users, int rows, int64_t step, double beta,
                         vs_step_losses *losses, float *grads, vs_error *err);
    /* The loss scaler of fp16 training, or NULL: the training loop reports it in the epoch
     * lines and saves it with the state. */
    vs_loss_scaler *(*loss_scaler)(vs_backend *b);
    /* Copies parameters and (when not NULL) Adam's moments out of / into the backend. */
    int (*get_state)(vs_backend *b, float *params, float *adam_m, float *adam_v, vs_error *err);
    int (*set_state)(vs_backend *b, const float *params, const float *adam_m, const float *adam_v,
                     vs_error *err);
    void (*destroy)(vs_backend *b);
    /* Data-parallel training (train.c, docs/trainer.md "Ranks") splits a step in two.
     * shard_grad: the gradient of `rows` rows of a batch of batch_rows rows, scaled as that
     * batch's mean loss so that the ranks' gradients sum to the batch's, with the weight
     * penalty's part only when with_penalty (one rank adds it); it stays in grad_buffer.
     * losses receive this share of the batch's losses (sums over the rows / batch_rows;
     * l2 only with the penalty), so the ranks' losses sum to the batch's; *found_inf the
     * fp16 overflow flag (0 in other precisions). train_step is shard_grad of the whole
     * batch followed by apply_grad. */
    int (*shard_grad)(vs_backend *b, const int32_t *users, int rows, int batch_rows, int with_penalty, int64_t step,
                      double beta, vs_step_losses *losses, int *found_inf, vs_error *err);
    /* The gradient: n_params floats where the backend keeps its tensors (the GPU's memory
     * for CUDA), which the communicator sums in place. */
    float *(*grad_buffer)(vs_backend *b);
    /* Adam's step t = step + 1 with grad_buffer; in fp16 the loss scaler first decides
     * from found_inf (nonzero when any rank overflowed) whether the step is applied. */
    int (*apply_grad)(vs_backend *b, int64_t step, int found_inf, vs_error *err);
} vs_backend_ops;

struct vs_backend {
    const vs_backend_ops *ops;
    vs_model_shape shape;
    vs_config cfg;
    const vs_csr *train;
};

/* Creates the backend named device ("cpu" or "cuda") with freshly initialised
 * parameters (vs_model_init_params with cfg->seed) and zero Adam moments. */
vs_backend *vs_backend_create(const char *device, const vs_config *cfg, const vs_csr *train, int64_t n_items,
                              vs_error *err);
void vs_backend_destroy(vs_backend *b);

/* Makes visible CUDA device `index` the calling thread's (a rank's GPU); an error where
 * the CUDA module cannot be loaded (a build without the CUDA backend). */
int vs_backend_use_gpu(int index, vs_error *err);

/* CUDA devices this process can use: 0 where the CUDA module cannot be loaded (a build
 * without the CUDA backend, no CUDA runtime), or where there is no device or driver.
 * Loads the module into this process (cuda_loader.h). */
int vs_backend_gpu_count(void);

/* The same count, taken without loading CUDA into this process (in a short-lived child
 * when the module exists), for the orchestrator, which trains nothing itself. */
int vs_backend_gpu_discover(void);

#endif
