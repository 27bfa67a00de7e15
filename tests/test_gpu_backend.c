/* test_gpu_backend (label gpu): single steps of the CUDA backend against the CPU
 * backend, short enough to run under compute-sanitizer's memcheck (scripts/gpu-check.sh).
 * On the `small` synthetic preset unless said otherwise:
 *   1. one step's losses and gradient against the CPU's fp32: fp32 within 1e-5 (losses)
 *      and 1e-4 of each tensor's largest |g| (every element), with and without the L2
 *      penalty; tf32, bf16 and fp16 within 2e-2 (losses, and each tensor's gradient
 *      in norm: |g - g_cpu| / |g_cpu|)
 *   2. other shapes in fp32: no hidden layer, two hidden layers on a partial batch; and
 *      an odd one, 601 items, batch 1111, two hidden layers (tails, unaligned rows),
 *      in fp32, bf16 and fp16
 *   3. one train_step from the same state (set_state: perturbed weights, non-zero Adam
 *      moments): parameters within 1e-6 of each tensor's largest |p|, both moments
 *      within the gradient's 1e-4
 *   4. evaluate with eval_batch_size below the users (several chunks) on the same
 *      weights: the CPU's top-100 except where two scores are within float noise, never
 *      a fold-in item, sums equal to the metrics of the GPU's own lists, and the CPU
 *      backend's sums within 1e-6 where the lists agree; then the test set and the
 *      validation set again on the same backend (buffers kept between calls): the same sums
 *   5. fp16 loss-scale growth: x2 after loss_scale_growth_interval good steps
 *   6. fp16 whose forward pass overflows (z past 65504): train_step fails saying that the
 *      loss scale cannot help; the same state trains in bf16
 *   7. the precision really ran: each dense layer's forward product, on the backend's own
 *      path (vs_cuda_backend_dense_product), for inputs whose exact sums differ in
 *      fp32, tf32 (10-bit inputs), bf16 (7-bit) and fp16 (10-bit, with subnormals below
 *      2^-14), equals to the bit the sums of the inputs rounded as its precision rounds
 *      them and no other: a silent fp32 fallback (or tf32 for fp16) fails
 *   8. the first layer's weight gradient (by_item.cuh) from a given dy: the compacted
 *      input equals the CPU's batch (kept entries only) and dW1 equals, to the bit, the
 *      terms of batch_by_item's groups added in row order with fused multiply-adds;
 *      twice, the same bits
 *   9. 16-bit evaluation (tf32, bf16, fp16): the scores against the CPU's within the
 *      precision's rounding, and 4.'s checks with that rounding as the noise
 * Skipped (77) without a CUDA build or a GPU; failed then when VS_REQUIRE_GPU=1. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "common/pcg.h"
#include "trainer/batch_by_item.h"
#include "trainer/cpu/cpu_layers.h"
#include "trainer/train.h"

#ifdef VS_HAVE_CUDA

static vs_dataset ds;
static int32_t *perm;

static void base_config(vs_config *cfg) {
    vs_config_default(cfg);
    cfg->batch_size = 500;
    cfg->total_anneal_steps = 0;   /* beta = anneal_cap = 0.2 from the start: the KL term counts */
}

/* 1, 2. One step's losses and gradient on `rows` users of data d, CPU fp32 against the
 * GPU in each of the given precisions. */
