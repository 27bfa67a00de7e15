/* cpu_layers_impl.h: the body of cpu_layers.h, included once per precision by
 * cpu_layers_f32.c and cpu_layers_f64.c with these macros defined:
 *   R      the real type           SUF   the name suffix (f32, f64)
 *   GEMM   cblas_sgemm / cblas_dgemm
 * Not a public header. */
/* tgmath: exp, tanh, sqrt act in R's precision (expf for float); double where cast. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cpu_layers.h"
#include "common/pcg.h"
#include "common/vs_error.h"

#include <tgmath.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SUF)
#define WS FN(vs_ws)
#define BATCH FN(vs_batch)

/* Column blocks for column sums and the sparse weight gradient: each thread owns whole
 * columns, so every element is accumulated in row order whatever the thread count. */
static void FN(column_block)(int out, int *c0, int *c1) {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int per = (out + nt - 1) / nt;
    per = (per + 15) / 16 * 16;
    *c0 = t * per < out ? t * per : out;
    *c1 = (t + 1) * per < out ? (t + 1) * per : out;
}

static void FN(column_sums)(int rows, int out, const R *dy, R *db) {
#pragma omp parallel
    {
        int c0, c1;
        FN(column_block)(out, &c0, &c1);
        for (int c = c0; c < c1; c++) db[c] = 0;
        for (int r = 0; r < rows; r++) {
            const R *row = dy + (size_t)r * out;
#pragma omp simd
            for (int c = c0; c < c1; c++) db[c] += row[c];
        }
    }
}

void FN(vs_sparse_linear_forward)(int rows, const int64_t *ptr, const int32_t *idx, const R *val,
                                  const R *W, const R *b, int out, R *y) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        R *yr = y + (size_t)r * out;
        if (b) memcpy(yr, b, sizeof(R) * (size_t)out);
        else memset(yr, 0, sizeof(R) * (size_t)out);
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) {
            const R *w = W + (size_t)idx[k] * out;
            R v = val[k];
#pragma omp simd
            for (int c = 0; c < out; c++) yr[c] += v * w[c];
        }
    }
}

void FN(vs_sparse_linear_backward)(int rows, const int64_t *ptr, const int32_t *idx, const R *val,
                                   const R *dy, int out, R *dW, R *db) {
#pragma omp parallel
    {
        int c0, c1;
        FN(column_block)(out, &c0, &c1);
        for (int r = 0; r < rows; r++) {
            const R *dyr = dy + (size_t)r * out;
            for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) {
                R *w = dW + (size_t)idx[k] * out;
                R v = val[k];
#pragma omp simd
                for (int c = c0; c < c1; c++) w[c] += v * dyr[c];
            }
        }
    }
    if (db) FN(column_sums)(rows, out, dy, db);
}

void FN(vs_sparse_linear_backward_by_item)(const vs_batch_by_item *g, const R *val, const R *dy, int out, R *dW) {
#pragma omp parallel for schedule(dynamic, 16)
    for (int gi = 0; gi < g->n_groups; gi++) {
        R *w = dW + (size_t)g->item[gi] * out;
        for (int64_t k = g->group_ptr[gi]; k < g->group_ptr[gi + 1]; k++) {
            const R *dyr = dy + (size_t)g->row[k] * out;
            R v = val[g->entry[k]];
#pragma omp simd
            for (int c = 0; c < out; c++) w[c] += v * dyr[c];
        }
    }
}

void FN(vs_linear_forward)(int rows, int in, int out, const R *x, const R *W, const R *b, R *y) {
    if (b) {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) memcpy(y + (size_t)r * out, b, sizeof(R) * (size_t)out);
    }
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, out, in, 1, x, in, W, out, b ? 1 : 0, y, out);
}

void FN(vs_linear_backward)(int rows, int in, int out, const R *x, const R *W, const R *dy, R *dx,
                            R *dW, R *db, int acc) {
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, rows, 1, x, in, dy, out, acc ? 1 : 0, dW, out);
    if (dx) GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, rows, in, out, 1, dy, out, W, out, 0, dx, in);
    if (db) FN(column_sums)(rows, out, dy, db);
}

