/* backend_cuda: the CUDA training backend. Everything a step touches lives on the GPU:
 * the training CSR, the fp32 master parameters, their gradient, Adam's moments, the
 * 16-bit copy of the parameters (bf16, fp16) and the activations for the larger of
 * batch_size and eval_batch_size rows. A step uploads only its users and their entry
 * offsets, runs the layers of docs/model.md as the CPU backend orders them (the
 * kernel families are in the .cuh files beside this one) and reads back one small
 * struct: the losses and, in fp16, the overflow flag that drives the loss scaler.
 * The design and what differs from the CPU in the last bits is docs/cuda.md. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_cuda.h"
#include "device_cuda.h"

#include "adam.cuh"
#include "by_item.cuh"
#include "classifier.cuh"
#include "common.cuh"
#include "elementwise.cuh"
#include "eval.cuh"
#include "matmul.cuh"
#include "sparse.cuh"
#include "vae.cuh"

/* A CSR copied to the GPU, in buffers that hold up to rows_cap rows and nnz_cap entries. */
typedef struct dev_csr {
    int64_t *ptr;
    int32_t *idx;
    int64_t rows_cap, nnz_cap;
} dev_csr;

typedef struct cuda_backend {
    vs_backend base;
    cublasHandle_t cublas;
    int device;
    vs_precision prec;
    int half_kind;       /* VS_HALF_NONE in fp32, tf32 */
    int cap;             /* rows of every per-row buffer */
    int64_t cap_nnz;     /* entries of the batch buffers */

    float *params, *grads, *adam_m, *adam_v;
    void *params16;      /* 16-bit copy of params, refreshed by every Adam step */

    dev_csr train;
    int32_t *users;      /* the batch: rows of a CSR, */
    int64_t *b_ptr;      /* their entries' offsets in the batch, */
    int32_t *b_idx;      /* items, */
    float *b_val;        /* input values (0 = dropped) */
    vs_by_item by_item;  /* a training batch's compacted input and item groups (by_item.cuh) */
    int32_t *h_users;    /* host staging for users and b_ptr */
    int64_t *h_bptr;

    vs_dmat act[2 * VS_MAX_LAYERS];   /* layer outputs; the last is the logits, whose .h is its gradient's copy */
    vs_dmat z;
    float *eps;
    vs_dmat spare[2];    /* backprop scratch, cap x max_width */
    double *row_loss, *row_kl, *l2_partial;
    float *ones;
    vs_dev_step_result *result;

    int32_t *topk;
    double *user_metrics;
    double *discount, *ideal;
    vs_metric_sums *sums;
    dev_csr eval_in, eval_out;   /* held-out rows, kept from one evaluate to the next */

    vs_loss_scaler scaler;
} cuda_backend;

static const double GiB = 1024.0 * 1024.0 * 1024.0;

/* ------------------------------------------------------------------ memory */

static int dev_alloc(void **p, size_t bytes, const char *what, vs_error *err) {
    *p = NULL;
    cudaError_t st = cudaMalloc(p, bytes ? bytes : 16);
    if (st != cudaSuccess) {
        *p = NULL;
        return vs_errorf(err, "cudaMalloc of %.3f GiB for %s: %s", (double)bytes / GiB, what, cudaGetErrorString(st));
    }
    return 0;
}

/* Copies m into d, allocating d's buffers only when m does not fit in them, so the
 * evaluation's held-out rows reuse theirs from call to call. */
static int upload_csr(const vs_csr *m, dev_csr *d, const char *what, vs_error *err) {
    int64_t nnz = vs_csr_nnz(m);
    if (!d->ptr || m->rows > d->rows_cap) {
        cudaFree(d->ptr);
        d->rows_cap = 0;
        if (dev_alloc((void **)&d->ptr, sizeof(int64_t) * (size_t)(m->rows + 1), what, err)) return -1;
        d->rows_cap = m->rows;
    }
    if (!d->idx || nnz > d->nnz_cap) {
        cudaFree(d->idx);
        d->nnz_cap = 0;
        if (dev_alloc((void **)&d->idx, sizeof(int32_t) * (size_t)nnz, what, err)) return -1;
        d->nnz_cap = nnz;
    }
    if (m->rows > 0)
        CUDA_TRY(err, cudaMemcpy(d->ptr, m->indptr, sizeof(int64_t) * (size_t)(m->rows + 1), cudaMemcpyHostToDevice));
    else
        CUDA_TRY(err, cudaMemset(d->ptr, 0, sizeof(int64_t)));
    if (nnz > 0) CUDA_TRY(err, cudaMemcpy(d->idx, m->indices, sizeof(int32_t) * (size_t)nnz, cudaMemcpyHostToDevice));
    return 0;
}

static void free_csr(dev_csr *d) {
    cudaFree(d->ptr);
    cudaFree(d->idx);
    d->ptr = NULL;
    d->idx = NULL;
    d->rows_cap = d->nnz_cap = 0;
}

/* discount[r] = 1/log2(r+2) and its prefix sums, computed on the host exactly as
 * metrics.c computes them, so both sides divide by the same numbers. */
static int upload_discounts(double *discount, double *ideal, vs_error *err) {
    double d[VS_METRICS_TOPK], id[VS_METRICS_TOPK + 1];
    id[0] = 0.0;
    for (int r = 0; r < VS_METRICS_TOPK; r++) {
        d[r] = 1.0 / log2((double)r + 2.0);
        id[r + 1] = id[r] + d[r];
    }
    CUDA_TRY(err, cudaMemcpy(discount, d, sizeof d, cudaMemcpyHostToDevice));
    CUDA_TRY(err, cudaMemcpy(ideal, id, sizeof id, cudaMemcpyHostToDevice));
    return 0;
}

static int cmp_int64_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The most entries any batch of `cap` training rows can hold: the cap longest rows. */
static int64_t max_batch_nnz(const vs_csr *m, int cap) {
    if (m->rows <= 0) return 1;
    int64_t *len = (int64_t *)vs_xmalloc(sizeof(int64_t) * (size_t)m->rows);
    for (int64_t r = 0; r < m->rows; r++) len[r] = m->indptr[r + 1] - m->indptr[r];
    qsort(len, (size_t)m->rows, sizeof *len, cmp_int64_desc);
    int64_t total = 0;
    for (int64_t r = 0; r < m->rows && r < cap; r++) total += len[r];
    free(len);
    return total > 0 ? total : 1;
}

/* What the backend will allocate, by part, for the memory check. */
typedef struct mem_plan {
    double params, data, activations, eval, total;
} mem_plan;