static void check_step_gradients(const vs_dataset *d, const vs_config *base, int rows, int64_t step,
                                 const vs_precision *precs, int n_precs, const char *label) {
    vs_backend *cpu = gpu_test_backend("cpu", base, d);
    const vs_model_shape *s = &cpu->shape;
    size_t n = s->n_params;
    float *g_cpu = malloc(n * sizeof(float)), *g_gpu = malloc(n * sizeof(float));
    int32_t *users = malloc(sizeof(int32_t) * (size_t)d->train.rows);
    vs_error err = {{0}};
    vs_epoch_permutation(users, d->train.rows, base->seed, 3);
    if (rows > d->train.rows) rows = (int)d->train.rows;
    vs_step_losses lc;
    for (int i = 0; i < n_precs; i++) {
        vs_config cfg = *base;
        cfg.precision = precs[i];
        const char *p = vs_precision_name(cfg.precision);
        vs_backend *gpu = gpu_test_backend("cuda", &cfg, d);
        /* both initialise from the seed: the same parameters, bit for bit */
        CHECK_OK(gpu->ops->get_state(gpu, g_gpu, NULL, NULL, &err), &err);
        CHECK_OK(cpu->ops->get_state(cpu, g_cpu, NULL, NULL, &err), &err);
        CHECK_MSG(!memcmp(g_cpu, g_gpu, n * sizeof(float)), "%s %s: initial parameters differ", label, p);
        CHECK_OK(cpu->ops->loss_and_grad(cpu, users, rows, step, 0.2, &lc, g_cpu, &err), &err);
        vs_step_losses lg;
        CHECK_OK(gpu->ops->loss_and_grad(gpu, users, rows, step, 0.2, &lg, g_gpu, &err), &err);
        printf("%s, %s, %d rows: loss cpu %.8f gpu %.8f; neg_ll %.8f / %.8f; kl %.8f / %.8f; l2 %.8g / %.8g\n", label,
               p, rows, lc.loss, lg.loss, lc.neg_ll, lg.neg_ll, lc.kl, lg.kl, lc.l2, lg.l2);
        CHECK_MSG(all_finite(g_gpu, n), "%s %s: the gradient is not finite", label, p);
        if (cfg.precision == VS_FP32) {
            tensor_diffs worst = compare_tensors(s, g_cpu, g_gpu, p);
            CHECK_MSG(rel(lg.loss, lc.loss) < 1e-5, "%s: loss %.10g vs %.10g", label, lg.loss, lc.loss);
            CHECK_MSG(rel(lg.neg_ll, lc.neg_ll) < 1e-5, "%s: neg_ll %.10g vs %.10g", label, lg.neg_ll, lc.neg_ll);
            CHECK_MSG(rel(lg.kl, lc.kl) < 1e-5, "%s: kl %.10g vs %.10g", label, lg.kl, lc.kl);
            if (cfg.lambda > 0) CHECK_MSG(rel(lg.l2, lc.l2) < 1e-5, "%s: l2 %.10g vs %.10g", label, lg.l2, lc.l2);
            CHECK_MSG(worst.max < 1e-4, "%s fp32: gradient differs by %.3e of its tensor's largest element", label,
                      worst.max);
        } else {
            /* tf32 rounds the products' inputs to 10-bit mantissas, bf16 to 7, fp16 to 10:
             * element by element, and row by row and column by column (test_gpu.h) */
            grad_diffs worst = compare_grads(s, g_cpu, g_gpu, p), tol = grad_tolerance(cfg.precision);
            CHECK_MSG(rel(lg.loss, lc.loss) < 2e-2, "%s %s: loss %.8g vs fp32 %.8g", label, p, lg.loss, lc.loss);
            CHECK_MSG(worst.element < tol.element && worst.line < tol.line,
                      "%s %s: gradient differs from fp32's by %.3e element-wise (tolerance %.3g), %.3e in a row or "
                      "column (%.3g)",
                      label, p, worst.element, tol.element, worst.line, tol.line);
        }
        vs_backend_destroy(gpu);
    }
    free(g_cpu), free(g_gpu), free(users);
    vs_backend_destroy(cpu);
}

/* A state both backends can be given: the seed's weights plus uniform(-0.05, 0.05) (so
 * no tensor is all zeros, biases included), m in (-1e-3, 1e-3), v in (1e-4, 2e-4). */
static void perturbed_state(vs_backend *b, float *p, float *m, float *v) {
    vs_error err = {{0}};
    size_t n = b->shape.n_params;
    CHECK_OK(b->ops->get_state(b, p, NULL, NULL, &err), &err);
    vs_pcg32 g = vs_stream(11, 99, 1, 0);
    for (size_t i = 0; i < n; i++) {
        p[i] += (float)(0.1 * vs_pcg32_unit_double(&g) - 0.05);
        m[i] = (float)(2e-3 * vs_pcg32_unit_double(&g) - 1e-3);
        v[i] = (float)(1e-4 + 1e-4 * vs_pcg32_unit_double(&g));
    }
}

