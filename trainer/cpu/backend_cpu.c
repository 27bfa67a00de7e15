/* backend_cpu: the CPU backend, in float, on the layers of cpu_layers.h (OpenBLAS for
 * the dense products, OpenMP loops for the rest). */
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "backend_cpu.h"
#include "cpu_layers.h"
#include "common/pcg.h"

typedef struct cpu_backend {
    vs_backend base;
    float *params, *grads, *adam_m, *adam_v;
    vs_ws_f32 ws;
    vs_metric_sums *user_sums;   /* per evaluated row, merged in row order */
    int32_t *rows_buf;
    int32_t *topk;
} cpu_backend;

/* The rows' share of a batch of batch_rows rows, forward and backward: c->grads holds
 * the gradient afterwards (zero for no rows). */
static int forward_backward(cpu_backend *c, const int32_t *users, int rows, int batch_rows, int with_penalty,
                            int64_t step, double beta, vs_step_losses *losses, vs_error *err) {
    const vs_backend *b = &c->base;
    if (rows > c->ws.cap_rows) return vs_errorf(err, "cpu backend: batch of %d rows exceeds %d", rows, c->ws.cap_rows);
    if (rows == 0) {
        memset(c->grads, 0, b->shape.n_params * sizeof(float));
        memset(losses, 0, sizeof *losses);
        return 0;
    }
    vs_batch_build_f32(&c->ws, &b->shape, b->train, users, rows, step, b->cfg.seed, b->cfg.keep_prob, 1);
    *losses = vs_model_shard_loss_grad_f32(&c->ws, &b->shape, c->params, c->grads, beta, b->cfg.lambda, batch_rows,
                                           with_penalty);
    return 0;
}

static int cpu_shard_grad(vs_backend *b, const int32_t *users, int rows, int batch_rows, int with_penalty,
                          int64_t step, double beta, vs_step_losses *losses, int *found_inf, vs_error *err) {
    *found_inf = 0;   /* fp32 only */
    return forward_backward((cpu_backend *)b, users, rows, batch_rows, with_penalty, step, beta, losses, err);
}

static float *cpu_grad_buffer(vs_backend *b) { return ((cpu_backend *)b)->grads; }

static int cpu_apply_grad(vs_backend *b, int64_t step, int found_inf, vs_error *err) {
    cpu_backend *c = (cpu_backend *)b;
    const vs_config *cfg = &b->cfg;
    vs_adam_f32(b->shape.n_params, c->params, c->grads, c->adam_m, c->adam_v, cfg->lr, cfg->beta1, cfg->beta2,
                cfg->adam_eps, step + 1);
    return 0;
}

static int cpu_train_step(vs_backend *b, const int32_t *users, int rows, int64_t step, double beta,
                          vs_step_losses *losses, vs_error *err) {
    int found_inf;
    if (cpu_shard_grad(b, users, rows, rows, 1, step, beta, losses, &found_inf, err)) return -1;
    return cpu_apply_grad(b, step, found_inf, err);
}

static int cpu_loss_and_grad(vs_backend *b, const int32_t *users, int rows, int64_t step, double beta,
                             vs_step_losses *losses, float *grads, vs_error *err) {
    cpu_backend *c = (cpu_backend *)b;
    if (forward_backward(c, users, rows, rows, 1, step, beta, losses, err)) return -1;
    memcpy(grads, c->grads, b->shape.n_params * sizeof(float));
    return 0;
}

static vs_loss_scaler *cpu_loss_scaler(vs_backend *b) {
    (void)b;
    return NULL;   /* fp32 only */
}