static mem_plan plan_memory(const vs_model_shape *s, const vs_csr *train, int cap, int64_t cap_nnz, int half) {
    mem_plan p;
    double P = (double)s->n_params, hb = half ? 2.0 : 0.0, rows = cap;
    p.params = P * (4 * sizeof(float) + hb);
    p.data = (double)(train->rows + 1) * 8 + (double)vs_csr_nnz(train) * 4 + rows * 4 + (rows + 1) * 8 +
             (double)cap_nnz * 8 + vs_by_item_bytes(cap_nnz, cap, s->n_items);
    double act = 0;
    for (int l = 0; l < vs_model_n_layers(s); l++) act += rows * vs_model_layer(s, l, NULL, NULL)->out * (4 + hb);
    act += rows * s->latent * (4 + hb) + rows * s->latent * 4;   /* z, eps */
    act += 2 * rows * s->max_width * (4 + hb);                   /* spare */
    act += rows * (8 + 8 + 4) + (double)vs_l2_chunks(s->n_weights) * 8;
    p.activations = act;
    p.eval = rows * VS_METRICS_TOPK * 4 + rows * 4 * 8;
    /* cuBLAS's workspace, CUB's scratch and the context's own allocations, beyond what is listed */
    p.total = p.params + p.data + p.activations + p.eval + 256.0 * 1024 * 1024;
    return p;
}

static int check_memory(cuda_backend *c, const mem_plan *p, vs_error *err) {
    size_t free_b = 0, total_b = 0;
    CUDA_TRY(err, cudaMemGetInfo(&free_b, &total_b));
    if (p->total <= (double)free_b) return 0;
    cudaDeviceProp prop;
    CUDA_TRY(err, cudaGetDeviceProperties(&prop, c->device));
    return vs_errorf(err,
                     "cuda backend: needs %.1f GiB (parameters, gradient and Adam %.2f, data and batch %.2f, "
                     "activations for %d rows %.2f, evaluation %.2f, workspace 0.25), %.1f GiB free on GPU %d (%s); "
                     "lower batch_size or eval_batch_size",
                     p->total / GiB, p->params / GiB, p->data / GiB, c->cap, p->activations / GiB, p->eval / GiB,
                     (double)free_b / GiB, c->device, prop.name);
}

/* Makes room for `need` batch entries (evaluation's fold-in rows can outgrow the
 * training bound). */
static int ensure_nnz(cuda_backend *c, int64_t need, vs_error *err) {
    if (need <= c->cap_nnz) return 0;
    int64_t cap = need + need / 4;
    cudaFree(c->b_idx);
    cudaFree(c->b_val);
    c->b_idx = NULL;
    c->b_val = NULL;
    c->cap_nnz = 0;
    if (dev_alloc((void **)&c->b_idx, sizeof(int32_t) * (size_t)cap, "batch items", err) ||
        dev_alloc((void **)&c->b_val, sizeof(float) * (size_t)cap, "batch values", err))
        return -1;
    c->cap_nnz = cap;
    return 0;
}

static vs_dmat weight_of(const cuda_backend *c, const vs_layer *L) {
    vs_dmat w;
    w.f = c->params + L->w;
    w.h = c->params16 ? (void *)((char *)c->params16 + 2 * L->w) : NULL;
    return w;
}

/* ------------------------------------------------------------------ batch */

/* Uploads rows `users` of the host CSR m (the device copy of m is what the build
 * kernel reads) with their entry offsets; checks every user index. */
static int upload_batch(cuda_backend *c, const vs_csr *m, const int32_t *users, int rows, vs_error *err) {
    if (rows < 1 || rows > c->cap)
        return vs_errorf(err, "cuda backend: batch of %d rows (expected 1 to %d)", rows, c->cap);
    c->h_bptr[0] = 0;
    for (int r = 0; r < rows; r++) {
        int32_t u = users[r];
        if (u < 0 || u >= m->rows)
            return vs_errorf(err, "cuda backend: batch row %d: user %d out of range [0, %lld)", r, u,
                             (long long)m->rows);
        c->h_bptr[r + 1] = c->h_bptr[r] + (m->indptr[u + 1] - m->indptr[u]);
    }
    if (ensure_nnz(c, c->h_bptr[rows], err)) return -1;
    if (users != c->h_users) memcpy(c->h_users, users, sizeof(int32_t) * (size_t)rows);
    CUDA_TRY(err, cudaMemcpy(c->users, c->h_users, sizeof(int32_t) * (size_t)rows, cudaMemcpyHostToDevice));
    CUDA_TRY(err, cudaMemcpy(c->b_ptr, c->h_bptr, sizeof(int64_t) * (size_t)(rows + 1), cudaMemcpyHostToDevice));
    return 0;
}

/* ------------------------------------------------------------------ forward, backward */

/* The batch of training rows `users` at step `step`, built on the GPU as loss_grad
 * trains on it: values normalised, dropout drawn; then its compacted input and item
 * groups (by_item.cuh). */
static int build_train_batch(cuda_backend *c, const int32_t *users, int rows, int64_t step, vs_error *err) {
    const vs_config *cfg = &c->base.cfg;
    if (upload_batch(c, c->base.train, users, rows, err) ||
        vs_build_batch_gpu(rows, c->train.ptr, c->train.idx, c->users, c->b_ptr, cfg->seed, step, cfg->keep_prob, 1,
                           c->b_idx, c->b_val, err) ||
        vs_by_item_reserve(&c->by_item, c->h_bptr[rows], c->cap, c->base.shape.n_items, err) ||
        vs_by_item_build_gpu(&c->by_item, rows, c->h_bptr[rows], c->b_ptr, c->b_idx, c->b_val, err))
        return -1;
    return 0;
}

/* dW1's part of the gradient buffer when, between steps, it must hold zeros: without the
 * penalty (whose gradient rewrites the whole buffer each step) the first layer's
 * gradient adds onto it, and writes only the batch's items' rows. Empty otherwise. */
static void first_layer_zero_range(const cuda_backend *c, size_t *lo, size_t *hi) {
    const vs_layer *L0 = &c->base.shape.enc[0];
    *lo = *hi = 0;
    if (c->base.cfg.lambda > 0) return;
    *lo = L0->w;
    *hi = L0->w + (size_t)L0->in * L0->out;
}

/* Puts those zeros back in full (after a step whose gradient Adam did not consume). */
static int clear_first_layer_grad(cuda_backend *c, vs_error *err) {
    size_t lo, hi;
    first_layer_zero_range(c, &lo, &hi);
    if (hi > lo) CUDA_TRY(err, cudaMemset(c->grads + lo, 0, sizeof(float) * (hi - lo)));
    return 0;
}

/* z from the encoder's output (mu, logvar) of the uploaded batch: mu + noise exp(logvar/2)
 * in training (the noise kept in c->eps for backward), mu at evaluation. */