/* 3. One Adam step on both from the same state. */
static void check_train_step(void) {
    vs_config cfg;
    base_config(&cfg);
    vs_backend *cpu = gpu_test_backend("cpu", &cfg, &ds), *gpu = gpu_test_backend("cuda", &cfg, &ds);
    size_t n = cpu->shape.n_params;
    float *p = malloc(n * sizeof(float)), *m = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    float *pg = malloc(n * sizeof(float)), *mg = malloc(n * sizeof(float)), *vg = malloc(n * sizeof(float));
    vs_error err = {{0}};
    perturbed_state(cpu, p, m, v);
    CHECK_OK(cpu->ops->set_state(cpu, p, m, v, &err), &err);
    CHECK_OK(gpu->ops->set_state(gpu, p, m, v, &err), &err);
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 1);
    int rows = ds.train.rows < 500 ? (int)ds.train.rows : 500;
    vs_step_losses lc, lg;
    CHECK_OK(cpu->ops->train_step(cpu, perm, rows, 9, 0.2, &lc, &err), &err);
    CHECK_OK(gpu->ops->train_step(gpu, perm, rows, 9, 0.2, &lg, &err), &err);
    CHECK_OK(cpu->ops->get_state(cpu, p, m, v, &err), &err);
    CHECK_OK(gpu->ops->get_state(gpu, pg, mg, vg, &err), &err);
    printf("train_step 9: loss cpu %.8f gpu %.8f\n", lc.loss, lg.loss);
    double dp = compare_tensors(&cpu->shape, p, pg, "parameters").max;
    double dm = compare_tensors(&cpu->shape, m, mg, "Adam m").max;
    double dv = compare_tensors(&cpu->shape, v, vg, "Adam v").max;
    CHECK_MSG(dp < 1e-6, "parameters after the step differ by %.3e of a tensor's largest", dp);
    CHECK_MSG(dm < 1e-4, "Adam's first moment differs by %.3e of a tensor's largest", dm);
    CHECK_MSG(dv < 1e-4, "Adam's second moment differs by %.3e of a tensor's largest", dv);
    free(p), free(m), free(v), free(pg), free(mg), free(vg);
    vs_backend_destroy(cpu);
    vs_backend_destroy(gpu);
}

/* The CPU's scores for the rows of fold_in (rows x n_items) with parameters p. */
static float *cpu_scores(const vs_model_shape *s, const float *p, const vs_csr *fold_in) {
    int rows = (int)fold_in->rows;
    vs_ws_f32 ws;
    vs_ws_init_f32(&ws, s, rows, vs_csr_nnz(fold_in) + 1);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)rows);
    for (int r = 0; r < rows; r++) idx[r] = r;
    vs_batch_build_f32(&ws, s, fold_in, idx, rows, 0, 0, 1.0, 0);
    vs_model_forward_f32(&ws, s, p, 1);
    float *scores = malloc(sizeof(float) * (size_t)rows * s->n_items);
    memcpy(scores, ws.act[s->n_enc + s->n_dec - 1], sizeof(float) * (size_t)rows * s->n_items);
    vs_ws_free_f32(&ws);
    free(idx);
    return scores;
}

static int in_row(const vs_csr *m, int64_t r, int32_t item) {
    for (int64_t k = m->indptr[r]; k < m->indptr[r + 1]; k++)
        if (m->indices[k] == item) return 1;
    return 0;
}

/* How far a precision moves a score, relative to its row's largest |score|: fp32 float
 * noise; tf32, bf16, fp16 about three times the worst bench/precision_emulation.py found
 * (8.6e-4, 8.3e-3, 8.6e-4). Two items whose CPU scores are closer than twice this may
 * trade places in a top-100. */
static double score_tolerance(vs_precision p) { return p == VS_FP32 ? 1e-5 : p == VS_BF16 ? 3e-2 : 3e-3; }