void FN(vs_tanh_forward)(size_t n, R *y) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = tanh(y[i]);
}

void FN(vs_tanh_backward)(size_t n, const R *y, R *dy) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) dy[i] *= 1 - y[i] * y[i];
}

void FN(vs_reparam_forward)(int rows, int L, const R *mulv, const R *eps, R *z) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const R *mu = mulv + (size_t)r * 2 * L, *lv = mu + L;
        R *zr = z + (size_t)r * L;
        for (int j = 0; j < L; j++)
            zr[j] = eps ? mu[j] + eps[(size_t)r * L + j] * (R)exp(0.5 * lv[j]) : mu[j];
    }
}

double FN(vs_kl_forward)(int rows, int L, const R *mulv) {
    double total = 0;
    for (int r = 0; r < rows; r++) {
        const R *mu = mulv + (size_t)r * 2 * L, *lv = mu + L;
        double s = 0;
        for (int j = 0; j < L; j++)
            s += 0.5 * (-(double)lv[j] + exp((double)lv[j]) + (double)mu[j] * mu[j] - 1.0);
        total += s;
    }
    return total;
}

void FN(vs_reparam_kl_backward)(int rows, int L, const R *mulv, const R *eps, const R *dz,
                                double kl_scale, R *dmulv) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const R *mu = mulv + (size_t)r * 2 * L, *lv = mu + L;
        R *dmu = dmulv + (size_t)r * 2 * L, *dlv = dmu + L;
        for (int j = 0; j < L; j++) {
            double e = exp((double)lv[j]);
            double g_mu = kl_scale * mu[j];
            double g_lv = kl_scale * 0.5 * (e - 1.0);
            if (dz) {
                double d = dz[(size_t)r * L + j];
                g_mu += d;
                if (eps) g_lv += d * eps[(size_t)r * L + j] * 0.5 * sqrt(e);
            }
            dmu[j] = (R)g_mu;
            dlv[j] = (R)g_lv;
        }
    }
}

void FN(vs_softmax_xent)(int rows, int n, int stride, R *logits, const R *b, const int64_t *x_ptr,
                         const int32_t *x_idx, double grad_scale, double *row_loss) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        R *y = logits + (size_t)r * stride;
        R m = -INFINITY;
        if (b) {
#pragma omp simd reduction(max : m)
            for (int i = 0; i < n; i++) {
                y[i] += b[i];
                m = y[i] > m ? y[i] : m;
            }
        } else {
#pragma omp simd reduction(max : m)
            for (int i = 0; i < n; i++) m = y[i] > m ? y[i] : m;
        }
        double picked = 0;
        int64_t nx = x_ptr[r + 1] - x_ptr[r];
        for (int64_t k = x_ptr[r]; k < x_ptr[r + 1]; k++) picked += y[x_idx[k]];
        /* exp and its sum as two loops: each vectorises (libmvec's exp), the pair does not */
        for (int i = 0; i < n; i++) y[i] = exp(y[i] - m);
        double s = 0;
        for (int i = 0; i < n; i++) s += y[i];
        row_loss[r] = (double)nx * ((double)m + log(s)) - picked;
        R scale = (R)(grad_scale * (double)nx / s);
#pragma omp simd
        for (int i = 0; i < n; i++) y[i] *= scale;
        for (int64_t k = x_ptr[r]; k < x_ptr[r + 1]; k++) y[x_idx[k]] -= (R)grad_scale;
        for (int i = n; i < stride; i++) y[i] = 0;   /* the padding: masked, no gradient */
    }
}

void FN(vs_adam)(size_t n, R *p, const R *g, R *m, R *v, double lr, double beta1, double beta2,
                 double eps, int64_t t) {
    const R b1 = (R)beta1, b2 = (R)beta2, c1 = (R)(1 - beta1), c2 = (R)(1 - beta2);
    const R step_size = (R)(lr / (1.0 - pow(beta1, (double)t)));
    const R inv_bc2 = (R)(1.0 / (1.0 - pow(beta2, (double)t)));
    const R e = (R)eps;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        R gi = g[i];
        R mi = b1 * m[i] + c1 * gi;
        R vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrt(vi * inv_bc2) + e);
    }
}

