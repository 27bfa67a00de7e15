/* test_gradcheck: every layer's backward pass and the whole Mult-VAE loss against
 * central finite differences, in double precision, on the very code the CPU backend
 * trains with (cpu_layers_impl.h compiled for double); then float against double; and
 * the same with the padded item layout (config item_pad). */
#include <float.h>
#include <stdint.h>

#include "test.h"
#include "common/pcg.h"
#include "trainer/cpu/cpu_layers.h"
#include "trainer/model.h"

static vs_pcg32 rng;
static double randn(void) { return vs_pcg32_normal(&rng); }
static void fill(double *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * randn();
}
static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* max |analytic - numeric| / max(1e-6, |analytic| + |numeric|) over the entries. */
static double rel_err(double a, double n) { return fabs(a - n) / fmax(1e-6, fabs(a) + fabs(n)); }
#define H 1e-6
#define TOL 1e-6

/* Each layer test uses the scalar loss <y, G> for a random G, whose dy is G. */

static void check_linear(void) {
    enum { B = 3, IN = 5, OUT = 4 };
    double x[B * IN], W[IN * OUT], b[OUT], G[B * OUT], y[B * OUT];
    double dx[B * IN], dW[IN * OUT], db[OUT];
    fill(x, B * IN, 1), fill(W, IN * OUT, 1), fill(b, OUT, 1), fill(G, B * OUT, 1);
    vs_linear_backward_f64(B, IN, OUT, x, W, G, dx, dW, db, 0);
    double *sets[3] = {x, W, b}, *grads[3] = {dx, dW, db};
    size_t sizes[3] = {B * IN, IN * OUT, OUT};
    double worst = 0;
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < sizes[s]; i++) {
            double keep = sets[s][i], lp, lm;
            sets[s][i] = keep + H;
            vs_linear_forward_f64(B, IN, OUT, x, W, b, y);
            lp = dot(y, G, B * OUT);
            sets[s][i] = keep - H;
            vs_linear_forward_f64(B, IN, OUT, x, W, b, y);
            lm = dot(y, G, B * OUT);
            sets[s][i] = keep;
            worst = fmax(worst, rel_err(grads[s][i], (lp - lm) / (2 * H)));
        }
    CHECK_MSG(worst < TOL, "linear: worst relative error %g", worst);
    /* acc = 1 adds onto what dW holds */
    double dW2[IN * OUT];
    for (int i = 0; i < IN * OUT; i++) dW2[i] = 1.0;
    vs_linear_backward_f64(B, IN, OUT, x, W, G, NULL, dW2, NULL, 1);
    CHECK_NEAR(dW2[7], dW[7] + 1.0, 1e-12);
}

static void check_sparse_linear(void) {
    enum { B = 3, IN = 9, OUT = 5 };
    int64_t ptr[B + 1] = {0, 3, 3, 7};
    int32_t idx[7] = {0, 4, 8, 1, 2, 4, 7};
    double val[7], W[IN * OUT], b[OUT], G[B * OUT], y[B * OUT], dW[IN * OUT] = {0}, db[OUT];
    fill(val, 7, 1), fill(W, IN * OUT, 1), fill(b, OUT, 1), fill(G, B * OUT, 1);
    vs_sparse_linear_backward_f64(B, ptr, idx, val, G, OUT, dW, db);
    double worst = 0;
    double *sets[2] = {W, b}, *grads[2] = {dW, db};
    size_t sizes[2] = {IN * OUT, OUT};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sizes[s]; i++) {
            double keep = sets[s][i], lp, lm;
            sets[s][i] = keep + H;
            vs_sparse_linear_forward_f64(B, ptr, idx, val, W, b, OUT, y);
            lp = dot(y, G, B * OUT);
            sets[s][i] = keep - H;
            vs_sparse_linear_forward_f64(B, ptr, idx, val, W, b, OUT, y);
            lm = dot(y, G, B * OUT);
            sets[s][i] = keep;
            worst = fmax(worst, rel_err(grads[s][i], (lp - lm) / (2 * H)));
        }
    CHECK_MSG(worst < TOL, "sparse linear: worst relative error %g", worst);
    /* rows of items nobody has get no gradient; the empty row gives y = b */
    CHECK(dW[3 * OUT + 1] == 0.0);
    vs_sparse_linear_forward_f64(B, ptr, idx, val, W, b, OUT, y);
    CHECK(y[OUT + 2] == b[2]);
}