/* 4, 9. evaluate in chunks, on data d (its validation users), in base's precision. */
static void check_evaluate_chunks(const vs_dataset *d, const vs_config *base, const char *label) {
    vs_config cfg = *base;
    const vs_csr *in = &d->val_in, *tg = &d->val_out;
    double tol = score_tolerance(cfg.precision);
    vs_config cpu_cfg = cfg;
    cpu_cfg.precision = VS_FP32;   /* the CPU computes in fp32 only */
    vs_backend *cpu = gpu_test_backend("cpu", &cpu_cfg, d), *gpu = gpu_test_backend("cuda", &cfg, d);
    const vs_model_shape *s = &cpu->shape;
    size_t n = s->n_params;
    int rows = (int)in->rows, K = VS_METRICS_TOPK;
    int cap = cfg.batch_size > cfg.eval_batch_size ? cfg.batch_size : cfg.eval_batch_size;
    float *p = malloc(n * sizeof(float)), *m = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    vs_error err = {{0}};
    perturbed_state(cpu, p, m, v);
    CHECK_OK(cpu->ops->set_state(cpu, p, NULL, NULL, &err), &err);
    CHECK_OK(gpu->ops->set_state(gpu, p, NULL, NULL, &err), &err);

    int32_t *gpu_top = malloc(sizeof(int32_t) * (size_t)rows * K), *cpu_top = malloc(sizeof(int32_t) * (size_t)K);
    vs_metric_sums gs = {0}, cs = {0}, from_lists = {0};
    CHECK_OK(vs_cuda_backend_evaluate_topk(gpu, in, tg, &gs, gpu_top, &err), &err);
    CHECK_OK(cpu->ops->evaluate(cpu, in, tg, &cs, &err), &err);
    float *sc = cpu_scores(s, p, in);
    /* the scores themselves, for the rows of one chunk */
    int n_sc = rows < cap ? rows : cap;
    float *gsc = malloc(sizeof(float) * (size_t)n_sc * s->n_items);
    CHECK_OK(vs_cuda_backend_scores(gpu, in, n_sc, gsc, &err), &err);
    double worst_score = 0;
    for (int r = 0; r < n_sc; r++) {
        double rowmax = 0, d = 0;
        for (int i = 0; i < s->n_items; i++) {
            size_t at = (size_t)r * s->n_items + i;
            rowmax = fmax(rowmax, fabs(sc[at]));
            d = fmax(d, fabs((double)gsc[at] - sc[at]));
        }
        worst_score = fmax(worst_score, d / fmax(rowmax, 1e-30));
    }
    printf("%s %s: scores of %d users differ from the CPU's by up to %.3e of a row's largest (tolerance %.1e)\n",
           label, vs_precision_name(cfg.precision), n_sc, worst_score, tol);
    CHECK_MSG(worst_score <= tol, "%s %s: scores differ from the CPU's by %.3e of a row's largest", label,
              vs_precision_name(cfg.precision), worst_score);
    free(gsc);
    int64_t swapped = 0, rows_swapped = 0, wrong = 0, excluded = 0;
    for (int r = 0; r < rows; r++) {
        const float *row = sc + (size_t)r * s->n_items;
        double rowmax = 0;
        for (int i = 0; i < s->n_items; i++) rowmax = fmax(rowmax, isfinite(row[i]) ? fabs(row[i]) : 0);
        const int32_t *gt = gpu_top + (size_t)r * K;
        vs_topk_row(row, s->n_items, in->indices + in->indptr[r], in->indptr[r + 1] - in->indptr[r], K, cpu_top);
        int row_swaps = 0;
        for (int k = 0; k < K; k++) {
            if (gt[k] >= 0 && in_row(in, r, gt[k])) excluded++;
            if (gt[k] == cpu_top[k]) continue;
            /* a swap of scores closer than the precision's noise is allowed; anything else is wrong */
            double a = cpu_top[k] >= 0 ? row[cpu_top[k]] : -INFINITY, b = gt[k] >= 0 ? row[gt[k]] : -INFINITY;
            double noise = cfg.precision == VS_FP32 ? 1e-5 * (1.0 + fabs(a)) : 2 * tol * rowmax;
            if (isfinite(a) && isfinite(b) && fabs(a - b) <= noise) row_swaps++;
            else wrong++;
        }
        swapped += row_swaps;
        rows_swapped += row_swaps > 0;
        vs_metric_sums one = {0};
        vs_metrics_add_user(&one, gt, tg->indices + tg->indptr[r], tg->indptr[r + 1] - tg->indptr[r]);
        vs_metric_sums_merge(&from_lists, &one);
    }
    printf("%s %s evaluate: %d users in %d chunks of %d; %lld near-tie swaps in %lld rows; ndcg@100 sum cpu %.12f "
           "gpu %.12f\n",
           label, vs_precision_name(cfg.precision), rows, (rows + cap - 1) / cap, cap, (long long)swapped,
           (long long)rows_swapped, cs.ndcg100, gs.ndcg100);
    CHECK_MSG((rows + cap - 1) / cap > 1, "%s: %d users fit one chunk of %d: nothing tested", label, rows, cap);
    CHECK_MSG(wrong == 0, "%s: %lld ranked items differ from the CPU's beyond float noise", label, (long long)wrong);
    CHECK_MSG(excluded == 0, "%s: %lld fold-in items ranked", label, (long long)excluded);
    CHECK(gs.users == from_lists.users && gs.users == cs.users && gs.users > 0);
    CHECK_NEAR(gs.ndcg100, from_lists.ndcg100, 1e-12);
    CHECK_NEAR(gs.recall20, from_lists.recall20, 1e-12);
    CHECK_NEAR(gs.recall50, from_lists.recall50, 1e-12);
    /* each swapped row can move its user's metrics (each at most 1) */
    double allowed = 1e-6 + (double)rows_swapped;
    CHECK_NEAR(gs.ndcg100, cs.ndcg100, allowed);
    CHECK_NEAR(gs.recall20, cs.recall20, allowed);
    CHECK_NEAR(gs.recall50, cs.recall50, allowed);
    /* the held-out buffers are kept between calls: the test set (another size), then the
     * validation set again, which must give the first call's sums exactly */
    vs_metric_sums test_sums = {0}, again = {0};
    CHECK_OK(gpu->ops->evaluate(gpu, &d->test_in, &d->test_out, &test_sums, &err), &err);
    CHECK_OK(gpu->ops->evaluate(gpu, in, tg, &again, &err), &err);
    CHECK(test_sums.users > 0);
    CHECK_MSG(again.users == gs.users && again.ndcg100 == gs.ndcg100 && again.recall20 == gs.recall20 &&
                  again.recall50 == gs.recall50,
              "%s: evaluating the validation set again gives ndcg@100 sum %.17g, first %.17g", label, again.ndcg100,
              gs.ndcg100);
    free(p), free(m), free(v), free(gpu_top), free(cpu_top), free(sc);
    vs_backend_destroy(cpu);
    vs_backend_destroy(gpu);
}