static int reparameterise(cuda_backend *c, int rows, int train, int64_t step, vs_error *err) {
    const vs_model_shape *s = &c->base.shape;
    return vs_reparam_forward_gpu(rows, s->latent, c->act[s->n_enc - 1].f, train, c->base.cfg.seed, step, c->users,
                                  c->eps, c->z.f, c->z.h, c->half_kind, err);
}

/* The forward pass of the uploaded, built batch: in training its compacted input (kept
 * entries only), in evaluation the batch as built (nothing dropped). Training leaves the
 * logits without the output bias (the classifier adds it); evaluation adds it. */
static int forward(cuda_backend *c, int rows, int train, int64_t step, vs_error *err) {
    const vs_model_shape *s = &c->base.shape;
    int hk = c->half_kind;
    const int64_t *in_ptr = train ? c->by_item.in_ptr : c->b_ptr;
    const int32_t *in_idx = train ? c->by_item.in_idx : c->b_idx;
    const float *in_val = train ? c->by_item.in_val : c->b_val;
    for (int e = 0; e < s->n_enc; e++) {
        const vs_layer *L = &s->enc[e];
        if (e == 0) {
            if (vs_sparse_forward_gpu(rows, in_ptr, in_idx, in_val, c->params + L->w, c->params + L->b, L->out,
                                      L->tanh, c->act[0].f, c->act[0].h, hk, err))
                return -1;
        } else if (vs_linear_forward_gpu(c->cublas, c->prec, rows, L->in, L->out, c->act[e - 1], weight_of(c, L),
                                         c->act[e].f, err) ||
                   vs_bias_act_gpu(rows, L->out, c->act[e].f, c->params + L->b, L->tanh, c->act[e].h, hk, err)) {
            return -1;
        }
    }
    if (reparameterise(c, rows, train, step, err)) return -1;
    for (int d = 0; d < s->n_dec; d++) {
        const vs_layer *L = &s->dec[d];
        vs_dmat x = d == 0 ? c->z : c->act[s->n_enc + d - 1];
        vs_dmat *y = &c->act[s->n_enc + d];
        int last = d == s->n_dec - 1;
        if (vs_linear_forward_gpu(c->cublas, c->prec, rows, L->in, L->out, x, weight_of(c, L), y->f, err)) return -1;
        if (!last) {
            if (vs_bias_act_gpu(rows, L->out, y->f, c->params + L->b, L->tanh, y->h, hk, err)) return -1;
        } else if (!train) {
            if (vs_bias_act_gpu(rows, L->out, y->f, c->params + L->b, 0, NULL, VS_HALF_NONE, err)) return -1;
        }
    }
    return 0;
}

/* Backward through one dense layer: dW (+)= x^T dy, db = column sums of dy,
 * dx = dy W^T. */
static int dense_backward(cuda_backend *c, int rows, const vs_layer *L, vs_dmat x, vs_dmat dy, float *dx, int acc,
                          vs_error *err) {
    if (vs_linear_weight_grad_gpu(c->cublas, c->prec, rows, L->in, L->out, x, dy, c->grads + L->w, acc, err) ||
        vs_column_sums_gpu(c->cublas, rows, L->out, dy.f, c->ones, c->grads + L->b, err) ||
        vs_linear_input_grad_gpu(c->cublas, c->prec, rows, L->in, L->out, dy, weight_of(c, L), dx, err))
        return -1;
    return 0;
}

/* Forward and backward of the training loss on the given users at step `step`, as
 * their share of a batch of batch_rows rows (the weight penalty only with_penalty:
 * backend.h's shard_grad), with the gradient multiplied by loss_scale; c->grads
 * receives it, *found_inf the fp16 overflow flag (0 in the other precisions). One host
 * synchronisation, at the end. */
static int loss_grad(cuda_backend *c, const int32_t *users, int rows, int batch_rows, int with_penalty, int64_t step,
                     double beta, double loss_scale, vs_step_losses *losses, int *found_inf, vs_error *err) {
    const vs_model_shape *s = &c->base.shape;
    const vs_config *cfg = &c->base.cfg;
    int hk = c->half_kind, L = s->latent;
    if (build_train_batch(c, users, rows, step, err)) return -1;
    CUDA_TRY(err, cudaMemset(&c->result->found_inf, 0, sizeof(int)));
    if (forward(c, rows, 1, step, err)) return -1;

    const vs_layer *last = &s->dec[s->n_dec - 1];
    vs_dmat logits = c->act[s->n_enc + s->n_dec - 1];
    const float *mulv = c->act[s->n_enc - 1].f;
    if (vs_softmax_xent_gpu(rows, s->n_items, logits.f, c->params + last->b, c->b_ptr, c->b_idx, loss_scale / batch_rows,
                            c->row_loss, logits.h, hk, err) ||
        vs_kl_rows_gpu(rows, L, mulv, c->row_kl, err))
        return -1;

    /* With a penalty the weight gradients start at 2 lambda W and the products add to
     * them; without, the products overwrite them and the sparse layer's gradient adds
     * onto the zeros its rows hold between steps (first_layer_zero_range). A rank that
     * leaves the penalty to another starts them at zero. */
    int acc = cfg->lambda > 0, penalty = acc && with_penalty;
    if (acc && !penalty) {
        CUDA_TRY(err, cudaMemset(c->grads, 0, sizeof(float) * s->n_weights));
    } else if (acc) {
        if (vs_l2_penalty_gpu(s->n_weights, c->params, c->grads, cfg->lambda, (float)loss_scale, c->l2_partial, err))
            return -1;
    }

    vs_dmat dy = logits;
    int which = 0;
    for (int d = s->n_dec - 1; d >= 0; d--) {
        const vs_layer *Ld = &s->dec[d];
        vs_dmat x = d == 0 ? c->z : c->act[s->n_enc + d - 1];
        vs_dmat dx = c->spare[which];
        which ^= 1;
        if (dense_backward(c, rows, Ld, x, dy, dx.f, acc, err)) return -1;
        if (d > 0 && vs_tanh_backward_gpu((size_t)rows * Ld->in, c->act[s->n_enc + d - 1].f, dx.f, dx.h, hk, err))
            return -1;
        dy = dx;
    }
    vs_dmat dmulv = c->spare[which];
    which ^= 1;
    if (vs_reparam_kl_backward_gpu(rows, L, mulv, c->eps, dy.f, beta / batch_rows * loss_scale, dmulv.f, dmulv.h, hk,
                                   err))
        return -1;
    dy = dmulv;
    for (int e = s->n_enc - 1; e >= 1; e--) {
        const vs_layer *Le = &s->enc[e];
        vs_dmat dx = c->spare[which];
        which ^= 1;
        if (dense_backward(c, rows, Le, c->act[e - 1], dy, dx.f, acc, err) ||
            vs_tanh_backward_gpu((size_t)rows * Le->in, c->act[e - 1].f, dx.f, dx.h, hk, err))
            return -1;
        dy = dx;
    }
    const vs_layer *L0 = &s->enc[0];
    if (vs_weight_grad_by_item_gpu(&c->by_item, dy.f, L0->out, c->grads + L0->w, err) ||
        vs_column_sums_gpu(c->cublas, rows, L0->out, dy.f, c->ones, c->grads + L0->b, err))
        return -1;

    if (c->prec == VS_FP16 && vs_nonfinite_gpu(s->n_params, c->grads, &c->result->found_inf, err)) return -1;
    if (vs_step_losses_gpu(rows, c->row_loss, c->row_kl, penalty ? (int)vs_l2_chunks(s->n_weights) : 0,
                           c->l2_partial, c->result, err))
        return -1;
    vs_dev_step_result res;
    CUDA_TRY(err, cudaMemcpy(&res, c->result, sizeof res, cudaMemcpyDeviceToHost));
    losses->neg_ll = res.neg_ll_sum / batch_rows;
    losses->kl = res.kl_sum / batch_rows;
    losses->l2 = penalty ? cfg->lambda * res.l2_sum : 0.0;
    losses->loss = losses->neg_ll + beta * losses->kl + losses->l2;
    *found_inf = res.found_inf;
    return 0;
}