static void check_tanh(void) {
    enum { N = 11 };
    double a[N], y[N], G[N], dy[N];
    fill(a, N, 1.5), fill(G, N, 1);
    memcpy(y, a, sizeof a);
    vs_tanh_forward_f64(N, y);
    memcpy(dy, G, sizeof G);
    vs_tanh_backward_f64(N, y, dy);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double num = (tanh(a[i] + H) - tanh(a[i] - H)) / (2 * H) * G[i];
        worst = fmax(worst, rel_err(dy[i], num));
        CHECK_NEAR(y[i], tanh(a[i]), 1e-15);
    }
    CHECK_MSG(worst < TOL, "tanh: worst relative error %g", worst);
}

/* The reparameterisation and the KL term together: loss = <z, G> + scale * KL. */
static double reparam_kl_loss(int B, int L, const double *mulv, const double *eps, const double *G, double scale) {
    double z[64];
    vs_reparam_forward_f64(B, L, mulv, eps, z);
    return dot(z, G, (size_t)B * L) + scale * vs_kl_forward_f64(B, L, mulv);
}

static void check_reparam_kl(void) {
    enum { B = 3, L = 4 };
    double mulv[B * 2 * L], eps[B * L], G[B * L], dmulv[B * 2 * L];
    fill(mulv, B * 2 * L, 0.7), fill(eps, B * L, 1), fill(G, B * L, 1);
    double scale = 0.37;
    vs_reparam_kl_backward_f64(B, L, mulv, eps, G, scale, dmulv);
    double worst = 0;
    for (int i = 0; i < B * 2 * L; i++) {
        double keep = mulv[i];
        mulv[i] = keep + H;
        double lp = reparam_kl_loss(B, L, mulv, eps, G, scale);
        mulv[i] = keep - H;
        double lm = reparam_kl_loss(B, L, mulv, eps, G, scale);
        mulv[i] = keep;
        worst = fmax(worst, rel_err(dmulv[i], (lp - lm) / (2 * H)));
    }
    CHECK_MSG(worst < TOL, "reparam+KL: worst relative error %g", worst);
    /* KL of N(0, 1) is zero; of N(1, e^0) it is 0.5 per dimension */
    double zero[2 * L] = {0}, one[2 * L] = {1, 1, 1, 1, 0, 0, 0, 0};
    CHECK_NEAR(vs_kl_forward_f64(1, L, zero), 0.0, 1e-15);
    CHECK_NEAR(vs_kl_forward_f64(1, L, one), 0.5 * L, 1e-12);
    /* at evaluation z = mu */
    double z[B * L];
    vs_reparam_forward_f64(B, L, mulv, NULL, z);
    CHECK(z[L + 1] == mulv[2 * L + 1]);
}

static double softmax_loss(int B, int N, const double *logits, const double *b, const int64_t *ptr,
                           const int32_t *idx) {
    double tmp[64], rl[8], s = 0;
    memcpy(tmp, logits, sizeof(double) * (size_t)B * N);
    vs_softmax_xent_f64(B, N, N, tmp, b, ptr, idx, 1.0 / B, rl);
    for (int r = 0; r < B; r++) s += rl[r];
    return s / B;
}

