/* test_gpu_ml20m (label gpu): the CUDA backend at MovieLens-20M's shape (the `ml20m`
 * synthetic preset: 20,108 items, about 117,000 training users) and NVIDIA's large batch,
 * 24,576 rows: the sizes where 32-bit offsets, grid limits and the 16-bit range would
 * break first.
 *   1. 256 rows against the CPU backend (its fp32): one step's losses and gradient, in
 *      fp32 within 1e-5 (losses) and 1e-4 of each tensor's largest element; in bf16 and
 *      fp16 losses within 2e-2 and the gradient element by element, row by row and
 *      column by column within test_gpu.h's tolerances (bench/precision_emulation.py);
 *   2. 24,576 rows: finite, bf16 and fp16 losses within 1% of the GPU's fp32 and the
 *      gradient within the same tolerances of it; then one train_step each, finite.
 * Skipped (77) without a CUDA build or a GPU; failed then when VS_REQUIRE_GPU=1. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "trainer/train.h"

#ifdef VS_HAVE_CUDA
enum { BATCH = 24576, SMALL = 256 };

/* A reduced precision's gradient against a reference, with test_gpu.h's tolerances. */
static void check_against(const vs_model_shape *s, vs_precision p, const float *ref, const float *g,
                          const char *what) {
    grad_diffs worst = compare_grads(s, ref, g, vs_precision_name(p)), tol = grad_tolerance(p);
    CHECK_MSG(worst.element < tol.element && worst.line < tol.line,
              "%s %s: the gradient differs by %.3e element-wise (tolerance %.3g), %.3e in a row or column (%.3g)",
              vs_precision_name(p), what, worst.element, tol.element, worst.line, tol.line);
}
#endif

int main(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
#ifdef VS_HAVE_CUDA
    vs_dataset ds = {0};
    gpu_test_preset("ml20m", &ds);
    printf("data: %lld train users, %lld items, %lld train interactions\n", (long long)ds.train.rows,
           (long long)ds.n_items, (long long)vs_csr_nnz(&ds.train));
    CHECK(ds.train.rows > BATCH);
    vs_config cfg;
    vs_config_default(&cfg);
    cfg.batch_size = BATCH;
    cfg.total_anneal_steps = 0;
    int32_t *perm = malloc(sizeof(int32_t) * (size_t)ds.train.rows);
    vs_epoch_permutation(perm, ds.train.rows, cfg.seed, 0);
    vs_error err = {{0}};

    /* the CPU's fp32 on SMALL rows (a backend sized for them) */
    vs_config cc = cfg;
    cc.batch_size = cc.eval_batch_size = SMALL;
    vs_backend *cpu = gpu_test_backend("cpu", &cc, &ds);
    size_t n = cpu->shape.n_params;
    float *g_cpu = malloc(n * sizeof(float)), *g_small = malloc(n * sizeof(float));
    float *ref = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    vs_step_losses lc = {0}, l32 = {0};
    CHECK_OK(cpu->ops->loss_and_grad(cpu, perm, SMALL, 0, 0.2, &lc, g_cpu, &err), &err);
    vs_backend_destroy(cpu);
    printf("cpu fp32, %d rows: loss %.8f (neg_ll %.8f, kl %.8f)\n", SMALL, lc.loss, lc.neg_ll, lc.kl);

    static const vs_precision precs[] = {VS_FP32, VS_BF16, VS_FP16};
    for (int i = 0; i < 3; i++) {
        vs_config c = cfg;
        c.precision = precs[i];
        const char *p = vs_precision_name(c.precision);
        vs_backend *b = gpu_test_backend("cuda", &c, &ds);
        CHECK(b->shape.n_params == n);

        /* 1. SMALL rows against the CPU */
        vs_step_losses l;
        CHECK_OK(b->ops->loss_and_grad(b, perm, SMALL, 0, 0.2, &l, g_small, &err), &err);
        printf("%s, %d rows: loss %.8f (cpu %.8f), neg_ll %.8f, kl %.8f\n", p, SMALL, l.loss, lc.loss, l.neg_ll, l.kl);
        CHECK_MSG(all_finite(g_small, n), "%s, %d rows: the gradient is not finite", p, SMALL);
        if (c.precision == VS_FP32) {
            double worst = compare_tensors(&b->shape, g_cpu, g_small, "fp32 vs cpu").max;
            CHECK_MSG(rel(l.loss, lc.loss) < 1e-5 && rel(l.neg_ll, lc.neg_ll) < 1e-5 && rel(l.kl, lc.kl) < 1e-5,
                      "fp32, %d rows: losses %.10g %.10g %.10g, cpu %.10g %.10g %.10g", SMALL, l.loss, l.neg_ll,
                      l.kl, lc.loss, lc.neg_ll, lc.kl);
            CHECK_MSG(worst < 1e-4, "fp32, %d rows: the gradient differs from the CPU's by %.3e of a tensor's largest",
                      SMALL, worst);
        } else {
            CHECK_MSG(rel(l.loss, lc.loss) < 2e-2, "%s, %d rows: loss %.8g vs cpu %.8g", p, SMALL, l.loss, lc.loss);
            check_against(&b->shape, c.precision, g_cpu, g_small, "vs the cpu");
        }

        /* 2. the whole batch */
        CHECK_OK(b->ops->loss_and_grad(b, perm, BATCH, 0, 0.2, &l, i == 0 ? ref : g, &err), &err);
        printf("%s, batch %d: loss %.6f (neg_ll %.6f, kl %.6f)\n", p, BATCH, l.loss, l.neg_ll, l.kl);
        CHECK_MSG(isfinite(l.loss) && isfinite(l.neg_ll) && isfinite(l.kl), "%s: losses not finite", p);
        CHECK_MSG(all_finite(i == 0 ? ref : g, n), "%s: the gradient is not finite", p);
        if (i == 0) {
            l32 = l;
        } else {
            CHECK_MSG(rel(l.loss, l32.loss) < 0.01, "%s loss %.8g vs fp32 %.8g", p, l.loss, l32.loss);
            check_against(&b->shape, c.precision, ref, g, "vs the GPU's fp32 at batch 24576");
        }
        vs_step_losses t;
        CHECK_OK(b->ops->train_step(b, perm + BATCH, BATCH, 1, 0.2, &t, &err), &err);
        printf("%s, train_step 1: loss %.6f\n", p, t.loss);
        CHECK_MSG(isfinite(t.loss), "%s: train_step loss %g", p, t.loss);
        vs_backend_destroy(b);
    }
    free(ref), free(g), free(g_cpu), free(g_small), free(perm);
    vs_dataset_close(&ds);
    return test_finish();
#endif
}