/* fp16: a non-finite loss while one of the products' 16-bit inputs (the dense layers'
 * weights, the hidden layers' outputs, the latent code z) holds a value past fp16's
 * largest, 65504, means that the forward pass itself overflowed. Loss scaling scales
 * only the backward pass, so no scale can help: this says so, naming the first such
 * tensor (-1). 0 when none overflowed (the loop then reports the non-finite loss as in
 * any precision). Runs only after a non-finite loss: no cost to a normal step. */
static int fp16_forward_overflow(cuda_backend *c, int rows, int64_t step, double loss, vs_error *err) {
    const vs_model_shape *s = &c->base.shape;
    typedef struct {
        const void *h;
        size_t n;
        char name[48];
    } tensor;
    tensor t[4 * VS_MAX_LAYERS + 1];
    int n = 0;
    for (int l = 1; l < vs_model_n_layers(s); l++) {   /* the sparse first layer reads float weights */
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        t[n].h = weight_of(c, L).h, t[n].n = (size_t)L->in * L->out;
        snprintf(t[n++].name, sizeof t[0].name, "layer %d's 16-bit weights", l);
    }
    for (int e = 0; e + 1 < s->n_enc; e++) {
        t[n].h = c->act[e].h, t[n].n = (size_t)rows * s->enc[e].out;
        snprintf(t[n++].name, sizeof t[0].name, "encoder layer %d's output", e + 1);
    }
    t[n].h = c->z.h, t[n].n = (size_t)rows * s->latent;
    snprintf(t[n++].name, sizeof t[0].name, "the latent code z");
    for (int d = 0; d + 1 < s->n_dec; d++) {
        t[n].h = c->act[s->n_enc + d].h, t[n].n = (size_t)rows * s->dec[d].out;
        snprintf(t[n++].name, sizeof t[0].name, "decoder layer %d's output", d + 1);
    }
    for (int i = 0; i < n; i++) {
        int found = 0;
        CUDA_TRY(err, cudaMemset(&c->result->found_inf, 0, sizeof(int)));
        if (vs_nonfinite_half_gpu(t[i].n, t[i].h, &c->result->found_inf, err)) return -1;
        CUDA_TRY(err, cudaMemcpy(&found, &c->result->found_inf, sizeof found, cudaMemcpyDeviceToHost));
        if (found)
            return vs_errorf(err,
                             "fp16: step %lld: the forward pass overflowed: %s holds values beyond fp16's largest "
                             "(65504), so the loss is %g; loss scaling scales only the backward pass and cannot "
                             "help here: train this configuration in bf16 (fp32's range) or fp32",
                             (long long)step, t[i].name, loss);
    }
    return 0;
}

/* ------------------------------------------------------------------ ops */

static int cuda_shard_grad(vs_backend *b, const int32_t *users, int rows, int batch_rows, int with_penalty,
                           int64_t step, double beta, vs_step_losses *losses, int *found_inf, vs_error *err) {
    cuda_backend *c = (cuda_backend *)b;
    *found_inf = 0;
    if (rows == 0) {   /* a rank with no rows this step adds nothing */
        memset(losses, 0, sizeof *losses);
        CUDA_TRY(err, cudaMemset(c->grads, 0, sizeof(float) * b->shape.n_params));
        return 0;
    }
    double scale = c->prec == VS_FP16 ? c->scaler.scale : 1.0;
    if (loss_grad(c, users, rows, batch_rows, with_penalty, step, beta, scale, losses, found_inf, err)) return -1;
    /* fp16: a forward pass beyond fp16's range is no matter for the loss scaler: say so */
    if (c->prec == VS_FP16 && !isfinite(losses->loss) && fp16_forward_overflow(c, rows, step, losses->loss, err))
        return -1;
    return 0;
}

static float *cuda_grad_buffer(vs_backend *b) { return ((cuda_backend *)b)->grads; }

static int cuda_apply_grad(vs_backend *b, int64_t step, int found_inf, vs_error *err) {
    cuda_backend *c = (cuda_backend *)b;
    const vs_config *cfg = &b->cfg;
    double scale = c->prec == VS_FP16 ? c->scaler.scale : 1.0;   /* the scale the gradient carries */
    /* fp16: the scaler decides (and moves the scale) from what this step's backward saw;
     * a skipped step's gradient is not consumed, so dW1's zeros are put back in full */
    if (c->prec == VS_FP16 && !vs_loss_scaler_update(&c->scaler, found_inf)) return clear_first_layer_grad(c, err);
    vs_adam_consts k = vs_adam_consts_at(cfg->lr, cfg->beta1, cfg->beta2, cfg->adam_eps, step + 1, scale);
    size_t lo, hi;
    first_layer_zero_range(c, &lo, &hi);
    return vs_adam_gpu(b->shape.n_params, c->params, c->grads, c->adam_m, c->adam_v, k, c->params16, c->half_kind, lo,
                       hi, err);
}

static int cuda_train_step(vs_backend *b, const int32_t *users, int rows, int64_t step, double beta,
                           vs_step_losses *losses, vs_error *err) {
    int found_inf = 0;
    if (cuda_shard_grad(b, users, rows, rows, 1, step, beta, losses, &found_inf, err)) return -1;
    return cuda_apply_grad(b, step, found_inf, err);
}