/* 5. The scale doubles after growth_interval finite steps in a row. */
static void check_loss_scale_growth(void) {
    vs_config cfg;
    base_config(&cfg);
    cfg.precision = VS_FP16;
    cfg.loss_scale = 1024;
    cfg.loss_scale_growth_interval = 3;
    vs_backend *b = gpu_test_backend("cuda", &cfg, &ds);
    vs_loss_scaler *sc = b->ops->loss_scaler(b);
    CHECK(sc != NULL);
    if (!sc) return;
    vs_error err = {{0}};
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 0);
    double seen[6];
    for (int k = 0; k < 6; k++) {
        vs_step_losses l;
        CHECK_OK(b->ops->train_step(b, perm + (size_t)k * 100, 100, k, 0.2, &l, &err), &err);
        seen[k] = sc->scale;
    }
    printf("fp16 loss scale after steps 1..6: %g %g %g %g %g %g (%lld skipped)\n", seen[0], seen[1], seen[2], seen[3],
           seen[4], seen[5], (long long)sc->skipped_steps);
    CHECK(sc->skipped_steps == 0);
    CHECK(seen[0] == 1024 && seen[1] == 1024 && seen[2] == 2048 && seen[4] == 2048 && seen[5] == 4096);
    vs_backend_destroy(b);
}

/* 6. A forward pass past fp16's range: z = mu = 70000 (the encoder's output bias). */
static void check_fp16_forward_overflow(void) {
    vs_config cfg;
    base_config(&cfg);
    vs_backend *ref = gpu_test_backend("cpu", &cfg, &ds);
    const vs_model_shape *s = &ref->shape;
    size_t n = s->n_params;
    float *p = malloc(n * sizeof(float));
    vs_error err = {{0}};
    CHECK_OK(ref->ops->get_state(ref, p, NULL, NULL, &err), &err);
    const vs_layer *mulv = &s->enc[s->n_enc - 1];
    for (int j = 0; j < s->latent; j++) p[mulv->b + j] = 70000.0f;   /* mu; logvar untouched */
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 0);
    static const vs_precision precs[] = {VS_FP16, VS_BF16};
    for (int i = 0; i < 2; i++) {
        vs_config c = cfg;
        c.precision = precs[i];
        vs_backend *b = gpu_test_backend("cuda", &c, &ds);
        CHECK_OK(b->ops->set_state(b, p, NULL, NULL, &err), &err);
        vs_step_losses l;
        memset(&err, 0, sizeof err);
        int rc = b->ops->train_step(b, perm, 200, 0, 0.2, &l, &err);
        printf("%s with z = 70000: rc %d, %s\n", vs_precision_name(c.precision), rc, rc ? err.msg : "trained");
        if (c.precision == VS_FP16) {
            CHECK(rc == -1);
            CHECK_MSG(strstr(err.msg, "forward pass overflowed") && strstr(err.msg, "latent code z") &&
                          strstr(err.msg, "65504") && strstr(err.msg, "cannot help"),
                      "unclear fp16 overflow error: %s", err.msg);
        } else {
            CHECK(rc == 0 && isfinite(l.loss));
        }
        vs_backend_destroy(b);
    }
    free(p);
    vs_backend_destroy(ref);
}