void FN(vs_ws_init)(WS *ws, const vs_model_shape *s, int cap_rows, int64_t cap_nnz) {
    memset(ws, 0, sizeof *ws);
    ws->cap_rows = cap_rows;
    ws->cap_nnz = cap_nnz > 0 ? cap_nnz : 1;
    BATCH *bt = &ws->batch;
    bt->in_ptr = vs_xmalloc(sizeof(int64_t) * (size_t)(cap_rows + 1));
    bt->x_ptr = vs_xmalloc(sizeof(int64_t) * (size_t)(cap_rows + 1));
    bt->in_idx = vs_xmalloc(sizeof(int32_t) * (size_t)ws->cap_nnz);
    bt->x_idx = vs_xmalloc(sizeof(int32_t) * (size_t)ws->cap_nnz);
    bt->in_val = vs_xmalloc(sizeof(R) * (size_t)ws->cap_nnz);
    bt->eps = vs_xalloc_aligned(sizeof(R) * (size_t)cap_rows * s->latent);
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        ws->act[l] = vs_xalloc_aligned(sizeof(R) * (size_t)cap_rows * L->out);
    }
    ws->z = vs_xalloc_aligned(sizeof(R) * (size_t)cap_rows * s->latent);
    ws->grad_a = vs_xalloc_aligned(sizeof(R) * (size_t)cap_rows * s->max_width);
    ws->grad_b = vs_xalloc_aligned(sizeof(R) * (size_t)cap_rows * s->max_width);
    ws->row_loss = vs_xalloc_aligned(sizeof(double) * (size_t)cap_rows);
}

void FN(vs_ws_free)(WS *ws) {
    BATCH *bt = &ws->batch;
    free(bt->in_ptr);
    free(bt->x_ptr);
    free(bt->in_idx);
    free(bt->x_idx);
    free(bt->in_val);
    free(bt->eps);
    for (int l = 0; l < 2 * VS_MAX_LAYERS; l++) free(ws->act[l]);
    free(ws->z);
    free(ws->grad_a);
    free(ws->grad_b);
    free(ws->row_loss);
    vs_batch_by_item_free(&ws->by_item);
    memset(ws, 0, sizeof *ws);
}

static void FN(ensure_nnz)(WS *ws, int64_t need) {
    if (need <= ws->cap_nnz) return;
    int64_t cap = ws->cap_nnz;
    while (cap < need) cap *= 2;
    BATCH *bt = &ws->batch;
    bt->in_idx = vs_xrealloc(bt->in_idx, sizeof(int32_t) * (size_t)cap);
    bt->x_idx = vs_xrealloc(bt->x_idx, sizeof(int32_t) * (size_t)cap);
    bt->in_val = vs_xrealloc(bt->in_val, sizeof(R) * (size_t)cap);
    ws->cap_nnz = cap;
}

void FN(vs_batch_build)(WS *ws, const vs_model_shape *s, const vs_csr *data, const int32_t *users,
                        int rows, int64_t step, uint64_t seed, double keep_prob, int train) {
    BATCH *bt = &ws->batch;
    int64_t total = 0;
    for (int r = 0; r < rows; r++) total += data->indptr[users[r] + 1] - data->indptr[users[r]];
    FN(ensure_nnz)(ws, total);
    bt->rows = rows;
    int dropout = train && keep_prob < 1.0;
    uint32_t threshold = vs_keep_threshold((float)keep_prob);
    int64_t in_n = 0, x_n = 0;
    bt->in_ptr[0] = bt->x_ptr[0] = 0;
    for (int r = 0; r < rows; r++) {
        int32_t u = users[r];
        const int32_t *items = data->indices + data->indptr[u];
        int64_t cnt = data->indptr[u + 1] - data->indptr[u];
        memcpy(bt->x_idx + x_n, items, sizeof(int32_t) * (size_t)cnt);
        x_n += cnt;
        bt->x_ptr[r + 1] = x_n;
        R norm = cnt ? (R)(1.0 / sqrt((double)cnt)) : 0;
        if (!dropout) {
            memcpy(bt->in_idx + in_n, items, sizeof(int32_t) * (size_t)cnt);
            for (int64_t k = 0; k < cnt; k++) bt->in_val[in_n + k] = norm;
            in_n += cnt;
        } else {
            R kept_val = (R)((double)norm / keep_prob);
            vs_pcg32 g = vs_stream(seed, VS_RNG_DROPOUT, (uint64_t)step, (uint64_t)u);
            uint64_t pos = 0;
            for (int64_t k = 0; k < cnt; k++) {
                vs_pcg32_advance(&g, (uint64_t)items[k] - pos);
                pos = (uint64_t)items[k] + 1;
                if (vs_pcg32_next(&g) < threshold) {
                    bt->in_idx[in_n] = items[k];
                    bt->in_val[in_n] = kept_val;
                    in_n++;
                }
            }
        }
        bt->in_ptr[r + 1] = in_n;
    }
    if (!train) return;
    int L = s->latent;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        vs_pcg32 g = vs_stream(seed, VS_RNG_NOISE, (uint64_t)step, (uint64_t)users[r]);
        for (int j = 0; j < L; j++) bt->eps[(size_t)r * L + j] = (R)vs_pcg32_normal(&g);
    }
}