static void check_softmax_xent(void) {
    enum { B = 3, N = 7 };
    int64_t ptr[B + 1] = {0, 2, 3, 6};
    int32_t idx[6] = {1, 5, 0, 2, 3, 6};
    double logits[B * N], b[N], g[B * N], rl[B];
    fill(logits, B * N, 2), fill(b, N, 1);
    memcpy(g, logits, sizeof logits);
    vs_softmax_xent_f64(B, N, N, g, b, ptr, idx, 1.0 / B, rl);
    double rl_packed[B];
    memcpy(rl_packed, rl, sizeof rl);
    /* the loss against a direct computation */
    for (int r = 0; r < B; r++) {
        double mx = -INFINITY, se = 0, want = 0;
        for (int i = 0; i < N; i++) mx = fmax(mx, logits[r * N + i] + b[i]);
        for (int i = 0; i < N; i++) se += exp(logits[r * N + i] + b[i] - mx);
        for (int64_t k = ptr[r]; k < ptr[r + 1]; k++) want -= logits[r * N + idx[k]] + b[idx[k]] - mx - log(se);
        CHECK_NEAR(rl[r], want, 1e-12);
    }
    double worst = 0;
    for (int i = 0; i < B * N; i++) {
        double keep = logits[i];
        logits[i] = keep + H;
        double lp = softmax_loss(B, N, logits, b, ptr, idx);
        logits[i] = keep - H;
        double lm = softmax_loss(B, N, logits, b, ptr, idx);
        logits[i] = keep;
        worst = fmax(worst, rel_err(g[i], (lp - lm) / (2 * H)));
    }
    CHECK_MSG(worst < TOL, "softmax+xent: worst relative error %g", worst);
    /* numerically stable for huge logits */
    double big[N] = {1000, 999, -1000, 0, 0, 0, 0};
    int64_t p1[2] = {0, 1};
    int32_t i1[1] = {0};
    vs_softmax_xent_f64(1, N, N, big, NULL, p1, i1, 1.0, rl);
    CHECK(isfinite(rl[0]) && rl[0] > 0 && rl[0] < 1);
    /* rows `stride` apart, the columns past n masked: whatever they hold (here large
     * logits that would dominate the softmax), the losses and gradient are the packed
     * rows', and the padding's gradient is 0 */
    enum { S = N + 5 };
    double padded[B * S], pb[S], prl[B];
    for (int r = 0; r < B; r++) {
        memcpy(padded + r * S, logits + r * N, sizeof(double) * N);
        for (int i = N; i < S; i++) padded[r * S + i] = 50.0 + i;
    }
    memcpy(pb, b, sizeof b);
    for (int i = N; i < S; i++) pb[i] = 7.0;
    vs_softmax_xent_f64(B, N, S, padded, pb, ptr, idx, 1.0 / B, prl);
    int same = 1;
    for (int r = 0; r < B; r++) {
        same &= prl[r] == rl_packed[r];
        for (int i = 0; i < N; i++) same &= padded[r * S + i] == g[r * N + i];
        for (int i = N; i < S; i++) same &= padded[r * S + i] == 0.0;
    }
    CHECK_MSG(same, "the masked softmax differs from the packed one");
}

/* A small model on a small dataset, its loss as a function of the parameters. */
typedef struct {
    vs_model_shape shape;
    vs_ws_f64 ws;
    vs_csr data;
} small_model;

/* 1 where a parameter is item padding or an alignment gap (config item_pad). */
static char *padding_mask(const vs_model_shape *s) {
    char *mask = malloc(s->n_params);
    memset(mask, 1, s->n_params);
    for (int l = 0; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        for (int r = 0; r < L->in_used; r++) memset(mask + L->w + (size_t)r * L->out, 0, (size_t)L->out_used);
        memset(mask + L->b, 0, (size_t)L->out_used);
    }
    return mask;
}

/* With item_pad > 1 the padding starts at 0 (as the model keeps it), its finite
 * differences check the masking, its gradient must be exactly 0, and the loss must
 * equal the unpadded layout's with the same real parameters. */