static int cuda_loss_and_grad(vs_backend *b, const int32_t *users, int rows, int64_t step, double beta,
                              vs_step_losses *losses, float *grads, vs_error *err) {
    cuda_backend *c = (cuda_backend *)b;
    double scale = c->prec == VS_FP16 ? c->scaler.scale : 1.0;
    int found_inf = 0;
    if (loss_grad(c, users, rows, rows, 1, step, beta, scale, losses, &found_inf, err)) return -1;
    size_t n = b->shape.n_params;
    CUDA_TRY(err, cudaMemcpy(grads, c->grads, sizeof(float) * n, cudaMemcpyDeviceToHost));
    if (clear_first_layer_grad(c, err)) return -1;   /* no Adam step consumed it */
    if (scale != 1.0) {
        float inv = (float)(1.0 / scale);
        for (size_t i = 0; i < n; i++) grads[i] *= inv;
    }
    return 0;
}

static vs_loss_scaler *cuda_loss_scaler(vs_backend *b) {
    cuda_backend *c = (cuda_backend *)b;
    return c->prec == VS_FP16 ? &c->scaler : NULL;
}

/* The evaluation with the held-out CSRs already on the GPU, in chunks of c->cap rows;
 * topk_host, when not NULL, receives every row's top-k (the tests compare them). */
static int evaluate_on_device(cuda_backend *c, const vs_csr *fold_in, const dev_csr *in, const dev_csr *out,
                              int32_t *topk_host, vs_error *err) {
    const vs_model_shape *s = &c->base.shape;
    for (int64_t r0 = 0; r0 < fold_in->rows; r0 += c->cap) {
        int rows = (int)(fold_in->rows - r0 < c->cap ? fold_in->rows - r0 : c->cap);
        for (int r = 0; r < rows; r++) c->h_users[r] = (int32_t)(r0 + r);
        if (upload_batch(c, fold_in, c->h_users, rows, err) ||
            vs_build_batch_gpu(rows, in->ptr, in->idx, c->users, c->b_ptr, 0, 0, 1.0, 0, c->b_idx, c->b_val, err) ||
            forward(c, rows, 0, 0, err) ||
            vs_rank_and_score_gpu(rows, s->n_items, c->act[s->n_enc + s->n_dec - 1].f, r0, in->ptr, in->idx, out->ptr,
                                  out->idx, c->discount, c->ideal, c->topk, c->user_metrics, c->sums, err))
            return -1;
        if (topk_host)
            CUDA_TRY(err, cudaMemcpy(topk_host + (size_t)r0 * VS_METRICS_TOPK, c->topk,
                                     sizeof(int32_t) * (size_t)rows * VS_METRICS_TOPK, cudaMemcpyDeviceToHost));
    }
    return 0;
}

static int evaluate_topk(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                         int32_t *topk_host, vs_error *err) {
    cuda_backend *c = (cuda_backend *)b;
    if (fold_in->rows != targets->rows)
        return vs_errorf(err, "evaluate: %lld fold-in rows but %lld target rows", (long long)fold_in->rows,
                         (long long)targets->rows);
    if (fold_in->cols > b->shape.n_items || targets->cols > b->shape.n_items)
        return vs_errorf(err, "evaluate: held-out matrices have %lld and %lld columns, the model %d items",
                         (long long)fold_in->cols, (long long)targets->cols, b->shape.n_items);
    if (fold_in->rows > INT32_MAX) return vs_errorf(err, "evaluate: %lld rows is too many", (long long)fold_in->rows);
    if (upload_csr(fold_in, &c->eval_in, "evaluation fold-in rows", err) ||
        upload_csr(targets, &c->eval_out, "evaluation target rows", err))
        return -1;
    /* The device sums continue the caller's, so the additions are the CPU's sequence. */
    CUDA_TRY(err, cudaMemcpy(c->sums, sums, sizeof *sums, cudaMemcpyHostToDevice));
    if (evaluate_on_device(c, fold_in, &c->eval_in, &c->eval_out, topk_host, err)) return -1;
    CUDA_TRY(err, cudaMemcpy(sums, c->sums, sizeof *sums, cudaMemcpyDeviceToHost));
    return 0;
}

static int cuda_evaluate(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets, vs_metric_sums *sums,
                         vs_error *err) {
    return evaluate_topk(b, fold_in, targets, sums, NULL, err);
}

static int cuda_get_state(vs_backend *b, float *params, float *adam_m, float *adam_v, vs_error *err) {
    cuda_backend *c = (cuda_backend *)b;
    size_t n = b->shape.n_params * sizeof(float);
    if (params) CUDA_TRY(err, cudaMemcpy(params, c->params, n, cudaMemcpyDeviceToHost));
    if (adam_m) CUDA_TRY(err, cudaMemcpy(adam_m, c->adam_m, n, cudaMemcpyDeviceToHost));
    if (adam_v) CUDA_TRY(err, cudaMemcpy(adam_v, c->adam_v, n, cudaMemcpyDeviceToHost));
    return 0;
}

static int cuda_set_state(vs_backend *b, const float *params, const float *adam_m, const float *adam_v,
                          vs_error *err) {
    cuda_backend *c = (cuda_backend *)b;
    size_t n = b->shape.n_params * sizeof(float);
    if (params) {
        CUDA_TRY(err, cudaMemcpy(c->params, params, n, cudaMemcpyHostToDevice));
        if (vs_cast_half_gpu(b->shape.n_params, c->params, c->params16, c->half_kind, err)) return -1;
    }
    if (adam_m) CUDA_TRY(err, cudaMemcpy(c->adam_m, adam_m, n, cudaMemcpyHostToDevice));
    if (adam_v) CUDA_TRY(err, cudaMemcpy(c->adam_v, adam_v, n, cudaMemcpyHostToDevice));
    return 0;
}

static void free_dmat(vs_dmat *m) {
    cudaFree(m->f);
    cudaFree(m->h);
    m->f = NULL;
    m->h = NULL;
}

static void cuda_destroy(vs_backend *b) {
    cuda_backend *c = (cuda_backend *)b;
    if (!c) return;
    void *bufs[] = {c->params, c->grads, c->adam_m, c->adam_v, c->params16, c->users, c->b_ptr, c->b_idx, c->b_val,
                    c->eps, c->row_loss, c->row_kl, c->l2_partial, c->ones, c->result, c->topk, c->user_metrics,
                    c->discount, c->ideal, c->sums};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) cudaFree(bufs[i]);
    vs_by_item_free(&c->by_item);
    free_csr(&c->train);
    free_csr(&c->eval_in);
    free_csr(&c->eval_out);
    for (int l = 0; l < 2 * VS_MAX_LAYERS; l++) free_dmat(&c->act[l]);
    free_dmat(&c->z);
    free_dmat(&c->spare[0]);
    free_dmat(&c->spare[1]);
    if (c->cublas) cublasDestroy(c->cublas);
    free(c->h_users);
    free(c->h_bptr);
    free(c);
}