void FN(vs_model_forward)(WS *ws, const vs_model_shape *s, const R *params, int with_bias) {
    BATCH *bt = &ws->batch;
    int rows = bt->rows;
    int train = with_bias == 0;   /* training defers the output bias to the classifier */
    for (int e = 0; e < s->n_enc; e++) {
        const vs_layer *L = &s->enc[e];
        if (e == 0)
            FN(vs_sparse_linear_forward)(rows, bt->in_ptr, bt->in_idx, bt->in_val, params + L->w,
                                         params + L->b, L->out, ws->act[0]);
        else
            FN(vs_linear_forward)(rows, L->in, L->out, ws->act[e - 1], params + L->w, params + L->b, ws->act[e]);
        if (L->tanh) FN(vs_tanh_forward)((size_t)rows * L->out, ws->act[e]);
    }
    FN(vs_reparam_forward)(rows, s->latent, ws->act[s->n_enc - 1], train ? bt->eps : NULL, ws->z);
    for (int d = 0; d < s->n_dec; d++) {
        const vs_layer *L = &s->dec[d];
        const R *x = d == 0 ? ws->z : ws->act[s->n_enc + d - 1];
        int last = d == s->n_dec - 1;
        FN(vs_linear_forward)(rows, L->in, L->out, x, params + L->w, last && !with_bias ? NULL : params + L->b,
                              ws->act[s->n_enc + d]);
        if (L->tanh) FN(vs_tanh_forward)((size_t)rows * L->out, ws->act[s->n_enc + d]);
    }
}

/* lambda * sum of squared weights, and grads[weights] = 2 lambda W; chunked sums keep
 * the order fixed. */
static double FN(l2_penalty)(const vs_model_shape *s, const R *params, R *grads, double lambda) {
    const size_t chunk = 1 << 16;
    size_t n = s->n_weights, n_chunks = (n + chunk - 1) / chunk;
    double *partial = vs_xcalloc(n_chunks, sizeof(double));
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < n_chunks; c++) {
        size_t lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double acc = 0;
        for (size_t i = lo; i < hi; i++) {
            acc += (double)params[i] * params[i];
            grads[i] = (R)(2.0 * lambda) * params[i];
        }
        partial[c] = acc;
    }
    double total = 0;
    for (size_t c = 0; c < n_chunks; c++) total += partial[c];
    free(partial);
    return lambda * total;
}

/* grads between the blocks (the padded layout's alignment gaps), which no product
 * writes: zero, so that every element of the gradient is written. */
static void FN(clear_gaps)(const vs_model_shape *s, R *grads) {
    int n = vs_model_n_layers(s);
    for (int l = 0; l < n; l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        size_t w_end = L->w + (size_t)L->in * L->out, b_end = L->b + (size_t)L->out;
        size_t w_next = l + 1 < n ? vs_model_layer(s, l + 1, NULL, NULL)->w : s->n_weights;
        size_t b_next = l + 1 < n ? vs_model_layer(s, l + 1, NULL, NULL)->b : s->n_params;
        if (w_next > w_end) memset(grads + w_end, 0, sizeof(R) * (w_next - w_end));
        if (b_next > b_end) memset(grads + b_end, 0, sizeof(R) * (b_next - b_end));
    }
}