static void check_whole_loss(double lambda, const int *hidden, int n_hidden, int item_pad) {
    enum { USERS = 5, ITEMS = 13 };
    static int64_t ptr[USERS + 1] = {0, 3, 7, 8, 12, 17};
    static int32_t idx[17] = {0, 4, 9, 1, 2, 3, 12, 5, 0, 6, 7, 11, 2, 3, 8, 10, 12};
    vs_config cfg;
    vs_config_default(&cfg);
    cfg.n_hidden = n_hidden;
    memcpy(cfg.hidden_dims, hidden, sizeof(int) * (size_t)n_hidden);
    cfg.latent_dim = 3;
    cfg.item_pad = item_pad;
    small_model m;
    vs_model_shape_init(&m.shape, ITEMS, &cfg);
    m.data = (vs_csr){USERS, ITEMS, ptr, idx};
    size_t n = m.shape.n_params;
    double *p = calloc(n, sizeof(double)), *g = calloc(n, sizeof(double));
    fill(p, n, 0.4);
    char *pad = padding_mask(&m.shape);
    for (size_t i = 0; i < n; i++)
        if (pad[i]) p[i] = 0;
    int32_t users[4] = {4, 0, 2, 3};
    vs_ws_init_f64(&m.ws, &m.shape, 4, 4);
    vs_batch_build_f64(&m.ws, &m.shape, &m.data, users, 4, 17, 12345, 0.6, 1);
    double beta = 0.3;
    vs_step_losses l = vs_model_loss_grad_f64(&m.ws, &m.shape, p, g, beta, lambda);
    CHECK_NEAR(l.loss, l.neg_ll + beta * l.kl + l.l2, 1e-12);
    double worst = 0;
    size_t worst_i = 0;
    double *scratch = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + H;
        double lp = vs_model_loss_grad_f64(&m.ws, &m.shape, p, scratch, beta, lambda).loss;
        p[i] = keep - H;
        double lm = vs_model_loss_grad_f64(&m.ws, &m.shape, p, scratch, beta, lambda).loss;
        p[i] = keep;
        /* The central difference carries rounding noise of about eps * |loss| / H
         * (1e-9 here), which alone exceeds 1e-5 of the smallest gradients: those are held
         * to that absolute noise, ten times over, instead of to a relative error. */
        double noise = 10 * DBL_EPSILON * fabs(l.loss) / H;
        double e = fabs(g[i] - (lp - lm) / (2 * H)) / fmax(noise / 1e-5, fabs(g[i]) + fabs((lp - lm) / (2 * H)));
        if (e > worst) worst = e, worst_i = i;
    }
    CHECK_MSG(worst < 1e-5,
              "whole loss (lambda %g, %d hidden layers, item_pad %d): worst relative error %g at parameter %zu of %zu",
              lambda, n_hidden, item_pad, worst, worst_i, n);
    if (item_pad > 1) {
        int pad_grad_zero = 1;
        for (size_t i = 0; i < n; i++) pad_grad_zero &= !pad[i] || g[i] == 0.0;
        CHECK_MSG(pad_grad_zero, "item_pad %d: the padding got a gradient", item_pad);
        /* the unpadded layout, the same real parameters: the same loss */
        vs_config plain = cfg;
        plain.item_pad = 1;
        vs_model_shape ps;
        vs_model_shape_init(&ps, ITEMS, &plain);
        double *pp = calloc(ps.n_params, sizeof(double)), *pg = calloc(ps.n_params, sizeof(double));
        for (int li = 0; li < vs_model_n_layers(&ps); li++) {
            const vs_layer *F = vs_model_layer(&m.shape, li, NULL, NULL), *T = vs_model_layer(&ps, li, NULL, NULL);
            for (int r = 0; r < F->in_used; r++)
                memcpy(pp + T->w + (size_t)r * T->out, p + F->w + (size_t)r * F->out, sizeof(double) * (size_t)F->out_used);
            memcpy(pp + T->b, p + F->b, sizeof(double) * (size_t)F->out_used);
        }
        vs_ws_f64 pw;
        vs_ws_init_f64(&pw, &ps, 4, 4);
        vs_batch_build_f64(&pw, &ps, &m.data, users, 4, 17, 12345, 0.6, 1);
        vs_step_losses lp = vs_model_loss_grad_f64(&pw, &ps, pp, pg, beta, lambda);
        CHECK_NEAR(lp.loss, l.loss, 1e-12 * fabs(l.loss));
        vs_ws_free_f64(&pw);
        free(pp), free(pg);
    }
    free(pad);

    /* the float code computes the same loss and gradient */
    float *pf = malloc(n * sizeof(float)), *gf = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) pf[i] = (float)p[i];
    for (size_t i = 0; i < n; i++) p[i] = pf[i];
    l = vs_model_loss_grad_f64(&m.ws, &m.shape, p, g, beta, lambda);
    vs_ws_f32 wf;
    vs_ws_init_f32(&wf, &m.shape, 4, 4);
    vs_batch_build_f32(&wf, &m.shape, &m.data, users, 4, 17, 12345, 0.6, 1);
    vs_step_losses lf = vs_model_loss_grad_f32(&wf, &m.shape, pf, gf, beta, lambda);
    CHECK_NEAR(lf.loss, l.loss, 1e-5 * fabs(l.loss));
    double gworst = 0, gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    for (size_t i = 0; i < n; i++) gworst = fmax(gworst, fabs(gf[i] - g[i]) / gmax);
    CHECK_MSG(gworst < 1e-5, "float vs double gradient: worst error %g of the largest", gworst);
    vs_ws_free_f32(&wf);
    free(pf), free(gf), free(p), free(g), free(scratch);
    vs_ws_free_f64(&m.ws);
}

/* The batch: rows L2-normalised, dropout scaled by 1/keep, and the draws a pure
 * function of (seed, step, user, item). */