/* 8. dW1 from a given dy against batch_by_item's groups, in row order with fmaf. */
static void check_first_layer_grad(void) {
    vs_config cfg;
    base_config(&cfg);   /* keep_prob 0.5: the compaction has entries to drop */
    vs_backend *gpu = gpu_test_backend("cuda", &cfg, &ds);
    const vs_model_shape *s = &gpu->shape;
    int rows = ds.train.rows < 500 ? (int)ds.train.rows : 500, out = s->enc[0].out, items = s->n_items;
    int64_t step = 6;
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 2);
    vs_ws_f32 ws;
    vs_ws_init_f32(&ws, s, rows, vs_csr_nnz(&ds.train) + 1);
    vs_batch_build_f32(&ws, s, &ds.train, perm, rows, step, cfg.seed, cfg.keep_prob, 1);
    const int64_t *ptr = ws.batch.in_ptr;
    int64_t kept = ptr[rows];
    float *dy = malloc(sizeof(float) * (size_t)rows * out);
    vs_pcg32 g = vs_stream(3, 99, 8, 0);
    for (size_t i = 0; i < (size_t)rows * out; i++) dy[i] = (float)(2 * vs_pcg32_unit_double(&g) - 1);
    size_t n_dw = (size_t)items * out;
    float *dw = malloc(sizeof(float) * n_dw), *again = malloc(sizeof(float) * n_dw);
    float *ref = calloc(n_dw, sizeof(float)), *gval = malloc(sizeof(float) * (size_t)(kept + 1));
    int64_t *gptr = malloc(sizeof(int64_t) * (size_t)(rows + 1));
    int32_t *gidx = malloc(sizeof(int32_t) * (size_t)(kept + 1));
    vs_error err = {{0}};
    CHECK_OK(vs_cuda_backend_first_layer_grad(gpu, perm, rows, step, dy, gptr, gidx, gval, dw, &err), &err);
    CHECK_MSG(!memcmp(gptr, ptr, sizeof(int64_t) * (size_t)(rows + 1)) &&
                  !memcmp(gidx, ws.batch.in_idx, sizeof(int32_t) * (size_t)kept) &&
                  !memcmp(gval, ws.batch.in_val, sizeof(float) * (size_t)kept),
              "the GPU's compacted input differs from the CPU's batch (%lld kept entries there, %lld here)",
              (long long)kept, (long long)gptr[rows]);
    CHECK_MSG(kept < vs_csr_nnz(&ds.train) && kept > 0, "%lld kept entries", (long long)kept);
    vs_batch_by_item view = {0};
    vs_batch_by_item_build(&view, rows, ptr, ws.batch.in_idx, items);
    for (int gi = 0; gi < view.n_groups; gi++)
        for (int c = 0; c < out; c++) {
            float acc = 0;
            for (int64_t k = view.group_ptr[gi]; k < view.group_ptr[gi + 1]; k++)
                acc = fmaf(ws.batch.in_val[view.entry[k]], dy[(size_t)view.row[k] * out + c], acc);
            ref[(size_t)view.item[gi] * out + c] = acc;
        }
    size_t differ = 0;
    for (size_t i = 0; i < n_dw; i++) differ += memcmp(&ref[i], &dw[i], sizeof(float)) != 0;
    printf("first layer's weight gradient: %d rows, %lld kept entries, %d items: %zu of %zu elements differ from "
           "batch_by_item's order\n",
           rows, (long long)kept, view.n_groups, differ, n_dw);
    CHECK_MSG(differ == 0, "dW1: %zu elements differ from the terms in row order", differ);
    CHECK_OK(vs_cuda_backend_first_layer_grad(gpu, perm, rows, step, dy, gptr, gidx, gval, again, &err), &err);
    CHECK_MSG(!memcmp(dw, again, sizeof(float) * n_dw), "dW1 differs between two runs of the same batch");
    vs_batch_by_item_free(&view);
    vs_ws_free_f32(&ws);
    free(dy), free(dw), free(again), free(ref), free(gval), free(gptr), free(gidx);
    vs_backend_destroy(gpu);
}