vs_step_losses FN(vs_model_loss_grad)(WS *ws, const vs_model_shape *s, const R *params, R *grads,
                                      double beta, double lambda) {
    return FN(vs_model_shard_loss_grad)(ws, s, params, grads, beta, lambda, ws->batch.rows, 1);
}

vs_step_losses FN(vs_model_shard_loss_grad)(WS *ws, const vs_model_shape *s, const R *params, R *grads,
                                            double beta, double lambda, int batch_rows, int with_penalty) {
    BATCH *bt = &ws->batch;
    int rows = bt->rows, L = s->latent;
    vs_step_losses out = {0};
    FN(vs_model_forward)(ws, s, params, 0);

    const vs_layer *last = &s->dec[s->n_dec - 1];
    R *logits = ws->act[s->n_enc + s->n_dec - 1];
    FN(vs_softmax_xent)(rows, s->n_items, s->item_stride, logits, params + last->b, bt->x_ptr, bt->x_idx,
                        1.0 / batch_rows, ws->row_loss);
    for (int r = 0; r < rows; r++) out.neg_ll += ws->row_loss[r];
    out.neg_ll /= batch_rows;
    const R *mulv = ws->act[s->n_enc - 1];
    out.kl = FN(vs_kl_forward)(rows, L, mulv) / batch_rows;

    /* Weight gradients accumulate onto 2 lambda W when there is a penalty (onto zeros on
     * the ranks that leave it to another); otherwise the products overwrite them and only
     * the sparse layer's rows need clearing. */
    int acc = lambda > 0;
    if (acc && with_penalty) out.l2 = FN(l2_penalty)(s, params, grads, lambda);
    else if (acc) memset(grads, 0, sizeof(R) * s->n_weights);
    else memset(grads + s->enc[0].w, 0, sizeof(R) * (size_t)s->enc[0].in * s->enc[0].out);
    FN(clear_gaps)(s, grads);
    out.loss = out.neg_ll + beta * out.kl + out.l2;

    R *dy = logits, *spare[2] = {ws->grad_a, ws->grad_b};
    int which = 0;
    for (int d = s->n_dec - 1; d >= 0; d--) {
        const vs_layer *Ld = &s->dec[d];
        const R *x = d == 0 ? ws->z : ws->act[s->n_enc + d - 1];
        R *dx = spare[which];
        which ^= 1;
        FN(vs_linear_backward)(rows, Ld->in, Ld->out, x, params + Ld->w, dy, dx, grads + Ld->w, grads + Ld->b, acc);
        if (d > 0) FN(vs_tanh_backward)((size_t)rows * Ld->in, ws->act[s->n_enc + d - 1], dx);
        dy = dx;
    }
    R *dmulv = spare[which];
    which ^= 1;
    FN(vs_reparam_kl_backward)(rows, L, mulv, bt->eps, dy, beta / batch_rows, dmulv);
    dy = dmulv;
    for (int e = s->n_enc - 1; e >= 1; e--) {
        const vs_layer *Le = &s->enc[e];
        R *dx = spare[which];
        which ^= 1;
        FN(vs_linear_backward)(rows, Le->in, Le->out, ws->act[e - 1], params + Le->w, dy, dx, grads + Le->w,
                               grads + Le->b, acc);
        FN(vs_tanh_backward)((size_t)rows * Le->in, ws->act[e - 1], dx);
        dy = dx;
    }
    /* The first layer by item groups: each touched row of dW1 written by one thread, in
     * parallel over items, the terms in row order (the row-by-row loop's result to the bit,
     * test_batch_by_item; about 1.6x faster at batch 500 than column blocks over all rows). */
    const vs_layer *L0 = &s->enc[0];
    vs_batch_by_item_build(&ws->by_item, rows, bt->in_ptr, bt->in_idx, L0->in);
    FN(vs_sparse_linear_backward_by_item)(&ws->by_item, bt->in_val, dy, L0->out, grads + L0->w);
    FN(column_sums)(rows, L0->out, dy, grads + L0->b);
    return out;
}