static void check_batch(void) {
    enum { USERS = 2, ITEMS = 40 };
    int64_t ptr[3] = {0, 30, 34};
    int32_t idx[34];
    for (int i = 0; i < 30; i++) idx[i] = i;
    for (int i = 0; i < 4; i++) idx[30 + i] = 10 * i;
    vs_csr data = {USERS, ITEMS, ptr, idx};
    vs_config cfg;
    vs_config_default(&cfg);
    cfg.hidden_dims[0] = 4, cfg.latent_dim = 2;
    vs_model_shape s;
    vs_model_shape_init(&s, ITEMS, &cfg);
    vs_ws_f64 a, b;
    vs_ws_init_f64(&a, &s, 2, 1);
    vs_ws_init_f64(&b, &s, 2, 1);
    int32_t u01[2] = {0, 1}, u10[2] = {1, 0};
    vs_batch_build_f64(&a, &s, &data, u01, 2, 5, 99, 1.0, 0);
    CHECK(a.batch.in_ptr[1] == 30 && a.batch.in_ptr[2] == 34);
    CHECK_NEAR(a.batch.in_val[0], 1 / sqrt(30.0), 1e-15);
    CHECK_NEAR(a.batch.in_val[31], 0.5, 1e-15);
    vs_batch_build_f64(&a, &s, &data, u01, 2, 5, 99, 0.5, 1);
    vs_batch_build_f64(&b, &s, &data, u10, 2, 5, 99, 0.5, 1);
    int64_t kept0 = a.batch.in_ptr[1];
    CHECK(kept0 > 5 && kept0 < 25);
    CHECK_NEAR(a.batch.in_val[0], 2 / sqrt(30.0), 1e-15);
    /* user 0's mask and noise do not depend on where it sits in the batch */
    int same = b.batch.in_ptr[2] - b.batch.in_ptr[1] == kept0;
    for (int64_t k = 0; same && k < kept0; k++) same = b.batch.in_idx[b.batch.in_ptr[1] + k] == a.batch.in_idx[k];
    CHECK(same);
    CHECK(a.batch.eps[0] == b.batch.eps[2] && a.batch.eps[1] == b.batch.eps[3]);
    /* each kept item is the one the stream says: draw (seed, step, user, item) directly */
    uint32_t thr = vs_keep_threshold(0.5f);
    int64_t k = 0, agree = 1;
    for (int i = 0; i < 30; i++) {
        int keep = vs_stream_at(99, VS_RNG_DROPOUT, 5, 0, (uint64_t)i) < thr;
        if (keep) agree &= k < kept0 && a.batch.in_idx[k++] == i;
    }
    CHECK(agree && k == kept0);
    /* another step gives another mask */
    vs_batch_build_f64(&b, &s, &data, u01, 2, 6, 99, 0.5, 1);
    int differs = b.batch.in_ptr[1] != kept0;
    for (int64_t j = 0; !differs && j < kept0; j++) differs = b.batch.in_idx[j] != a.batch.in_idx[j];
    CHECK(differs);
    vs_ws_free_f64(&a);
    vs_ws_free_f64(&b);
}

static void check_adam(void) {
    double p[2] = {1.0, -2.0}, g[2] = {0.5, -0.1}, m[2] = {0}, v[2] = {0};
    vs_adam_f64(2, p, g, m, v, 0.01, 0.9, 0.999, 1e-8, 1);
    /* first step: m_hat = g, v_hat = g^2, so the update is lr * sign(g) (up to eps) */
    CHECK_NEAR(p[0], 1.0 - 0.01, 1e-9);
    CHECK_NEAR(p[1], -2.0 + 0.01, 1e-9);
    /* second step by hand */
    double g2[2] = {0.2, 0.3};
    double m0 = 0.9 * m[0] + 0.1 * 0.2, v0 = 0.999 * v[0] + 0.001 * 0.04;
    double want = p[0] - 0.01 * (m0 / (1 - 0.81)) / (sqrt(v0 / (1 - 0.999 * 0.999)) + 1e-8);
    vs_adam_f64(2, p, g2, m, v, 0.01, 0.9, 0.999, 1e-8, 2);
    CHECK_NEAR(p[0], want, 1e-12);
}

int main(void) {
    rng = vs_stream(7, 99, 0, 0);
    check_linear();
    check_sparse_linear();
    check_tanh();
    check_reparam_kl();
    check_softmax_xent();
    check_batch();
    check_adam();
    int one[1] = {7}, two[2] = {8, 6};
    check_whole_loss(0.0, one, 1, 1);
    check_whole_loss(0.05, one, 1, 1);
    check_whole_loss(0.0, two, 2, 1);
    check_whole_loss(0.0, NULL, 0, 1);
    check_whole_loss(0.05, one, 1, 8);    /* item_pad: 13 items in 16 columns */
    check_whole_loss(0.0, two, 2, 64);   /* 64 columns, blocks 64-float aligned */
    return test_finish();
}
