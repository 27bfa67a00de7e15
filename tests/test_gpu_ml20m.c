/* test_gpu_ml20m (label gpu): the CUDA backend at MovieLens-20M's shape (the `ml20m`
 * synthetic preset: 20,108 items, about 117,000 training users) and NVIDIA's large batch,
 * 24,576 rows: the sizes where 32-bit offsets, grid limits and the 16-bit range would
 * break first. One step's losses and gradient in bf16 and fp16 against fp32's on the
 * same users: finite, losses within 1%, each gradient tensor within 2e-2 in norm; then
 * one train_step each, with a finite loss. Skipped (77) without a CUDA build or a GPU;
 * failed then when VS_REQUIRE_GPU=1. */
#include <stdint.h>

#include "test.h"
#include "test_gpu.h"
#include "trainer/train.h"

int main(void) {
    int missing = test_gpu_missing();
    if (missing) return missing;
#ifdef VS_HAVE_CUDA
    enum { BATCH = 24576 };
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
    static const vs_precision precs[] = {VS_FP32, VS_BF16, VS_FP16};
    float *ref = NULL, *g = NULL;
    vs_step_losses l32 = {0};
    vs_error err = {{0}};
    for (int i = 0; i < 3; i++) {
        vs_config c = cfg;
        c.precision = precs[i];
        const char *p = vs_precision_name(c.precision);
        vs_backend *b = gpu_test_backend("cuda", &c, &ds);
        size_t n = b->shape.n_params;
        if (!ref) ref = malloc(n * sizeof(float)), g = malloc(n * sizeof(float));
        vs_step_losses l;
        CHECK_OK(b->ops->loss_and_grad(b, perm, BATCH, 0, 0.2, &l, i == 0 ? ref : g, &err), &err);
        printf("%s, batch %d: loss %.6f (neg_ll %.6f, kl %.6f)\n", p, BATCH, l.loss, l.neg_ll, l.kl);
        CHECK_MSG(isfinite(l.loss) && isfinite(l.neg_ll) && isfinite(l.kl), "%s: losses not finite", p);
        CHECK_MSG(all_finite(i == 0 ? ref : g, n), "%s: the gradient is not finite", p);
        if (i == 0) {
            l32 = l;
        } else {
            CHECK_MSG(rel(l.loss, l32.loss) < 0.01, "%s loss %.8g vs fp32 %.8g", p, l.loss, l32.loss);
            double worst = compare_tensors(&b->shape, ref, g, p).norm;
            CHECK_MSG(worst < 2e-2, "%s gradient differs from fp32's by %.3e in norm", p, worst);
        }
        vs_step_losses t;
        CHECK_OK(b->ops->train_step(b, perm + BATCH, BATCH, 1, 0.2, &t, &err), &err);
        printf("%s, train_step 1: loss %.6f\n", p, t.loss);
        CHECK_MSG(isfinite(t.loss), "%s: train_step loss %g", p, t.loss);
        vs_backend_destroy(b);
    }
    free(ref), free(g), free(perm);
    vs_dataset_close(&ds);
    return test_finish();
#endif
}