static const vs_backend_ops cuda_ops = {
    "cuda", cuda_train_step, cuda_evaluate, cuda_loss_and_grad, cuda_loss_scaler, cuda_get_state, cuda_set_state,
    cuda_destroy, cuda_shard_grad, cuda_grad_buffer, cuda_apply_grad,
};

/* ------------------------------------------------------------------ creation */

/* A float matrix of rows x cols and, in the 16-bit modes, its 16-bit copy. */
static int alloc_dmat(vs_dmat *m, size_t rows, size_t cols, int half, const char *what, vs_error *err) {
    if (dev_alloc((void **)&m->f, sizeof(float) * rows * cols, what, err)) return -1;
    if (half && dev_alloc(&m->h, 2 * rows * cols, what, err)) return -1;
    return 0;
}

static int cuda_setup(cuda_backend *c, const vs_csr *train, vs_error *err) {
    const vs_model_shape *s = &c->base.shape;
    const vs_config *cfg = &c->base.cfg;
    int half = c->half_kind != VS_HALF_NONE;
    size_t P = s->n_params, rows = (size_t)c->cap;

    CUDA_TRY(err, cudaGetDevice(&c->device));
    mem_plan plan = plan_memory(s, train, c->cap, c->cap_nnz, half);
    if (check_memory(c, &plan, err)) return -1;
    CUBLAS_TRY(err, cublasCreate(&c->cublas));
    /* fp32 must not fall back to TF32 on its own; tf32 asks for it per call */
    CUBLAS_TRY(err, cublasSetMathMode(c->cublas, CUBLAS_DEFAULT_MATH));

    if (dev_alloc((void **)&c->params, P * sizeof(float), "parameters", err) ||
        dev_alloc((void **)&c->grads, P * sizeof(float), "gradient", err) ||
        dev_alloc((void **)&c->adam_m, P * sizeof(float), "Adam's first moment", err) ||
        dev_alloc((void **)&c->adam_v, P * sizeof(float), "Adam's second moment", err) ||
        (half && dev_alloc(&c->params16, P * 2, "16-bit parameters", err)) ||
        upload_csr(train, &c->train, "training data", err) ||
        dev_alloc((void **)&c->users, rows * sizeof(int32_t), "batch users", err) ||
        dev_alloc((void **)&c->b_ptr, (rows + 1) * sizeof(int64_t), "batch offsets", err) ||
        dev_alloc((void **)&c->b_idx, (size_t)c->cap_nnz * sizeof(int32_t), "batch items", err) ||
        dev_alloc((void **)&c->b_val, (size_t)c->cap_nnz * sizeof(float), "batch values", err) ||
        vs_by_item_reserve(&c->by_item, c->cap_nnz, c->cap, s->n_items, err))
        return -1;
    for (int l = 0; l < vs_model_n_layers(s); l++)
        if (alloc_dmat(&c->act[l], rows, (size_t)vs_model_layer(s, l, NULL, NULL)->out, half, "activations", err))
            return -1;
    if (alloc_dmat(&c->z, rows, (size_t)s->latent, half, "latent codes", err) ||
        dev_alloc((void **)&c->eps, rows * s->latent * sizeof(float), "noise", err) ||
        alloc_dmat(&c->spare[0], rows, (size_t)s->max_width, half, "backprop scratch", err) ||
        alloc_dmat(&c->spare[1], rows, (size_t)s->max_width, half, "backprop scratch", err) ||
        dev_alloc((void **)&c->row_loss, rows * sizeof(double), "row losses", err) ||
        dev_alloc((void **)&c->row_kl, rows * sizeof(double), "row KL", err) ||
        dev_alloc((void **)&c->l2_partial, (vs_l2_chunks(s->n_weights) + 1) * sizeof(double), "penalty sums", err) ||
        dev_alloc((void **)&c->ones, rows * sizeof(float), "ones", err) ||
        dev_alloc((void **)&c->result, sizeof(vs_dev_step_result), "step result", err) ||
        dev_alloc((void **)&c->topk, rows * VS_METRICS_TOPK * sizeof(int32_t), "top-k", err) ||
        dev_alloc((void **)&c->user_metrics, rows * 4 * sizeof(double), "user metrics", err) ||
        dev_alloc((void **)&c->discount, VS_METRICS_TOPK * sizeof(double), "discounts", err) ||
        dev_alloc((void **)&c->ideal, (VS_METRICS_TOPK + 1) * sizeof(double), "discounts", err) ||
        dev_alloc((void **)&c->sums, sizeof(vs_metric_sums), "metric sums", err))
        return -1;

    float *host = (float *)vs_xmalloc(P * sizeof(float));
    vs_model_init_params(s, cfg->seed, host);
    cudaError_t st = cudaMemcpy(c->params, host, P * sizeof(float), cudaMemcpyHostToDevice);
    free(host);
    if (st != cudaSuccess) return vs_errorf(err, "%s:%d: cudaMemcpy of the parameters: %s", __FILE__, __LINE__,
                                            cudaGetErrorString(st));
    CUDA_TRY(err, cudaMemset(c->adam_m, 0, P * sizeof(float)));
    CUDA_TRY(err, cudaMemset(c->adam_v, 0, P * sizeof(float)));
    CUDA_TRY(err, cudaMemset(c->grads, 0, P * sizeof(float)));
    CUDA_TRY(err, cudaMemset(c->result, 0, sizeof(vs_dev_step_result)));
    if (vs_cast_half_gpu(P, c->params, c->params16, c->half_kind, err) || vs_fill_gpu(rows, 1.0f, c->ones, err) ||
        upload_discounts(c->discount, c->ideal, err))
        return -1;
    CUDA_TRY(err, cudaDeviceSynchronize());
    return 0;
}

extern "C" int vs_cuda_use_device(int index, vs_error *err) {
    int n = vs_cuda_device_count();
    if (index < 0 || index >= n)
        return vs_errorf(err, "GPU %d: %d CUDA device%s visible (CUDA_VISIBLE_DEVICES=%s)", index, n, n == 1 ? " is" : "s are",
                         getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "unset");
    CUDA_TRY(err, cudaSetDevice(index));
    return 0;
}