static int cpu_evaluate(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                        vs_error *err) {
    cpu_backend *c = (cpu_backend *)b;
    const vs_model_shape *s = &b->shape;
    if (fold_in->rows != targets->rows)
        return vs_errorf(err, "evaluate: %lld fold-in rows but %lld target rows", (long long)fold_in->rows,
                         (long long)targets->rows);
    int chunk = c->ws.cap_rows;
    float *scores = c->ws.act[s->n_enc + s->n_dec - 1];
    for (int64_t r0 = 0; r0 < fold_in->rows; r0 += chunk) {
        int rows = (int)(fold_in->rows - r0 < chunk ? fold_in->rows - r0 : chunk);
        for (int r = 0; r < rows; r++) c->rows_buf[r] = (int32_t)(r0 + r);
        vs_batch_build_f32(&c->ws, s, fold_in, c->rows_buf, rows, 0, 0, 1.0, 0);
        vs_model_forward_f32(&c->ws, s, c->params, 1);
#pragma omp parallel for schedule(dynamic, 16)
        for (int r = 0; r < rows; r++) {
            int64_t u = r0 + r;
            int32_t *top = c->topk + (size_t)omp_get_thread_num() * VS_METRICS_TOPK;
            const int32_t *excl = fold_in->indices + fold_in->indptr[u];
            vs_topk_row(scores + (size_t)r * s->item_stride, s->n_items, excl, fold_in->indptr[u + 1] - fold_in->indptr[u],
                        VS_METRICS_TOPK, top);
            memset(&c->user_sums[r], 0, sizeof c->user_sums[r]);
            vs_metrics_add_user(&c->user_sums[r], top, targets->indices + targets->indptr[u],
                                targets->indptr[u + 1] - targets->indptr[u]);
        }
        for (int r = 0; r < rows; r++) vs_metric_sums_merge(sums, &c->user_sums[r]);
    }
    return 0;
}

static int cpu_get_state(vs_backend *b, float *params, float *adam_m, float *adam_v, vs_error *err) {
    cpu_backend *c = (cpu_backend *)b;
    size_t n = b->shape.n_params * sizeof(float);
    if (params) memcpy(params, c->params, n);
    if (adam_m) memcpy(adam_m, c->adam_m, n);
    if (adam_v) memcpy(adam_v, c->adam_v, n);
    return 0;
}

static int cpu_set_state(vs_backend *b, const float *params, const float *adam_m, const float *adam_v,
                         vs_error *err) {
    cpu_backend *c = (cpu_backend *)b;
    size_t n = b->shape.n_params * sizeof(float);
    if (params) memcpy(c->params, params, n);
    if (adam_m) memcpy(c->adam_m, adam_m, n);
    if (adam_v) memcpy(c->adam_v, adam_v, n);
    return 0;
}

static void cpu_destroy(vs_backend *b) {
    cpu_backend *c = (cpu_backend *)b;
    free(c->params);
    free(c->grads);
    free(c->adam_m);
    free(c->adam_v);
    vs_ws_free_f32(&c->ws);
    free(c->user_sums);
    free(c->rows_buf);
    free(c->topk);
    free(c);
}

static const vs_backend_ops cpu_ops = {
    .name = "cpu",
    .train_step = cpu_train_step,
    .evaluate = cpu_evaluate,
    .loss_and_grad = cpu_loss_and_grad,
    .loss_scaler = cpu_loss_scaler,
    .get_state = cpu_get_state,
    .set_state = cpu_set_state,
    .destroy = cpu_destroy,
    .shard_grad = cpu_shard_grad,
    .grad_buffer = cpu_grad_buffer,
    .apply_grad = cpu_apply_grad,
};

vs_backend *vs_backend_cpu_create(const vs_config *cfg, const vs_csr *train, int64_t n_items, vs_error *err) {
    if (cfg->precision != VS_FP32) {
        vs_errorf(err, "precision %s: the CPU backend computes in fp32 (use --device cuda, or precision fp32)",
                  vs_precision_name(cfg->precision));
        return NULL;
    }
    cpu_backend *c = vs_xcalloc(1, sizeof *c);
    c->base.ops = &cpu_ops;
    c->base.cfg = *cfg;
    c->base.train = train;
    vs_model_shape_init(&c->base.shape, n_items, cfg);
    const vs_model_shape *s = &c->base.shape;
    size_t n = s->n_params * sizeof(float);
    c->params = vs_xalloc_aligned(n);
    c->grads = vs_xalloc_aligned(n);
    c->adam_m = vs_xalloc_aligned(n);
    c->adam_v = vs_xalloc_aligned(n);
    vs_model_init_params(s, cfg->seed, c->params);
    int cap = cfg->batch_size > cfg->eval_batch_size ? cfg->batch_size : cfg->eval_batch_size;
    int64_t mean_nnz = train->rows ? vs_csr_nnz(train) / train->rows + 1 : 1;
    vs_ws_init_f32(&c->ws, s, cap, mean_nnz * cap * 2);
    c->user_sums = vs_xcalloc((size_t)cap, sizeof *c->user_sums);
    c->rows_buf = vs_xcalloc((size_t)cap, sizeof(int32_t));
    c->topk = vs_xcalloc((size_t)omp_get_max_threads() * VS_METRICS_TOPK, sizeof(int32_t));
    return &c->base;
}