/* 7. The value a product reads in precision p: x rounded to nearest as the tensor cores
 * (tf32) or the backend's cast (bf16, fp16) round it; the probe's values never tie. */
static double product_input(float x, vs_precision p) {
    if (p == VS_FP32) return x;
    if (p == VS_FP16 && fabsf(x) < 0x1p-14f) return nearbyint(x / 0x1p-24) * 0x1p-24;   /* subnormal grid */
    int e, bits = p == VS_BF16 ? 7 : 10;
    double m = frexp(x, &e), scale = ldexp(1.0, bits + 1);
    return ldexp(nearbyint(m * scale) / scale, e);
}

static void check_products_precision(void) {
    static const vs_precision all[] = {VS_FP32, VS_TF32, VS_BF16, VS_FP16};
    vs_config cfg;
    base_config(&cfg);
    int rows = cfg.batch_size;
    vs_backend *b[4];
    for (int i = 0; i < 4; i++) {
        vs_config c = cfg;
        c.precision = all[i];
        b[i] = gpu_test_backend("cuda", &c, &ds);
    }
    const vs_model_shape *s = &b[0]->shape;
    vs_pcg32 g = vs_stream(21, 99, 7, 0);
    vs_error err = {{0}};
    for (int l = 1; l < vs_model_n_layers(s); l++) {
        const vs_layer *L = vs_model_layer(s, l, NULL, NULL);
        size_t nx = (size_t)rows * L->in, nw = (size_t)L->in * L->out, ny = (size_t)rows * L->out;
        float *x = malloc(nx * sizeof(float)), *W = malloc(nw * sizeof(float)), *y = malloc(ny * sizeof(float));
        float *want[4];
        /* x = +-q (1 + s1 2^-9 + s2 2^-12), q 1 or 1.5, in rows of scale 1 and rows of
         * scale 2^-20 (fp16's subnormals); W in {-1, 0, 1}: every partial sum is exact in
         * fp32, whatever order cuBLAS adds in (at most 600 terms: 23 bits) */
        for (size_t k = 0; k < nx; k++) {
            uint32_t r = vs_pcg32_next(&g);
            double q = (r & 1 ? 1.5 : 1.0) * (r & 2 ? -1 : 1);
            double v = q * (1 + (r & 4 ? 0x1p-9 : 0) + (r & 8 ? 0x1p-12 : 0));
            x[k] = (float)((k / (size_t)L->in) % 2 ? v * 0x1p-20 : v);
        }
        for (size_t k = 0; k < nw; k++) W[k] = (float)((int)vs_pcg32_bounded(&g, 3) - 1);
        CHECK_MSG(L->in <= 600, "layer %d: %d inputs: the probe's sums may round", l, L->in);
        for (int p = 0; p < 4; p++) {
            want[p] = malloc(ny * sizeof(float));
            for (int r = 0; r < rows; r++)
                for (int col = 0; col < L->out; col++) {
                    double sum = 0;
                    for (int k = 0; k < L->in; k++)
                        sum += product_input(x[(size_t)r * L->in + k], all[p]) * W[(size_t)k * L->out + col];
                    want[p][(size_t)r * L->out + col] = (float)sum;
                }
        }
        for (int p = 1; p < 4; p++)
            for (int q = 0; q < p; q++)
                CHECK_MSG(memcmp(want[p], want[q], ny * sizeof(float)), "the probe cannot tell %s from %s",
                          vs_precision_name(all[p]), vs_precision_name(all[q]));
        for (int i = 0; i < 4; i++) {
            CHECK_OK(vs_cuda_backend_dense_product(b[i], l, rows, x, W, y, &err), &err);
            char ran[64] = "none of the four";
            for (int p = 0; p < 4; p++)
                if (!memcmp(y, want[p], ny * sizeof(float))) snprintf(ran, sizeof ran, "%s", vs_precision_name(all[p]));
            printf("%s, layer %d [%d x %d] at %d rows: the product's bits are %s's\n", vs_precision_name(all[i]), l,
                   L->in, L->out, rows, ran);
            CHECK_MSG(!strcmp(ran, vs_precision_name(all[i])), "%s backend, layer %d: the product ran as %s",
                      vs_precision_name(all[i]), l, ran);
        }
        for (int p = 0; p < 4; p++) free(want[p]);
        free(x), free(W), free(y);
    }
    for (int i = 0; i < 4; i++) vs_backend_destroy(b[i]);
}