extern "C" vs_backend *vs_backend_cuda_create(const vs_config *cfg, const vs_csr *train, int64_t n_items,
                                              vs_error *err) {
    /* The padded item layout (docs/model.md) is the CPU's so far: these kernels assume
     * rows of n_items and packed blocks. */
    if (cfg->item_pad != 1) {
        vs_errorf(err, "cuda backend: item_pad %d: the padded item layout is not implemented on the GPU yet "
                       "(use item_pad 1, or --device cpu)",
                  cfg->item_pad);
        return NULL;
    }
    const char *problem = vs_cuda_device_problem();
    if (problem) {
        vs_errorf(err, "--device cuda: no usable CUDA device: %s (CUDA_VISIBLE_DEVICES=%s)", problem,
                  getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "unset");
        return NULL;
    }
    if (n_items < 1 || n_items > INT32_MAX) {
        vs_errorf(err, "cuda backend: %lld items (expected 1 to %d)", (long long)n_items, INT32_MAX);
        return NULL;
    }
    if (train->cols > n_items) {
        vs_errorf(err, "cuda backend: training matrix has %lld columns, the model %lld items", (long long)train->cols,
                  (long long)n_items);
        return NULL;
    }
    cuda_backend *c = (cuda_backend *)vs_xcalloc(1, sizeof *c);
    c->base.ops = &cuda_ops;
    c->base.cfg = *cfg;
    c->base.train = train;
    vs_model_shape_init(&c->base.shape, n_items, cfg);
    c->prec = cfg->precision;
    c->half_kind = vs_half_kind_of(cfg->precision);
    c->cap = cfg->batch_size > cfg->eval_batch_size ? cfg->batch_size : cfg->eval_batch_size;
    c->cap_nnz = max_batch_nnz(train, cfg->batch_size);
    c->h_users = (int32_t *)vs_xcalloc((size_t)c->cap, sizeof(int32_t));
    c->h_bptr = (int64_t *)vs_xcalloc((size_t)c->cap + 1, sizeof(int64_t));
    vs_loss_scaler_init(&c->scaler, cfg);
    if (cuda_setup(c, train, err)) {
        vs_error_prefix(err, "--device cuda");
        cuda_destroy(&c->base);
        return NULL;
    }
    return &c->base;
}

/* ------------------------------------------------------------------ test and benchmark entry points */

static int metrics_from_scores(const float *scores_host, int rows, int n_items, const vs_csr *fold_in,
                               const vs_csr *targets, vs_metric_sums *out, int32_t *topk_out, scratch_set *sc,
                               dev_csr *in, dev_csr *tg, vs_error *err) {
    float *scores;
    int32_t *topk;
    double *user_metrics, *discount, *ideal;
    vs_metric_sums *sums;
    size_t n = (size_t)rows * n_items;
    if (scratch_alloc(sc, (void **)&scores, n * sizeof(float), "scores", err) ||
        scratch_alloc(sc, (void **)&topk, (size_t)rows * VS_METRICS_TOPK * sizeof(int32_t), "top-k", err) ||
        scratch_alloc(sc, (void **)&user_metrics, (size_t)rows * 4 * sizeof(double), "user metrics", err) ||
        scratch_alloc(sc, (void **)&discount, VS_METRICS_TOPK * sizeof(double), "discounts", err) ||
        scratch_alloc(sc, (void **)&ideal, (VS_METRICS_TOPK + 1) * sizeof(double), "discounts", err) ||
        scratch_alloc(sc, (void **)&sums, sizeof(vs_metric_sums), "metric sums", err) ||
        upload_csr(fold_in, in, "fold-in rows", err) || upload_csr(targets, tg, "target rows", err) ||
        upload_discounts(discount, ideal, err))
        return -1;
    CUDA_TRY(err, cudaMemcpy(scores, scores_host, n * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_TRY(err, cudaMemcpy(sums, out, sizeof *out, cudaMemcpyHostToDevice));
    if (vs_rank_and_score_gpu(rows, n_items, scores, 0, in->ptr, in->idx, tg->ptr, tg->idx, discount, ideal, topk,
                              user_metrics, sums, err))
        return -1;
    CUDA_TRY(err, cudaMemcpy(out, sums, sizeof *out, cudaMemcpyDeviceToHost));
    if (topk_out)
        CUDA_TRY(err, cudaMemcpy(topk_out, topk, (size_t)rows * VS_METRICS_TOPK * sizeof(int32_t),
                                 cudaMemcpyDeviceToHost));
    return 0;
}

extern "C" int vs_cuda_metrics_from_scores(const float *scores_host, int rows, int n_items, const vs_csr *fold_in,
                                           const vs_csr *targets, vs_metric_sums *out, int32_t *topk_out,
                                           vs_error *err) {
    if (rows < 0 || n_items < 1 || fold_in->rows < rows || targets->rows < rows || fold_in->cols > n_items ||
        targets->cols > n_items)
        return vs_errorf(err, "vs_cuda_metrics_from_scores: %d rows x %d items against fold-in %lld x %lld and "
                              "targets %lld x %lld",
                         rows, n_items, (long long)fold_in->rows, (long long)fold_in->cols, (long long)targets->rows,
                         (long long)targets->cols);
    if (rows == 0) return 0;
    scratch_set sc = {{0}, 0};
    dev_csr in = {NULL, NULL}, tg = {NULL, NULL};
    int rc = metrics_from_scores(scores_host, rows, n_items, fold_in, targets, out, topk_out, &sc, &in, &tg, err);
    scratch_free(&sc);
    free_csr(&in);
    free_csr(&tg);
    return rc;
}

static cuda_backend *as_cuda(vs_backend *b, const char *fn, vs_error *err) {
    if (b && b->ops == &cuda_ops) return (cuda_backend *)b;
    vs_errorf(err, "%s: not a cuda backend", fn);
    return NULL;
}

extern "C" int vs_cuda_backend_build_batch(vs_backend *b, const int32_t *users, int rows, int64_t step,
                                           int64_t *ptr_out, int32_t *idx_out, float *val_out, vs_error *err) {
    cuda_backend *c = as_cuda(b, "vs_cuda_backend_build_batch", err);
    if (!c || build_train_batch(c, users, rows, step, err)) return -1;
    CUDA_TRY(err, cudaDeviceSynchronize());
    memcpy(ptr_out, c->h_bptr, sizeof(int64_t) * (size_t)(rows + 1));
    size_t nnz = (size_t)c->h_bptr[rows];
    CUDA_TRY(err, cudaMemcpy(idx_out, c->b_idx, sizeof(int32_t) * nnz, cudaMemcpyDeviceToHost));
    CUDA_TRY(err, cudaMemcpy(val_out, c->b_val, sizeof(float) * nnz, cudaMemcpyDeviceToHost));
    return 0;
}

extern "C" int vs_cuda_backend_reparam(vs_backend *b, const int32_t *users, int rows, int64_t step, const float *mulv,
                                       float *eps_out, float *z_out, vs_error *err) {
    cuda_backend *c = as_cuda(b, "vs_cuda_backend_reparam", err);
    if (!c || upload_batch(c, b->train, users, rows, err)) return -1;
    size_t L = (size_t)b->shape.latent, n = (size_t)rows * L;
    CUDA_TRY(err, cudaMemcpy(c->act[b->shape.n_enc - 1].f, mulv, sizeof(float) * 2 * n, cudaMemcpyHostToDevice));
    if (reparameterise(c, rows, 1, step, err)) return -1;
    CUDA_TRY(err, cudaMemcpy(eps_out, c->eps, sizeof(float) * n, cudaMemcpyDeviceToHost));
    CUDA_TRY(err, cudaMemcpy(z_out, c->z.f, sizeof(float) * n, cudaMemcpyDeviceToHost));
    return 0;
}

extern "C" int vs_cuda_backend_evaluate_topk(vs_backend *b, const vs_csr *fold_in, const vs_csr *targets,
                                             vs_metric_sums *sums, int32_t *topk_out, vs_error *err) {
    if (!as_cuda(b, "vs_cuda_backend_evaluate_topk", err)) return -1;
    return evaluate_topk(b, fold_in, targets, sums, topk_out, err);
}

extern "C" int vs_cuda_backend_first_layer_grad(vs_backend *b, const int32_t *users, int rows, int64_t step,
                                                const float *dy, int64_t *in_ptr_out, int32_t *in_idx_out,
                                                float *in_val_out, float *dW_out, vs_error *err) {
    cuda_backend *c = as_cuda(b, "vs_cuda_backend_first_layer_grad", err);
    if (!c || build_train_batch(c, users, rows, step, err)) return -1;
    const vs_layer *L0 = &b->shape.enc[0];
    size_t n_dw = (size_t)L0->in * L0->out;
    float *dW = c->grads + L0->w;
    CUDA_TRY(err, cudaMemcpy(c->spare[0].f, dy, sizeof(float) * (size_t)rows * L0->out, cudaMemcpyHostToDevice));
    CUDA_TRY(err, cudaMemset(dW, 0, sizeof(float) * n_dw));
    if (vs_weight_grad_by_item_gpu(&c->by_item, c->spare[0].f, L0->out, dW, err)) return -1;
    CUDA_TRY(err, cudaMemcpy(dW_out, dW, sizeof(float) * n_dw, cudaMemcpyDeviceToHost));
    CUDA_TRY(err, cudaMemset(dW, 0, sizeof(float) * n_dw));
    CUDA_TRY(err, cudaMemcpy(in_ptr_out, c->by_item.in_ptr, sizeof(int64_t) * (size_t)(rows + 1),
                             cudaMemcpyDeviceToHost));
    size_t kept = (size_t)in_ptr_out[rows];
    CUDA_TRY(err, cudaMemcpy(in_idx_out, c->by_item.in_idx, sizeof(int32_t) * kept, cudaMemcpyDeviceToHost));
    CUDA_TRY(err, cudaMemcpy(in_val_out, c->by_item.in_val, sizeof(float) * kept, cudaMemcpyDeviceToHost));
    return 0;
}

extern "C" int vs_cuda_backend_scores(vs_backend *b, const vs_csr *fold_in, int rows, float *scores_out,
                                      vs_error *err) {
    cuda_backend *c = as_cuda(b, "vs_cuda_backend_scores", err);
    if (!c) return -1;
    const vs_model_shape *s = &b->shape;
    if (rows < 1 || rows > c->cap || rows > fold_in->rows || fold_in->cols > s->n_items)
        return vs_errorf(err, "vs_cuda_backend_scores: %d rows of a %lld x %lld fold-in (at most %d rows, %d items)",
                         rows, (long long)fold_in->rows, (long long)fold_in->cols, c->cap, s->n_items);
    if (upload_csr(fold_in, &c->eval_in, "evaluation fold-in rows", err)) return -1;
    for (int r = 0; r < rows; r++) c->h_users[r] = r;
    if (upload_batch(c, fold_in, c->h_users, rows, err) ||
        vs_build_batch_gpu(rows, c->eval_in.ptr, c->eval_in.idx, c->users, c->b_ptr, 0, 0, 1.0, 0, c->b_idx, c->b_val,
                           err) ||
        forward(c, rows, 0, 0, err))
        return -1;
    CUDA_TRY(err, cudaMemcpy(scores_out, c->act[s->n_enc + s->n_dec - 1].f, sizeof(float) * (size_t)rows * s->n_items,
                             cudaMemcpyDeviceToHost));
    return 0;
}

extern "C" int vs_cuda_backend_dense_product(vs_backend *b, int layer, int rows, const float *x, const float *W,
                                             float *y, vs_error *err) {
    cuda_backend *c = as_cuda(b, "vs_cuda_backend_dense_product", err);
    if (!c) return -1;
    const vs_model_shape *s = &b->shape;
    if (layer < 1 || layer >= vs_model_n_layers(s) || rows < 1)
        return vs_errorf(err, "vs_cuda_backend_dense_product: layer %d of %d, %d rows (expected a dense layer, 1 to %d, "
                              "and rows >= 1)",
                         layer, vs_model_n_layers(s), rows, vs_model_n_layers(s) - 1);
    const vs_layer *L = vs_model_layer(s, layer, NULL, NULL);
    size_t nx = (size_t)rows * L->in, nw = (size_t)L->in * L->out, ny = (size_t)rows * L->out;
    int half = c->half_kind != VS_HALF_NONE;
    scratch_set sc = {{0}, 0};
    vs_dmat xm = {NULL, NULL}, wm = {NULL, NULL};
    float *yd = NULL;
    int rc = -1;
    if (scratch_alloc(&sc, (void **)&xm.f, nx * sizeof(float), "probe input", err) ||
        scratch_alloc(&sc, (void **)&wm.f, nw * sizeof(float), "probe weights", err) ||
        scratch_alloc(&sc, (void **)&yd, ny * sizeof(float), "probe output", err) ||
        (half && (scratch_alloc(&sc, &xm.h, nx * 2, "probe input", err) ||
                  scratch_alloc(&sc, &wm.h, nw * 2, "probe weights", err))))
        goto done;
    if (cudaMemcpy(xm.f, x, nx * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess ||
        cudaMemcpy(wm.f, W, nw * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess) {
        vs_errorf(err, "%s:%d: copying the probe's operands: %s", __FILE__, __LINE__,
                  cudaGetErrorString(cudaGetLastError()));
        goto done;
    }
    /* the 16-bit copies by the backend's own cast, the product by its own handle and path */
    if (vs_cast_half_gpu(nx, xm.f, xm.h, c->half_kind, err) || vs_cast_half_gpu(nw, wm.f, wm.h, c->half_kind, err) ||
        vs_linear_forward_gpu(c->cublas, c->prec, rows, L->in, L->out, xm, wm, yd, err))
        goto done;
    if (cudaMemcpy(y, yd, ny * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess) {
        vs_errorf(err, "%s:%d: copying the probe's result: %s", __FILE__, __LINE__,
                  cudaGetErrorString(cudaGetLastError()));
        goto done;
    }
    rc = 0;
done:
    scratch_free(&sc);
    return rc;
}