/* The odd shape: 601 items, 2 hidden layers of odd widths, batch 1111 (with a tail). */
static void check_odd_shape(void) {
    vs_dataset odd = {0};
    vs_synth_opts so;
    vs_error err = {{0}};
    if (vs_synth_preset("small", &so, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    so.users = 3300;
    so.items = 601;
    gpu_test_dataset(&so, &odd);
    printf("odd shape: %lld train users, %lld items\n", (long long)odd.train.rows, (long long)odd.n_items);
    vs_config cfg;
    base_config(&cfg);
    cfg.n_hidden = 2;
    cfg.hidden_dims[0] = 301;
    cfg.hidden_dims[1] = 77;
    cfg.latent_dim = 37;
    cfg.batch_size = 1111;
    cfg.lambda = 0.01;
    static const vs_precision precs[] = {VS_FP32, VS_BF16, VS_FP16};
    CHECK(odd.train.rows > 2 * 1111 && odd.train.rows % 1111 != 0);
    int tail = (int)(odd.train.rows % 1111);
    check_step_gradients(&odd, &cfg, 1111, 2, precs, 3, "odd shape");
    /* the epoch's last, partial batch */
    int32_t *users = malloc(sizeof(int32_t) * (size_t)odd.train.rows);
    vs_epoch_permutation(users, odd.train.rows, cfg.seed, 0);
    vs_backend *cpu = gpu_test_backend("cpu", &cfg, &odd), *gpu = gpu_test_backend("cuda", &cfg, &odd);
    size_t n = cpu->shape.n_params;
    float *gc = malloc(n * sizeof(float)), *gg = malloc(n * sizeof(float));
    vs_step_losses lc, lg;
    const int32_t *last = users + (odd.train.rows - tail);
    CHECK_OK(cpu->ops->loss_and_grad(cpu, last, tail, 5, 0.2, &lc, gc, &err), &err);
    CHECK_OK(gpu->ops->loss_and_grad(gpu, last, tail, 5, 0.2, &lg, gg, &err), &err);
    double worst = compare_tensors(&cpu->shape, gc, gg, "odd tail").max;
    printf("odd shape, tail of %d rows: loss cpu %.8f gpu %.8f\n", tail, lc.loss, lg.loss);
    CHECK_MSG(rel(lg.loss, lc.loss) < 1e-5, "odd tail: loss %.10g vs %.10g", lg.loss, lc.loss);
    CHECK_MSG(worst < 1e-4, "odd tail: gradient differs by %.3e", worst);
    free(gc), free(gg), free(users);
    vs_backend_destroy(cpu);
    vs_backend_destroy(gpu);
    cfg.eval_batch_size = 97;
    cfg.batch_size = 64;
    check_evaluate_chunks(&odd, &cfg, "odd shape");
    vs_dataset_close(&odd);
}

#endif

int main(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
#ifdef VS_HAVE_CUDA
    gpu_test_preset("small", &ds);
    perm = malloc(sizeof(int32_t) * (size_t)ds.train.rows);
    printf("data: %lld train users, %lld items, %lld validation users\n", (long long)ds.train.rows,
           (long long)ds.n_items, (long long)ds.val_in.rows);
    vs_config cfg;
    base_config(&cfg);
    static const vs_precision all[] = {VS_FP32, VS_TF32, VS_BF16, VS_FP16};
    check_step_gradients(&ds, &cfg, 500, 17, all, 4, "lambda 0");
    cfg.lambda = 0.01;
    check_step_gradients(&ds, &cfg, 500, 17, all, 1, "lambda 0.01");
    static const vs_precision fp32[] = {VS_FP32};
    cfg.n_hidden = 0;
    check_step_gradients(&ds, &cfg, 333, 4, fp32, 1, "no hidden layer");
    cfg.n_hidden = 2;
    cfg.hidden_dims[0] = 96;
    cfg.hidden_dims[1] = 48;
    check_step_gradients(&ds, &cfg, 333, 4, fp32, 1, "two hidden layers");
    check_odd_shape();
    check_train_step();
    base_config(&cfg);
    cfg.batch_size = 64;
    cfg.eval_batch_size = 97;
    for (int i = 0; i < 4; i++) {
        cfg.precision = all[i];
        check_evaluate_chunks(&ds, &cfg, "small");
    }
    check_loss_scale_growth();
    check_fp16_forward_overflow();
    check_products_precision();
    check_first_layer_grad();
    free(perm);
    vs_dataset_close(&ds);
    return test_finish();
#endif
}
